"""``make runs``: the training runs with their status and test metrics (``python -m <package>.core.show_runs``).

``--dir`` prints the folder of ``paths.run`` instead (the latest run, or ``paths.run=<name>``):
``make docker-build`` copies that run's model into the image. Overrides are those of
configs/runs.yaml (``paths.artifacts_dir=...``, ``paths.run=...``).
"""

import json
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from .config import CONFIG_DIR
from .errors import ProjectError
from .run_lookup import latest_run, register_run_dir_resolver
from .runs import Run, list_runs


def run_metrics(paths: DictConfig, run: Run) -> str:
    """The test metrics a run recorded, read from ``paths.metrics`` with that run's folder."""
    copy = paths.copy()
    copy.run_dir = str(run.path)
    metrics_file = Path(str(copy.metrics))
    if not metrics_file.is_file():
        return ""
    try:
        values = json.loads(metrics_file.read_text(encoding="utf-8")).get("metrics", {})
    except (OSError, ValueError, AttributeError):
        return f"(unreadable {metrics_file.name})"
    return " ".join(f"{key}={value:.4f}" for key, value in values.items() if isinstance(value, float))


def print_runs(paths: DictConfig) -> None:
    """List the runs, marking the one the release path uses by default (``*``)."""
    runs_dir = Path(str(paths.runs_dir))
    runs = list_runs(runs_dir)
    if not runs:
        print(f"no training run under {runs_dir} yet: run `make train`.")
        return
    latest = latest_run(runs_dir).name if any(run.complete for run in runs) else None
    print(f"  {'run':<36} {'status':<9} {'finished (UTC)':<20} test metrics")
    for run in runs:
        marker = "*" if run.name == latest else " "
        finished = str(run.record.get("finished") or "-")[:19]
        status = str(run.record.get("status", "?"))
        print(f"{marker} {run.name:<36} {status:<9} {finished:<20} {run_metrics(paths, run)}")
    print("\n* the run the release stages use by default (latest); pick another with RUN=<name>.")


# configs/paths/ find the run this stage works on through ${run_dir:...}.
register_run_dir_resolver()


def main(argv: list[str]) -> None:
    """``python -m <package>.core.show_runs [--dir] [overrides...]``."""
    overrides = [argument for argument in argv if argument != "--dir"]
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR), job_name="runs"):
            paths = compose("runs", overrides=overrides).paths
        if "--dir" in argv:
            print(Path(str(paths.run_dir)).as_posix())
        else:
            print_runs(paths)
    except ProjectError as error:
        raise SystemExit(f"error: {error}") from None


if __name__ == "__main__":
    main(sys.argv[1:])
