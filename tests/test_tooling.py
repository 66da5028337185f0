"""The generated project's own tooling: pre-commit hooks and CI definitions."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .test_render import render_ok


def pre_commit(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The hooks call `ruff` and `python` from PATH, as in an activated project venv.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": path},
    )


@pytest.fixture
def committed_project(copie) -> Path:
    project = render_ok(copie, {})
    subprocess.run(["git", "init", "--quiet"], cwd=project, check=True)
    subprocess.run(["git", "add", "--all"], cwd=project, check=True)
    return project


def test_fresh_project_passes_its_pre_commit_hooks_unchanged(committed_project: Path) -> None:
    result = pre_commit(committed_project, "--all-files")
    assert result.returncode == 0, result.stdout + result.stderr
    changed = subprocess.run(["git", "status", "--porcelain"], cwd=committed_project, capture_output=True, text=True)
    assert all(line.startswith("A ") for line in changed.stdout.splitlines())  # staged, never modified


def test_hooks_reject_conflict_markers_and_rej_files(committed_project: Path) -> None:
    makefile = committed_project / "Makefile"
    makefile.write_text(makefile.read_text() + "<<<<<<< before updating\nold\n=======\nnew\n>>>>>>> after updating\n")
    (committed_project / "Makefile.rej").write_text("@@ -1 +1 @@\n")
    subprocess.run(["git", "add", "--all"], cwd=committed_project, check=True)
    markers = pre_commit(committed_project, "no-merge-conflict-markers", "--all-files")
    assert markers.returncode == 1 and "Makefile" in markers.stdout
    rej = pre_commit(committed_project, "no-rej-files", "--all-files")
    assert rej.returncode == 1 and "Makefile.rej" in rej.stdout


def workflow_commands(project: Path) -> list[str]:
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    return [step["run"] for step in workflow["jobs"]["test"]["steps"] if "run" in step]


def test_github_workflow_installs_cpu_torch_lints_and_runs_the_project_tests(copie) -> None:
    project = render_ok(copie, {"ci": "github", "python_version": "3.12"})
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    assert workflow["jobs"]["test"]["steps"][1]["with"]["python-version"] == "3.12"
    commands = "\n".join(workflow_commands(project))
    assert "download.pytorch.org/whl/cpu" in commands and 'pip install -e ".[dev]"' in commands
    assert "make lint" in commands and "make test-all" in commands
    steps = workflow["jobs"]["test"]["steps"]
    gate = next(step for step in steps if step.get("run") == "make readiness")
    assert "artifacts/runs/**/metrics.json" in gate["if"]  # runs where training runs exist
    fairness = next(step for step in steps if step.get("run") == "make fairness")
    assert "best.pt" in fairness["if"] and steps.index(fairness) < steps.index(gate)  # read by the gate
    makefile = (project / "Makefile").read_text()
    assert "test:" in makefile and "-m pytest" in makefile  # `make test` is the project's test command
    # Two tiers: `make test` leaves the end-to-end tests out; `make test-all` (CI) writes the gate's file.
    assert '\t$(PYTHON) -m pytest -m "not e2e" -n $(TEST_WORKERS)\n' in makefile and "TEST_WORKERS ?= auto" in makefile
    assert "\t$(PYTHON) -m pytest --junitxml=$(ARTIFACTS_DIR)/test-results.xml\n" in makefile
    pyproject = (project / "pyproject.toml").read_text()  # an unregistered marker is an error, not a no-op
    assert 'addopts = "-ra --strict-markers"' in pyproject and 'markers = ["e2e: end-to-end runs' in pyproject
    assert not (project / ".gitlab-ci.yml").exists()


def test_gitlab_pipeline(copie) -> None:
    project = render_ok(copie, {"ci": "gitlab"})
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    script = "\n".join(pipeline["test"]["script"])
    assert "download.pytorch.org/whl/cpu" in script and "make test-all" in script and "make lint" in script
    assert """if [ -n "$(find artifacts/runs -name metrics.json 2>/dev/null)" ]; then make readiness; fi""" in script
    found = """[ -n "$(find artifacts/runs -path '*/checkpoints/best.pt' 2>/dev/null)" ]"""
    fairness = f"if {found}; then make fairness; fi"
    assert fairness in script and script.index(fairness) < script.index("make readiness")
    assert not (project / ".github").exists()


def test_ci_runs_no_fairness_stage_without_fairness_checks(copie) -> None:
    project = render_ok(copie, {"ci": "github", "fairness_checks": False})
    assert "make fairness" not in "\n".join(workflow_commands(project))
    assert "fairness" not in (project / "Makefile").read_text()


def test_no_ci(copie) -> None:
    project = render_ok(copie, {"ci": "none"})
    assert not (project / ".github").exists() and not (project / ".gitlab-ci.yml").exists()
