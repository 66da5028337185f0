"""Explanation stage: which inputs drove the trained model's predictions on a few test examples.

Run ``python -m <package>.explanations`` (or ``make explain``) after training. The model is loaded
as every stage loads it (``inference.load_trained_model``); the first ``num_examples``
examples of ``split`` are explained with this project's method (``explanations/attributions.py``:
SHAP values per column for tables, integrated gradients for images and text). Writes the
chosen run's ``explanations.json`` (``paths.explanations``; the contract is in
``core/explanation_report.py``) and PNG figures in ``paths.explanations_dir``; the readiness gate checks that the report explains the current
weights and that its attributions add up within ``completeness_tolerance``.

Settings are the ``explain:`` key of ``configs/explain.yaml``; override them for one run,
e.g. ``python -m <package>.explanations explain.num_examples=50 explain.split=val``.
"""

import logging
import time
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from ..core import attributions as method
from ..core.config import CONFIG_DIR, SPLITS, to_plain
from ..core.console import log_summary
from ..core.devices import resolve_device
from ..core.errors import CheckpointError, ProjectError, exit_on_user_error
from ..core.explanation_report import model_identity
from ..core.inference import load_trained_model
from ..core.reporting import write_json
from ..core.run_lookup import register_run_dir_resolver
from .plots import write_plots

log = logging.getLogger(__name__)

PACKAGE = __package__


def check_settings(settings: dict[str, Any]) -> None:
    """Refuse settings that cannot produce an explanation, saying which value to use."""
    if settings["split"] not in SPLITS:
        raise ProjectError(f"explain.split must be one of {', '.join(SPLITS)}, got '{settings['split']}'.")
    if int(settings["num_examples"]) < 1:
        raise ProjectError(f"explain.num_examples must be at least 1, got {settings['num_examples']}.")
    if int(settings["num_plots"]) < 0:
        raise ProjectError(f"explain.num_plots must be 0 or more, got {settings['num_plots']}.")


def require_model(path: Path) -> None:
    """A missing model ends the stage with the command that makes one."""
    if not path.exists():
        raise CheckpointError(
            f"no trained model at {path}: run `make train` first (python -m {PACKAGE}.training), "
            "or choose a trained run with paths.run=<name> (make runs lists them)."
        )


def explain_model(settings: dict[str, Any], paths: dict[str, Any]) -> dict[str, Any]:
    """Explain ``num_examples`` examples of ``split`` (``explain`` settings); write the report and the plots."""
    check_settings(settings)
    checkpoint = Path(paths["checkpoint"])
    require_model(checkpoint)
    trained = load_trained_model(checkpoint, resolve_device(settings["accelerator"]))
    started = time.perf_counter()
    attributions, shown = method.explain_split(
        trained, settings["split"], int(settings["num_examples"]), settings
    )
    seconds = time.perf_counter() - started
    folder = Path(paths["explanations_dir"])
    plots = write_plots(attributions, shown, trained.preprocessor, folder, int(settings["num_plots"]))
    report = {
        "method": method.METHOD,
        "modality": method.MODALITY,
        "options": {key: settings[key] for key in method.OPTIONS},
        "model": model_identity(checkpoint),
        "split": settings["split"],
        "num_examples": len(attributions.targets),
        "task": trained.preprocessor.task,
        "class_names": list(getattr(trained.preprocessor, "class_names", ())),
        **method.report_fields(attributions, trained.preprocessor),
        "plots": [path.name for path in plots],
        "seconds": round(seconds, 3),
    }
    write_json(Path(paths["explanations"]), report)
    return report


def run_explain(cfg: DictConfig) -> dict[str, Any]:
    """The explanation stage as a function of its config (what ``main`` and tests call)."""
    settings = to_plain(cfg)
    report = explain_model(settings["explain"], settings["paths"])
    completeness, paths = report["completeness"], settings["paths"]
    headline = (
        f"{report['method']} on {report['num_examples']} {report['split']} examples in {report['seconds']:.1f} s; "
        f"completeness error max {completeness['max_abs_error']:.2e}, mean {completeness['mean_abs_error']:.2e}"
    )
    plots = f"{len(report['plots'])} plot(s) in {paths['explanations_dir']}"
    log_summary(log, "explain", headline, [paths["explanations"], plots])
    return report


# configs/paths/ find the run this stage works on through ${run_dir:...}.
register_run_dir_resolver()


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="explain")
def main(cfg: DictConfig) -> None:
    exit_on_user_error(lambda: run_explain(cfg))


if __name__ == "__main__":
    main()
