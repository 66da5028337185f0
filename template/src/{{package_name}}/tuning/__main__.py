"""Tuning stage: search hyper-parameters with Optuna (``python -m <package>.tuning``, ``make tune``).

Runs ``tune.trials`` trials of the study ``tune.study`` (configs/tune.yaml: the search space,
the pruner, the storage), each a training run of its own under ``runs/tune-<study>/``; see
search.py. Overrides other than ``tune.*`` reach every trial's training (``make tune
ARGS="debug=fast tune.trials=3"``). At the end it writes the study's summary,
``paths.tuning_dir/<study>.json``: every trial's state, parameters and validation value, and
the best run, to evaluate and release like any run (``make evaluate RUN=tune-<study>/<n>``).
Trials are ranked on the validation split, never on test.
"""

import logging
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from ..core.config import CONFIG_DIR, to_plain
from ..core.errors import ProjectError, exit_on_user_error
from ..core.runs import command_line_overrides, register_training_resolver

log = logging.getLogger(__name__)


def trial_overrides(overrides: list[str]) -> list[str]:
    """The command line's overrides that every trial's training takes (not the tuner's own)."""
    return [item for item in overrides if not item.lstrip("+~").startswith(("tune.", "hydra."))]


def run_tuning(cfg: DictConfig, overrides: list[str] | None = None) -> dict[str, Any]:
    """The tuning stage as a function of its config; writes and returns the study's summary."""
    # Loaded here, not at import: `--help` and config errors answer without Optuna or torch.
    from optuna.trial import TrialState

    from ..core.reporting import write_json
    from .search import TuneSettings, as_overrides, open_study, run_trial, study_summary, suggest

    config = to_plain(cfg)
    settings = TuneSettings.from_mapping(config["tune"])
    monitor = str(config["trainer"]["monitor"])
    runs_dir = Path(config["paths"]["runs_dir"])
    run_prefix = f"tune-{settings.study}"
    history_name = Path(config["paths"]["history"]).name
    forwarded = trial_overrides(command_line_overrides() if overrides is None else overrides)
    Path(config["paths"]["tuning_dir"]).mkdir(parents=True, exist_ok=True)  # the SQLite file's folder
    study = open_study(settings, monitor)
    for _ in range(settings.trials):
        trial = study.ask()
        values = suggest(trial, settings.search_space)
        log.info("trial %d: %s", trial.number, " ".join(f"{key}={value}" for key, value in values.items()))
        run_dir = runs_dir / run_prefix / str(trial.number)
        try:
            value = run_trial(trial, run_dir, [*forwarded, *as_overrides(values)], monitor, history_name)
        except ProjectError as error:  # this trial's settings failed (e.g. a diverging rate): go on
            study.tell(trial, state=TrialState.FAIL)
            log.error("trial %d failed: %s", trial.number, error)
            continue
        except BaseException:  # interrupted: the trial is over, the study stays resumable
            study.tell(trial, state=TrialState.FAIL)
            raise
        if value is None:
            study.tell(trial, state=TrialState.PRUNED)
            log.info("trial %d pruned", trial.number)
        else:
            study.tell(trial, value)
            log.info("trial %d: best validation %s %.4f", trial.number, monitor, value)
    summary = study_summary(study, runs_dir, run_prefix)
    write_json(Path(config["paths"]["tuning_dir"]) / f"{settings.study}.json", summary)
    if not summary["best_run"]:
        raise ProjectError(
            f"no trial of study {settings.study!r} has completed (see the failures above); fix them "
            "and run make tune again: the study continues."
        )
    log.info(
        "best trial %d: %s %.4f with %s; next: make evaluate RUN=%s",
        summary["best_trial"],
        monitor,
        summary["best_value"],
        summary["best_params"],
        summary["best_run"],
    )
    return summary


# configs/tune.yaml composes training's config, whose paths name a run folder through
# ${training_run_dir:...}; the tuner itself writes no run.
register_training_resolver()


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="tune")
def main(cfg: DictConfig) -> None:
    exit_on_user_error(lambda: run_tuning(cfg))


if __name__ == "__main__":
    main()
