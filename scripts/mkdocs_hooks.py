"""MkDocs hook: links from ``docs/`` to repository files outside it, checked and made absolute.

``docs/architecture.md`` links to the code it describes (``../copier.yml``,
``../src/mlscaffold/cli.py``) so that it reads well on GitHub. MkDocs only knows the files
under ``docs/`` and would report every such link as missing; this hook resolves each one
against the repository instead: an existing file or folder becomes a link to it in the
repository (``repo_url``), a missing one is a warning, which ``mkdocs build --strict``
turns into a failure. Links inside ``docs/`` are left to MkDocs' own validation.
"""

import re
from pathlib import Path
from typing import Any

from mkdocs.plugins import get_plugin_logger

log = get_plugin_logger(__name__)

# [text](target) and [text](target#anchor), outside code: targets without a scheme.
LINK = re.compile(r"\]\((?P<target>[^)\s#]+)(?P<anchor>#[^)\s]*)?\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
BRANCH = "main"
# This file's repository and its docs/ folder: links resolve as they do on GitHub, from the
# page's place in docs/, wherever the build reads the pages from (a test builds a copy).
REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = REPO_ROOT / "docs"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    page_dir = (DOCS / page.file.src_path).parent
    repo_url = str(config.get("repo_url") or "").rstrip("/")

    def rewrite(match: re.Match[str]) -> str:
        target = match.group("target")
        if "://" in target or target.startswith(("mailto:", "/")):
            return match.group(0)
        resolved = (page_dir / target).resolve()
        if resolved.is_relative_to(DOCS):
            return match.group(0)  # MkDocs validates links between its own pages
        if not resolved.is_relative_to(REPO_ROOT) or not resolved.exists():
            log.warning(f"{page.file.src_path}: link to '{target}', which is not a file of the repository")
            return match.group(0)
        kind = "tree" if resolved.is_dir() else "blob"
        relative = resolved.relative_to(REPO_ROOT).as_posix()
        return f"]({repo_url}/{kind}/{BRANCH}/{relative}{match.group('anchor') or ''})"

    # Leave fenced code alone: only prose carries links.
    pieces, last = [], 0
    for fence in FENCE.finditer(markdown):
        pieces.append(LINK.sub(rewrite, markdown[last : fence.start()]))
        pieces.append(fence.group(0))
        last = fence.end()
    pieces.append(LINK.sub(rewrite, markdown[last:]))
    return "".join(pieces)
