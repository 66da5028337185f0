"""The run the release stages work on: ``paths.run``, ``latest`` or a run's name.

The release stages (evaluate, fairness, explain, export, drift, serve, loadtest/benchmark,
readiness, documents) and ``make runs`` read and write inside one run: ``paths.run`` is
``latest`` (the most recently finished complete run) or a run's name, which
``make <target> RUN=<name>`` sets. configs/paths/ reaches its folder through the
``${run_dir:...}`` resolver registered here, so every artifact path stays one line of YAML.
Training never uses it: configs/train.yaml points ``paths.run_dir`` at the run's own folder.
"""

from pathlib import Path

from omegaconf import OmegaConf

from .runs import LATEST, Run, RunError, list_runs, named_run, no_run_error


def latest_run(runs_dir: Path) -> Run:
    """The most recently finished complete run: what the release path works on by default."""
    runs = list_runs(runs_dir)
    complete = [run for run in runs if run.complete]
    if not complete:
        if not runs:
            raise no_run_error(runs_dir)
        raise RunError(
            f"no complete training run under {runs_dir}: {', '.join(run.name for run in runs)} did not "
            "finish. Resume the last one with `make train ARGS=trainer.resume=true`, train again, "
            "or choose a run with RUN=<name>."
        )
    return max(complete, key=lambda run: (str(run.record.get("finished", "")), run.name))


def find_run(runs_dir: Path, run: str) -> Run:
    """``latest`` or a run's name, as ``paths.run`` says."""
    return latest_run(runs_dir) if run == LATEST else named_run(runs_dir, run)


def run_dir_resolver(runs_dir: str, run: str) -> str:
    """``${run_dir:<runs_dir>,<run>}``: the folder of the run the release stages work on."""
    return str(find_run(Path(runs_dir), str(run)).path)


def register_run_dir_resolver() -> None:
    """Register ``${run_dir:...}`` once; each stage whose config uses it calls this first."""
    if not OmegaConf.has_resolver("run_dir"):
        OmegaConf.register_new_resolver("run_dir", run_dir_resolver, use_cache=True)
