"""Evaluation stage: test-split metrics of the best checkpoint, in ``metrics.json``.

Run ``python -m <package>.evaluate`` (or ``make evaluate``) after training. Everything
needed (model config, fitted preprocessing, data config, seed) is read from the checkpoint,
so the split and the transformation are exactly those of training.
"""

import logging
from functools import partial
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from .config import CONFIG_DIR, to_plain
from .data.dataset import SPLITS, build_tabular_data
from .data.preprocessing import TabularPreprocessor
from .errors import ProjectError, exit_on_user_error
from .evaluation.metrics import compute_metrics, is_better
from .evaluation.predict import collect_outputs
from .evaluation.reporting import write_json
from .models.factory import build_model
from .training.checkpoint import load_checkpoint
from .training.trainer import resolve_device

log = logging.getLogger(__name__)


def metric_function(preprocessor: TabularPreprocessor) -> partial:
    """``compute_metrics`` bound to the task, class names and target scaling of the data."""
    return partial(
        compute_metrics,
        preprocessor.task,
        class_names=preprocessor.class_names,
        target_mean=preprocessor.target_mean,
        target_std=preprocessor.target_std,
    )


def target_status(metrics: dict[str, Any], target_metric: str, target_value: float) -> dict[str, Any]:
    """Whether the measured metric reaches the release target of the answers."""
    measured = metrics.get(target_metric)
    met = measured is not None and (
        measured == target_value or is_better(float(measured), float(target_value), target_metric)
    )
    return {"metric": target_metric, "target": target_value, "measured": measured, "met": bool(met)}


def evaluate_checkpoint(
    checkpoint: Path, *, split: str = "test", accelerator: str = "auto"
) -> dict[str, Any]:
    """Compute the metrics of ``checkpoint`` on ``split`` of its training data config."""
    if split not in SPLITS:
        raise ProjectError(f"split must be one of {', '.join(SPLITS)}, got '{split}'.")
    state = load_checkpoint(checkpoint)
    config = state["config"]
    preprocessor = TabularPreprocessor.from_dict(state["preprocessor"])
    data = build_tabular_data(
        config["data"], task=config["task"], seed=config["seed"], preprocessor=preprocessor
    )
    model = build_model(config["model"], preprocessor)
    model.load_state_dict(state["model"])
    device = resolve_device(accelerator)
    outputs, targets = collect_outputs(model.to(device), data.loader(split, shuffle=False), device)
    metrics = metric_function(preprocessor)(targets.numpy(), outputs.numpy())
    readiness = config.get("readiness", {})
    report: dict[str, Any] = {
        "split": split,
        "num_examples": len(targets),
        "task": preprocessor.task,
        "checkpoint": str(checkpoint),
        "epoch": state["epoch"],
        "metrics": {name: value for name, value in metrics.items() if name != "confusion_matrix"},
    }
    if "confusion_matrix" in metrics:
        report["class_names"] = list(preprocessor.class_names)
        report["confusion_matrix"] = metrics["confusion_matrix"]
    if "target_metric" in readiness:
        report["target"] = target_status(
            metrics, readiness["target_metric"], readiness["target_metric_value"]
        )
    return report


def run_evaluation(cfg: DictConfig) -> dict[str, Any]:
    """The evaluation stage as a function of its config (what ``main`` and tests call)."""
    settings = to_plain(cfg)
    report = evaluate_checkpoint(
        Path(settings["checkpoint"]), split=settings["split"], accelerator=settings["accelerator"]
    )
    output = Path(settings["output"])
    write_json(output, report)
    summary = ", ".join(
        f"{name}={value:.4f}" for name, value in report["metrics"].items() if value is not None
    )
    log.info("%s split (%d examples): %s", report["split"], report["num_examples"], summary)
    if "target" in report:
        target = report["target"]
        log.info(
            "release target %s %s %s: %s",
            target["metric"],
            "<=" if target["metric"] in ("rmse", "mae") else ">=",
            target["target"],
            "met" if target["met"] else "NOT met",
        )
    log.info("wrote %s", output)
    return report


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="evaluate")
def main(cfg: DictConfig) -> None:
    exit_on_user_error(lambda: run_evaluation(cfg))


if __name__ == "__main__":
    main()
