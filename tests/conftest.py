"""Shared helpers for mlscaffold's tests."""

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
import yaml

from mlscaffold.answers import read_answers_file
from mlscaffold.presets import preset_path

REPO_ROOT = Path(__file__).resolve().parents[1]
COPIER_YML = REPO_ROOT / "copier.yml"


def load_copier_config() -> dict:
    return yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))


def preset_answers(name: str) -> dict:
    """The answers of a shipped preset (``presets/<name>.yml``), as ``mlscaffold new --preset`` reads them.

    The slow variant fixtures render from these, so each preset's project runs its full test
    tier (a superset of its fast tier) where that variant ran anyway, at no extra render.
    """
    return read_answers_file(preset_path(name))


def run(
    command: Sequence[str | Path],
    cwd: Path,
    *,
    pythonpath: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = 900,
) -> subprocess.CompletedProcess[str]:
    """Run a command, prepending ``pythonpath`` entries and adding ``env``; never raises on failure."""
    env = {**os.environ, **(env or {})}
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join([*map(str, pythonpath), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def python(*args: str | Path) -> list[str | Path]:
    return [sys.executable, *args]


def latest_run(project: Path) -> Path:
    """The folder of a generated project's latest complete training run, as its release stages pick it.

    Each training run writes to ``artifacts/runs/<name>/`` with a ``run.json``; the latest is
    the complete one that finished last (the project's ``core/runs.py``).
    """
    runs_dir = project / "artifacts" / "runs"
    complete = [
        (json.loads(record.read_text())["finished"], record.parent)
        for record in runs_dir.rglob("run.json")
        if json.loads(record.read_text()).get("status") == "complete"
    ]
    assert complete, f"no complete training run under {runs_dir}"
    return max(complete)[1]


def check(result: subprocess.CompletedProcess[str], what: str) -> None:
    """Assert a command succeeded, showing the end of its output when it did not."""
    assert result.returncode == 0, f"{what} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"


@pytest.fixture(autouse=True)
def isolated_user_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep mlscaffold's template store, Copier's clone cache and git identity inside the test's temp folder.

    Copier (9.19+) keeps one mirror per template URL in a shared cache; every test's store
    answers the same URL (``PUBLIC_SOURCE``) with its own commits, so tests running at once
    would update one mirror together ("cannot lock ref").
    """
    data_dir = tmp_path_factory.mktemp("mlscaffold-data")
    monkeypatch.setenv("MLSCAFFOLD_DATA_DIR", str(data_dir))
    monkeypatch.setenv("COPIER_CACHE_DIR", str(data_dir / "copier-cache"))
    for variable, value in {
        "GIT_AUTHOR_NAME": "Test Owner",
        "GIT_AUTHOR_EMAIL": "owner@example.com",
        "GIT_COMMITTER_NAME": "Test Owner",
        "GIT_COMMITTER_EMAIL": "owner@example.com",
    }.items():
        monkeypatch.setenv(variable, value)
    return data_dir


def assert_integrated_gradients_add_up(
    explained: dict, *, min_share_within: float = 0.75, tolerance: float = 0.01, max_steps: int = 1024
) -> None:
    """The explain stage's contract for integrated gradients (configs/explain.yaml defaults).

    Every example adds up to its logit difference within ``tolerance``, or was integrated with
    ``max_steps`` and reports what is left; at least ``min_share_within`` of them add up.
    """
    assert explained["method"] == "integrated_gradients"
    key = "convergence_delta" if explained["modality"] == "image" else "completeness_error"
    errors = [abs(example[key]) for example in explained["examples"]]
    steps = [example["n_steps"] for example in explained["examples"]]
    assert all(error <= tolerance or step == max_steps for error, step in zip(errors, steps, strict=True))
    assert sum(error <= tolerance for error in errors) >= min_share_within * len(errors), (errors, steps)
