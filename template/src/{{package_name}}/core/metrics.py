"""Task metrics from model outputs (scikit-learn), the same for validation and evaluation so
that the numbers a model is selected on and reported with agree."""

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
import torch
from sklearn import metrics as skm

LOWER_IS_BETTER = frozenset({"loss", "rmse", "mae"})


def metric_direction(name: str) -> str:
    """``"min"`` for losses and errors, ``"max"`` for scores."""
    return "min" if name in LOWER_IS_BETTER else "max"


def is_better(candidate: float, best: float | None, name: str) -> bool:
    if best is None or not np.isfinite(best):
        return bool(np.isfinite(candidate))
    return candidate < best if metric_direction(name) == "min" else candidate > best


def classification_metrics(
    targets: np.ndarray, logits: np.ndarray, class_names: Sequence[str]
) -> dict[str, Any]:
    """Scores of class predictions; ``logits`` is ``(N, num_classes)``."""
    probabilities = torch.softmax(torch.from_numpy(logits).float(), dim=1).numpy()
    predictions = probabilities.argmax(axis=1)
    labels = list(range(len(class_names)))
    precision, recall, f1, _ = skm.precision_recall_fscore_support(
        targets, predictions, labels=labels, average="macro", zero_division=0
    )
    return {
        "accuracy": float(skm.accuracy_score(targets, predictions)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "roc_auc": _roc_auc(targets, probabilities),
        "confusion_matrix": skm.confusion_matrix(targets, predictions, labels=labels).tolist(),
    }


def _roc_auc(targets: np.ndarray, probabilities: np.ndarray) -> float:
    """ROC AUC, or NaN when a split holds a single class (AUC is undefined then)."""
    if len(np.unique(targets)) < 2:
        return float("nan")
    if probabilities.shape[1] == 2:
        return float(skm.roc_auc_score(targets, probabilities[:, 1]))
    labels = list(range(probabilities.shape[1]))
    return float(skm.roc_auc_score(targets, probabilities, multi_class="ovr", labels=labels))


def regression_metrics(targets: np.ndarray, predictions: np.ndarray) -> dict[str, Any]:
    """Errors and R² of numeric predictions, both in the target's own units."""
    return {
        "rmse": float(np.sqrt(skm.mean_squared_error(targets, predictions))),
        "mae": float(skm.mean_absolute_error(targets, predictions)),
        "r2": float(skm.r2_score(targets, predictions)) if len(targets) > 1 else float("nan"),
    }


def compute_metrics(
    task: str,
    targets: np.ndarray,
    outputs: np.ndarray,
    *,
    class_names: Sequence[str] = (),
    target_mean: float = 0.0,
    target_std: float = 1.0,
) -> dict[str, Any]:
    """Metrics for ``task`` from raw model ``outputs`` and encoded ``targets`` (standardised
    regression values are mapped back, so errors are in the target's units)."""
    if task == "classification":
        return classification_metrics(targets, outputs, class_names)
    scale = np.float64(target_std)
    return regression_metrics(
        targets.reshape(-1) * scale + target_mean, outputs.reshape(-1) * scale + target_mean
    )


def metric_function(labelled: Any) -> partial:
    """``compute_metrics`` bound to the task, class names and target scaling of ``labelled`` (the
    fitted preprocessor, or in Hugging Face projects the data)."""
    return partial(
        compute_metrics,
        getattr(labelled, "task", "classification"),
        class_names=tuple(labelled.class_names),
        target_mean=getattr(labelled, "target_mean", 0.0),
        target_std=getattr(labelled, "target_std", 1.0),
    )
