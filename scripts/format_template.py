"""Format the template's Python files by rendering a variant and formatting the result.

Template sources can't be formatted in place (their names and some contents hold Jinja),
so this renders the project for the given answers, runs ``ruff check --fix`` and
``ruff format`` on it with the generated project's own settings, and copies each fixed
file back to its template source when that source is plain Python. For ``.jinja``
sources it prints the rendered diff to apply by hand.

    python scripts/format_template.py -d modality=image -d framework=pytorch
"""

import argparse
import difflib
import subprocess
import sys
import tempfile
from pathlib import Path

import copier
import jinja2
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = REPO_ROOT / "template"


def answers_of(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def rendered_name(template_path: Path, answers: dict) -> str | None:
    environment = jinja2.Environment()
    parts = []
    for part in template_path.relative_to(TEMPLATE).parts:
        context = {**answers, "_copier_conf": {"answers_file": ".copier-answers.yml"}}
        rendered = environment.from_string(part).render(**context)
        if not rendered:
            return None
        parts.append(rendered.removesuffix(".jinja"))
    return "/".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-d", "--data", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    data = dict(item.split("=", 1) for item in args.data)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        original = Path(tmp) / "original"
        for destination in (project, original):
            copier.run_copy(str(REPO_ROOT), destination, data=data, defaults=True, quiet=True)
        answers = answers_of(project)
        for command in (["check", "--fix", "--no-cache", "."], ["format", "--no-cache", "."]):
            subprocess.run([sys.executable, "-m", "ruff", *command], cwd=project, check=False)
        sources = {}
        for source in TEMPLATE.rglob("*"):
            if source.is_file():
                name = rendered_name(source, answers)
                if name is not None:
                    sources[name] = source
        for rendered in sorted(project.rglob("*.py")):
            relative = rendered.relative_to(project).as_posix()
            source = sources.get(relative)
            if source is None:
                continue
            text = rendered.read_text()
            if source.suffix != ".jinja":
                if source.read_text() != text:
                    source.write_text(text)
                    print(f"formatted {source.relative_to(REPO_ROOT)}")
                continue
            before = (original / relative).read_text()
            if before != text:
                diff = difflib.unified_diff(
                    before.splitlines(), text.splitlines(), f"{relative} (rendered)", "formatted", lineterm=""
                )
                print(f"--- apply by hand to {source.relative_to(REPO_ROOT)}:")
                print("\n".join(diff))


if __name__ == "__main__":
    main()
