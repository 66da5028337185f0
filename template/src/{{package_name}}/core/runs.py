"""Training runs: one folder per run, with a record of what it is.

Each training run (and each job of a ``-m`` sweep) writes into its own folder under
``paths.runs_dir``, so experiments never overwrite each other. A run's name is its folder
relative to ``runs_dir`` (``2026-12-03_13-10-00``, ``...-debug``, ``...-sweep/1``); its
``run.json`` (status ``running`` or ``complete``, UTC start and finish times, the overrides)
marks the folder as a run. Training finds its folder through the ``${training_run_dir:...}``
resolver (configs/train.yaml); run_lookup.py finds the run the release stages work on.
"""

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import InterpolationResolutionError

from .atomic import write_text_atomically
from .errors import ProjectError

# The file that makes a folder a run (the runs mechanism's own marker, not an artifact).
RUN_FILE = "run.json"
LATEST = "latest"
# Folder names of new runs: sortable, and readable in `make runs`.
TIMESTAMP = "%Y-%m-%d_%H-%M-%S"


class RunError(ProjectError, InterpolationResolutionError):
    """No run to work on, or no run of the given name.

    Also an OmegaConf interpolation error, so that OmegaConf passes it on unchanged from the
    resolvers (it wraps any other exception into one that names only its type) and
    the stages report it like every other user error: one line, exit status 1.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        # OmegaConf re-creates the error with the config key appended; the key is no help to a user.
        self.message = message.split("\n    full_key:")[0]

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Run:
    """One run folder and its record."""

    name: str
    path: Path
    record: dict[str, Any]

    @property
    def complete(self) -> bool:
        return self.record.get("status") == "complete"


def read_record(folder: Path) -> dict[str, Any]:
    """The run's record; an unreadable one (a crash while writing it) reads as a started run."""
    try:
        record = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"status": "running"}
    return record if isinstance(record, dict) else {"status": "running"}


def list_runs(runs_dir: Path) -> list[Run]:
    """Every run under ``runs_dir`` (sweep jobs included), oldest first by name."""
    if not runs_dir.is_dir():
        return []
    runs = [
        Run(record.parent.relative_to(runs_dir).as_posix(), record.parent, read_record(record.parent))
        for record in runs_dir.rglob(RUN_FILE)
    ]
    return sorted(runs, key=lambda run: run.name)


def no_run_error(runs_dir: Path) -> RunError:
    return RunError(f"no training run under {runs_dir}: run `make train` first.")


def named_run(runs_dir: Path, name: str) -> Run:
    """The run called ``name`` (its folder relative to ``runs_dir``)."""
    folder = runs_dir / name
    if not (folder / RUN_FILE).is_file():
        runs = list_runs(runs_dir)
        if not runs:
            raise RunError(f"unknown run {name!r}: {no_run_error(runs_dir)}")
        raise RunError(
            f"unknown run {name!r} under {runs_dir}; the runs are: {', '.join(run.name for run in runs)} "
            "(`make runs` lists them with their status)."
        )
    return Run(name, folder, read_record(folder))


def new_run_dir(runs_dir: Path, name: str | None) -> Path:
    """A folder name for a new run that no run has yet: the time, then ``-<name>`` if given."""
    stem = datetime.now().strftime(TIMESTAMP) + (f"-{name}" if name else "")
    folder, count = runs_dir / stem, 1
    while folder.exists():  # two runs started within one second
        count += 1
        folder = runs_dir / f"{stem}-{count}"
    return folder


def hydra_output_dir() -> str | None:
    """The folder Hydra opened for this job (a run or a sweep job), once it has opened one."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    runtime = HydraConfig.get().runtime
    if OmegaConf.is_missing(runtime, "output_dir") or not runtime.output_dir:
        return None
    return str(runtime.output_dir)


def training_run_dir_resolver(runs_dir: str, run: str, resume: Any, name: Any, logs_dir: str) -> str:
    """``${training_run_dir:...}``: the folder a training run writes to.

    Under ``python -m <package>.training`` that is the folder Hydra opened: this resolver
    also names it (``hydra.run.dir``), and a sweep job's is ``hydra.sweep.dir/<job number>``.
    A new run gets a new folder; ``trainer.resume=true`` continues ``paths.run`` in its own
    folder (:func:`run_to_resume`); torchrun's ranks other than 0 log under ``logs_dir``.
    Called outside Hydra (tests composing the config), it picks the same folder itself.
    """
    opened = hydra_output_dir()
    if opened is not None:
        return opened
    if (rank := int(os.environ.get("RANK", "0"))) > 0:
        return str(new_run_dir(Path(logs_dir), f"train-rank{rank}"))
    if is_resume(resume):
        try:
            return str(run_to_resume(Path(runs_dir), str(run)).path)
        except RunError:
            # Hydra resolves this before the stage can report errors in one line: the stage
            # finds no run to resume again (check_resumable) and says so.
            pass
    return str(new_run_dir(Path(runs_dir), None if name in (None, "", "None", "null") else str(name)))


def run_to_resume(runs_dir: Path, run: str) -> Run:
    """The run ``run`` names; ``latest`` is the run started last, finished or not (a run is
    resumed because it was interrupted)."""
    if run != LATEST:
        return named_run(runs_dir, run)
    runs = list_runs(runs_dir)
    if not runs:
        raise no_run_error(runs_dir)
    return max(runs, key=lambda run: (str(run.record.get("started", "")), run.name))


def check_resumable(run_dir: Path, runs_dir: Path, run: str) -> None:
    """A resume needs a run to continue: raise the error that names the runs if there is none."""
    if not (run_dir / RUN_FILE).is_file():
        run_to_resume(runs_dir, run)  # raises: no run yet, or no run of that name
        raise RunError(
            f"{run_dir} is not a training run (it has no {RUN_FILE}); choose one with paths.run=<name>."
        )


def register_training_resolver() -> None:
    """Register ``${training_run_dir:...}`` once; cached per config, so that every path of one
    training names the same new folder."""
    if not OmegaConf.has_resolver("training_run_dir"):
        OmegaConf.register_new_resolver("training_run_dir", training_run_dir_resolver, use_cache=True)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def is_resume(resume: Any) -> bool:
    """``trainer.resume`` asks to continue a run (true/last), not to start one (false, or a path)."""
    return resume is True or str(resume).lower() in ("true", "last")


def command_line_overrides() -> list[str]:
    """The overrides this job was started with (none when called outside Hydra)."""
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def start_run(paths: dict[str, Any], *, resumed: bool) -> None:
    """Write ``run.json`` as a started run (kept as it was, plus the resume time, on a resume)."""
    folder = Path(paths["run_dir"])
    if resumed:
        check_resumable(folder, Path(paths["runs_dir"]), str(paths["run"]))
    record = read_record(folder) if resumed and (folder / RUN_FILE).is_file() else {}
    if record:
        record["resumed"] = [*record.get("resumed", []), utc_now()]
    else:
        record = {"started": utc_now(), "overrides": command_line_overrides()}
    record.update(status="running", finished=None)
    write_record(folder, record)


def finish_run(folder: Path) -> None:
    """Mark the run complete: from now on it can be the ``latest`` run."""
    record = read_record(folder)
    record.update(status="complete", finished=utc_now())
    write_record(folder, record)


def write_record(folder: Path, record: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomically(folder / RUN_FILE, json.dumps(record, indent=2) + "\n")
