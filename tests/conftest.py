"""Shared helpers for mlscaffold's tests."""

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
COPIER_YML = REPO_ROOT / "copier.yml"


def load_copier_config() -> dict:
    return yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))


def run(
    command: Sequence[str | Path], cwd: Path, *, pythonpath: Sequence[Path] = (), timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run a command, prepending ``pythonpath`` entries; never raises on failure."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join([*map(str, pythonpath), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def python(*args: str | Path) -> list[str | Path]:
    return [sys.executable, *args]
