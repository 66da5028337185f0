"""The search: a resumable Optuna study whose trials are training runs of their own.

Each trial samples ``tune.search_space`` and trains as ``python -m <package>.training`` with
those values as overrides (plus the overrides ``make tune`` was given), in the run folder
``runs/tune-<study>/<trial number>``, so a trial is a run like any other: ``make evaluate
RUN=tune-<study>/<n>`` releases it. The trial's validation metric (``trainer.monitor``) is
reported to Optuna every epoch through training's ``trial_report`` callback, and Optuna's
median pruner stops trials that fall behind the others. The study lives in a SQLite file
(``tune.storage``): running ``make tune`` again adds ``tune.trials`` trials to the same study.
"""

import json
import logging
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from ..core.config import PROJECT_ROOT, settings_from_mapping
from ..core.errors import ProjectError
from ..core.history import best_validation, read_history
from ..core.metrics import metric_direction
from ..core.runs import read_record, write_record

log = logging.getLogger(__name__)

CONTINUE, PRUNE = b"c", b"p"  # the verdicts training/trial_report.py reads
PACKAGE = __package__.split(".")[0]


@dataclass(frozen=True)
class TuneSettings:
    """The ``tune:`` settings of configs/tune.yaml (no defaults here: the YAML holds them)."""

    study: str
    trials: int
    storage: str
    sampler_seed: int
    startup_trials: int
    warmup_epochs: int
    search_space: Mapping[str, Mapping[str, Any]]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "TuneSettings":
        settings: TuneSettings = settings_from_mapping(cls, values, group="tune", error=ProjectError)
        if settings.trials < 1:
            raise ProjectError(f"tune.trials must be at least 1, got {settings.trials}.")
        if not settings.study or "/" in settings.study:
            raise ProjectError(f"tune.study must be a name without '/', got {settings.study!r}.")
        if not settings.search_space:
            raise ProjectError("tune.search_space is empty: name at least one setting to search.")
        for key, space in settings.search_space.items():
            check_space(key, space)
        return settings


def check_space(key: str, space: Mapping[str, Any]) -> None:
    """A search-space entry is ``{choices: [...]}`` or ``{low, high[, log, step]}`` (int when both bounds are)."""
    if "choices" in space:
        if not isinstance(space["choices"], Sequence) or not space["choices"]:
            raise ProjectError(f"tune.search_space.{key}.choices must be a non-empty list.")
        return
    low, high = space.get("low"), space.get("high")
    if not isinstance(low, (int, float)) or not isinstance(high, (int, float)) or not low < high:
        raise ProjectError(
            f"tune.search_space.{key} needs numbers low < high (or a list of choices), got {dict(space)}."
        )
    if space.get("log") and low <= 0:
        raise ProjectError(f"tune.search_space.{key}: a log scale needs low > 0, got {low}.")


