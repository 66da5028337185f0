"""Rewrite the README's options reference from ``copier.yml`` (``make readme-options``).

The block between ``<!-- options-reference:start -->`` and ``<!-- options-reference:end -->``
is exactly what ``mlscaffold options --markdown`` prints; ``tests/test_options.py`` fails
when the two differ, so edit ``copier.yml`` (help, ``#:`` lines, headings) and rerun this.
"""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "bench"))  # readme_block: the one README block writer

from readme_block import README, replace_block  # noqa: E402

from mlscaffold.options import REFERENCE_END, REFERENCE_START, read_questions, reference_markdown  # noqa: E402


def main() -> None:
    replace_block(README, REFERENCE_START, REFERENCE_END, reference_markdown(read_questions(REPO_ROOT)))
    print(f"rendered the options reference in {README.name} from copier.yml")


if __name__ == "__main__":
    main()
