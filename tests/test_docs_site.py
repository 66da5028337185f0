"""mlscaffold's documentation site: ``mkdocs build --strict`` passes, and fails when it should.

CI runs the README's test command (``pytest``), so the strict build runs here. The failure
cases build a copy of the site with one broken page, so the strict build is known to catch a
dead link between pages, a link to a repository file that does not exist and a README section
that a page includes but the README lost. The remaining tests hold the pages to the code:
every interview question under its section, every ``make`` target and stage module they name.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlscaffold.template import answerable_questions

from .conftest import REPO_ROOT, load_copier_config, run

DOCS = REPO_ROOT / "docs"
QUIET = {"NO_MKDOCS_2_WARNING": "1"}  # Material's notice about its successor, not a build warning


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """``mkdocs build --strict`` from the repository root (where the snippets' paths start)."""
    return run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", config, "-d", site], REPO_ROOT, env=QUIET)


def test_the_site_builds_strictly_with_the_readme_sections_included(tmp_path: Path) -> None:
    result = build(REPO_ROOT / "mkdocs.yml", tmp_path / "site")
    assert result.returncode == 0, result.stdout + result.stderr
    site = tmp_path / "site"
    nav = yaml.safe_load((REPO_ROOT / "mkdocs.yml").read_text())["nav"]
    for page in (next(iter(entry.values())) for entry in nav):
        built = site / ("index.html" if page == "index.md" else f"{page.removesuffix('.md')}/index.html")
        assert built.is_file(), page
    started = re.sub(r"<[^>]+>", "", (site / "getting-started/index.html").read_text())  # code is in spans
    assert 'torchvision==0.29.1 -e ".[test]" &amp;&amp; pytest' in started  # the README's Quickstart
    assert "--8&lt;--" not in started and "--8<--" not in started  # every include resolved
    architecture = (site / "architecture/index.html").read_text()
    assert 'href="https://github.com/mlscaffold/mlscaffold/blob/main/copier.yml"' in architecture
    presets = re.sub(r"<[^>]+>", "", (site / "presets/index.html").read_text())  # code is highlighted in spans
    assert "deployment_target: edge" in presets and "framework: huggingface" in presets  # the preset files


@pytest.mark.parametrize(
    ("page", "named"),
    [
        ("[gone](no-such-page.md)\n", "no-such-page.md"),
        ("[gone](../src/mlscaffold/no_such_module.py)\n", "no_such_module.py"),
        ('--8<-- "README.md:no-such-section"\n', "no-such-section"),
    ],
    ids=["page", "repository-file", "readme-section"],
)
def test_a_broken_page_fails_the_strict_build(tmp_path: Path, page: str, named: str) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    (docs / "broken.md").write_text(f"# Broken\n\n{page}")
    config = yaml.safe_load((REPO_ROOT / "mkdocs.yml").read_text())
    config["docs_dir"] = str(docs)
    config["hooks"] = [str(REPO_ROOT / hook) for hook in config["hooks"]]
    config["nav"].append({"Broken": "broken.md"})
    copy = tmp_path / "mkdocs.yml"
    copy.write_text(yaml.safe_dump(config))
    result = build(copy, tmp_path / "site")
    assert result.returncode != 0, "a broken page passed the strict build"
    assert named in result.stdout + result.stderr


def copier_sections() -> dict[str, list[str]]:
    """copier.yml's answerable questions under its ``# ---- section`` comments."""
    answerable = answerable_questions({k: v for k, v in load_copier_config().items() if not k.startswith("_")})
    sections: dict[str, list[str]] = {}
    current = ""
    for line in (REPO_ROOT / "copier.yml").read_text().splitlines():
        if heading := re.match(r"# -{8,} (\w[\w ]*)$", line):
            current = heading.group(1).strip()
        elif (key := re.match(r"([a-z_]+):", line)) and key.group(1) in answerable:
            sections.setdefault(current, []).append(key.group(1))
    return sections


def test_the_interview_page_names_every_question_under_its_section() -> None:
    sections = copier_sections()
    assert sum(map(len, sections.values())) == len(
        answerable_questions({k: v for k, v in load_copier_config().items() if not k.startswith("_")})
    )
    page = (DOCS / "interview.md").read_text()
    headings = re.split(r"^## ", page, flags=re.MULTILINE)[1:]
    documented = {  # the definition terms (lines that start with a question in backticks) of each section
        block.splitlines()[0].strip().lower(): {
            name for line in block.splitlines() if line.startswith("`") for name in re.findall(r"`(\w+)`", line)
        }
        for block in headings
    }
    assert list(documented) == list(sections)  # the requirements workflow's order
    for section, questions in sections.items():
        assert set(questions) == documented[section], section


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (REPO_ROOT / "template/Makefile.jinja").read_text(), re.MULTILINE))


def stage_packages() -> set[str]:
    """The generated package's subpackages, with their Copier conditions stripped from the names."""
    package = REPO_ROOT / "template/src/{{package_name}}"
    return {re.sub(r"\{%.*?%\}", "", child.name) for child in package.iterdir() if child.is_dir()}


# The pages about generated projects as they are now (releases.md names modules that moved;
# architecture.md also names mlscaffold's own Makefile targets).
PROJECT_PAGES = ["getting-started.md", "index.md", "interview.md", "presets.md", "stages.md", "updating.md"]


def test_the_project_pages_are_every_page_but_architecture_and_releases() -> None:
    assert sorted(path.name for path in DOCS.glob("*.md")) == sorted([*PROJECT_PAGES, "architecture.md", "releases.md"])


@pytest.mark.parametrize("page", PROJECT_PAGES)
def test_every_make_target_and_stage_module_a_page_names_exists(page: str) -> None:
    text = (DOCS / page).read_text()
    targets, packages = makefile_targets(), stage_packages()
    assert {"train", "evaluate", "readiness"} <= targets and {"training", "monitoring"} <= packages
    named_targets = set(re.findall(r"`make ([a-z][a-z-]*)", text))
    assert named_targets - targets == set(), page
    modules = set(re.findall(r"python -m <package>\.(\w+)", text))
    assert modules - packages == set(), page