def suggest(trial: optuna.Trial, space: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """One value per setting of the search space, sampled by the study's sampler."""
    values: dict[str, Any] = {}
    for key, entry in space.items():
        if "choices" in entry:
            values[key] = trial.suggest_categorical(key, list(entry["choices"]))
        elif isinstance(entry["low"], int) and isinstance(entry["high"], int):
            values[key] = trial.suggest_int(
                key, entry["low"], entry["high"], log=bool(entry.get("log")), step=entry.get("step", 1)
            )
        else:
            step = entry.get("step")
            values[key] = trial.suggest_float(
                key, float(entry["low"]), float(entry["high"]), log=bool(entry.get("log")), step=step
            )
    return values


def as_overrides(values: Mapping[str, Any]) -> list[str]:
    """Hydra overrides that set each value (strings quoted, so any character reaches the config)."""
    return [f"{key}={quoted(value) if isinstance(value, str) else value}" for key, value in values.items()]


def quoted(text: str) -> str:
    """``text`` as a single-quoted Hydra override value."""
    return "'" + text.replace("'", "\\'") + "'"


def open_study(settings: TuneSettings, monitor: str) -> optuna.Study:
    """The study, created on the first run and loaded (to continue) on the next ones."""
    study = optuna.create_study(
        study_name=settings.study,
        storage=settings.storage,
        direction="minimize" if metric_direction(monitor) == "min" else "maximize",
        sampler=optuna.samplers.TPESampler(seed=settings.sampler_seed),
        pruner=optuna.pruners.MedianPruner(
            n_startup_trials=settings.startup_trials, n_warmup_steps=settings.warmup_epochs
        ),
        load_if_exists=True,
    )
    for stale in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        # A tuner stopped mid-trial (Ctrl-C, a crash) left it running; it never ends on its own.
        study.tell(stale.number, state=optuna.trial.TrialState.FAIL)
        log.warning(
            "trial %d of study %s was left running by a stopped search: marked failed",
            stale.number,
            settings.study,
        )
    return study


def run_trial(
    trial: optuna.Trial, run_dir: Path, overrides: Sequence[str], monitor: str, history_name: str
) -> float | None:
    """Train one trial in its own process; its best validation value, or ``None`` once pruned."""
    if run_dir.exists():
        raise ProjectError(
            f"{run_dir} exists, but trial {trial.number} of this study is new: the study was deleted "
            "while its runs were kept. Choose another tune.study or move that folder away."
        )
    report_read, report_write = os.pipe()
    verdict_read, verdict_write = os.pipe()
    command = [
        sys.executable,
        "-m",
        f"{PACKAGE}.training",
        *overrides,
        f"paths.run_dir={quoted(str(run_dir))}",
        f"+callbacks.trial_report._target_={PACKAGE}.training.trial_report.TrialReport",
        f"+callbacks.trial_report.monitor={monitor}",
        f"+callbacks.trial_report.report_fd={report_write}",
        f"+callbacks.trial_report.verdict_fd={verdict_read}",
    ]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, pass_fds=(report_write, verdict_read))
    os.close(report_write)
    os.close(verdict_read)
    pruned_at = relay_reports(trial, report_read, verdict_write)
    if process.wait() != 0:
        raise ProjectError(
            f"trial {trial.number} failed (exit status {process.returncode}); see its log above."
        )
    if pruned_at is not None:
        mark_pruned(run_dir, pruned_at)
        return None
    value = best_validation(read_history(run_dir / history_name), monitor)
    if value is None:
        raise ProjectError(
            f"trial {trial.number} has no finite validation {monitor} in {run_dir / history_name}."
        )
    return value


def mark_pruned(run_dir: Path, epochs: int) -> None:
    """Record in ``run.json`` that the trial was pruned: its run keeps its files and shows in
    ``make runs``, but it is not complete, so it never becomes the ``latest`` run released by default."""
    record = read_record(run_dir)
    record.update(status="pruned", pruned_after_epochs=epochs)
    write_record(run_dir, record)


def relay_reports(trial: optuna.Trial, report_read: int, verdict_write: int) -> int | None:
    """Pass each epoch's value from training to Optuna and Optuna's verdict back, until training
    ends; the epoch after which the trial was pruned, or ``None``."""
    pruned_at: int | None = None
    with open(report_read, encoding="utf-8") as reports, open(verdict_write, "wb", buffering=0) as verdicts:
        for line in reports:
            report = json.loads(line)
            if pruned_at is None and report["value"] is not None:
                trial.report(float(report["value"]), step=int(report["step"]))
                pruned_at = int(report["step"]) if trial.should_prune() else None
            try:
                verdicts.write(CONTINUE if pruned_at is None else PRUNE)
            except BrokenPipeError:  # training ended (or died) between its report and the answer
                break
    return pruned_at


def study_summary(study: optuna.Study, runs_dir: Path, run_prefix: str) -> dict[str, Any]:
    """Every trial of the study (state, parameters, value, run) and the best one."""
    trials = [
        {
            "trial": trial.number,
            "state": trial.state.name.lower(),
            "params": trial.params,
            "value": trial.value,
            "run": f"{run_prefix}/{trial.number}",
            "epochs_reported": len(trial.intermediate_values),
        }
        for trial in study.get_trials(deepcopy=False)
    ]
    completed = [trial for trial in trials if trial["state"] == "complete"]
    best = study.best_trial.number if completed else None
    return {
        "study": study.study_name,
        "direction": study.direction.name.lower(),
        "best_trial": best,
        "best_run": f"{run_prefix}/{best}" if best is not None else None,
        "best_params": study.best_trial.params if completed else None,
        "best_value": study.best_value if completed else None,
        "runs_dir": str(runs_dir),
        "trials": trials,
    }
