"""The evaluation stage's figures: how training went, and how the model does on the scored split.

Drawn here from what the stage already has (the run's ``history.json`` and the outputs it
scored), not during training, so training stays as light as it is: its curves are read back
from the history, which a resumed run extends. Classification gets a confusion matrix, ROC
and precision-recall curves and a reliability diagram; regression the residuals and the
predicted values against the actual ones. The release target is drawn where it is a line on
the figure's axes, and named in the title otherwise.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from sklearn import metrics as skm

from ..core.figures import (
    CONFUSION_MATRIX,
    FIRST,
    PRECISION_RECALL,
    PREDICTED_VS_ACTUAL,
    REFERENCE_STYLE,
    RELIABILITY,
    RESIDUALS,
    ROC_CURVE,
    SECOND,
    TARGET_STYLE,
    TRAINING_CURVES,
    no_data,
    panels,
    target_line,
)
from ..core.metrics import metric_direction
from ..core.scoring import ScoredSplit

CLASSIFICATION = "classification"
LOSSES = {CLASSIFICATION: "cross-entropy", "regression": "mean squared error, standardised target"}
ERRORS_IN_TARGET_UNITS = frozenset({"rmse", "mae"})
# Curves of more classes than this are unreadable: one-vs-rest curves stop here.
MAX_CURVES = 10
# Above this many classes the confusion matrix shows colours without the counts.
MAX_ANNOTATED_CLASSES = 15
CALIBRATION_BINS = 10


def target_label(target: Mapping[str, Any]) -> str:
    """``release target accuracy ≥ 0.8``: how every figure names the target it draws."""
    sign = "≤" if metric_direction(target["metric"]) == "min" else "≥"
    return f"release target {target['metric']} {sign} {target['target']:g}"


def metric_label(metric: str) -> str:
    """An axis label with its unit: errors are in the target's units, scores are fractions."""
    return f"{metric} (target units)" if metric in ERRORS_IN_TARGET_UNITS else f"{metric} (0-1)"


def series(epochs: Sequence[Mapping[str, Any]], key: str) -> np.ndarray:
    """One value per epoch (NaN where an epoch has none, or a non-finite one was saved as null)."""
    values = [epoch.get(key) for epoch in epochs]
    return np.array([np.nan if value is None else float(value) for value in values])


def training_curves(
    history: Mapping[str, Any], task: str, target: Mapping[str, Any] | None, path: Path
) -> Path | None:
    """Training and validation loss per epoch, and the validation metric the run is judged on,
    with the release target and the best epoch; ``None`` for a run without a finished epoch."""
    epochs = history.get("history") or []
    if not epochs:
        return None
    monitor = next((key.removeprefix("best_val_") for key in history if key.startswith("best_val_")), None)
    judged = target["metric"] if target and f"val_{target['metric']}" in epochs[-1] else monitor
    numbers = [int(epoch["epoch"]) for epoch in epochs]
    with panels(path, f"Training run: {len(epochs)} epoch(s)", count=2) as (loss, metric):
        loss.plot(numbers, series(epochs, "train_loss"), marker="o", color=FIRST, label="training")
        loss.plot(numbers, series(epochs, "val_loss"), marker="o", color=SECOND, label="validation")
        loss.set(title="Loss", xlabel="epoch", ylabel=f"loss ({LOSSES.get(task, 'loss')})")
        if judged is not None:
            metric.plot(
                numbers, series(epochs, f"val_{judged}"), marker="o", color=SECOND, label="validation"
            )
            metric.set(title=f"Validation {judged}", xlabel="epoch", ylabel=metric_label(judged))
        if target and target["metric"] == judged:
            target_line(metric, float(target["target"]), f"{target_label(target)} (test split)")
        if "best_epoch" in history:
            metric.axvline(
                int(history["best_epoch"]), label=f"best epoch ({history['best_epoch']})", **REFERENCE_STYLE
            )
        for axes in (loss, metric):
            axes.xaxis.get_major_locator().set_params(integer=True)
            axes.legend(loc="best")
    return path


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def curve_classes(class_names: Sequence[str]) -> list[int]:
    """The classes that get a curve: the positive (second) class of a binary model, else each class."""
    return [1] if len(class_names) == 2 else list(range(min(len(class_names), MAX_CURVES)))


def confusion_matrix(
    matrix: Sequence[Sequence[int]], class_names: Sequence[str], split: str, path: Path
) -> Path:
    """Counts of each true class (rows) predicted as each class (columns)."""
    counts = np.asarray(matrix)
    with panels(path, f"Confusion matrix, {split} split ({int(counts.sum())} examples)") as (axes,):
        image = axes.imshow(counts, cmap="Blues")
        axes.figure.colorbar(image, ax=axes, label="examples")
        ticks = range(len(class_names))
        axes.set_xticks(ticks, class_names, rotation=45 if len(class_names) > 4 else 0, ha="right")
        axes.set_yticks(ticks, class_names)
        axes.set(xlabel="predicted class", ylabel="true class")
        if len(class_names) <= MAX_ANNOTATED_CLASSES:
            middle = counts.max() / 2
            for (row, column), count in np.ndenumerate(counts):
                color = "white" if count > middle else "black"
                axes.text(column, row, str(count), ha="center", va="center", color=color)
    return path


def roc_curves(
    labels: np.ndarray, probabilities: np.ndarray, class_names: Sequence[str], title: str, path: Path
) -> Path:
    """ROC curve of the positive class (binary) or of each class against the rest, with its AUC."""
    with panels(path, title) as (axes,):
        drawn = 0
        for index in curve_classes(class_names):
            positives = labels == index
            if positives.all() or not positives.any():
                continue  # undefined without both positives and negatives
            false_rate, true_rate, _ = skm.roc_curve(positives, probabilities[:, index])
            area = skm.auc(false_rate, true_rate)
            axes.plot(false_rate, true_rate, label=f"{class_names[index]} (AUC {area:.3f})")
            drawn += 1
        axes.plot([0, 1], [0, 1], label="chance", **REFERENCE_STYLE)
        axes.set(
            xlabel="false positive rate (0-1)", ylabel="true positive rate (0-1)", xlim=(0, 1), ylim=(0, 1.02)
        )
        finish_curves(axes, drawn)
    return path


def precision_recall_curves(
    labels: np.ndarray,
    probabilities: np.ndarray,
    class_names: Sequence[str],
    target: Mapping[str, Any] | None,
    split: str,
    path: Path,
) -> Path:
    """Precision against recall per class as the decision threshold moves, with the average
    precision; a precision or recall target is drawn as the line it sets."""
    with panels(path, f"Precision-recall curves, {split} split") as (axes,):
        drawn = 0
        for index in curve_classes(class_names):
            positives = labels == index
            if not positives.any():
                continue
            precision, recall, _ = skm.precision_recall_curve(positives, probabilities[:, index])
            average = skm.average_precision_score(positives, probabilities[:, index])
            axes.plot(recall, precision, label=f"{class_names[index]} (AP {average:.3f})")
            drawn += 1
        if target and target["metric"] == "precision":
            target_line(axes, float(target["target"]), f"{target_label(target)} (macro)")
        if target and target["metric"] == "recall":
            target_line(axes, float(target["target"]), f"{target_label(target)} (macro)", vertical=True)
        axes.set(xlabel="recall (0-1)", ylabel="precision (0-1)", xlim=(0, 1), ylim=(0, 1.02))
        finish_curves(axes, drawn)
    return path


def finish_curves(axes: Axes, drawn: int) -> None:
    if drawn:
        axes.legend(loc="lower right" if axes.get_xlabel().startswith("false") else "lower left")
    else:
        no_data(axes, "undefined: the split holds a single class")


def reliability_diagram(labels: np.ndarray, probabilities: np.ndarray, split: str, path: Path) -> Path:
    """Calibration: how often the predicted class is right, against how confident the model was.

    Confidence is the predicted class's probability, in ``CALIBRATION_BINS`` equal bins; the
    expected calibration error (ECE) weighs each bin's gap by its share of examples.
    """
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    bins = np.clip(np.digitize(confidence, edges[1:-1]), 0, CALIBRATION_BINS - 1)
    counts = np.bincount(bins, minlength=CALIBRATION_BINS)
    filled = counts > 0
    accuracy = np.bincount(bins, weights=correct, minlength=CALIBRATION_BINS)[filled] / counts[filled]
    mean_confidence = (
        np.bincount(bins, weights=confidence, minlength=CALIBRATION_BINS)[filled] / counts[filled]
    )
    error = float(np.sum(counts[filled] * np.abs(accuracy - mean_confidence)) / len(labels))
    centres = (edges[:-1] + edges[1:]) / 2
    with panels(path, f"Reliability diagram, {split} split (ECE {error:.3f})", count=2) as (curve, spread):
        curve.bar(
            centres[filled],
            accuracy,
            width=1 / CALIBRATION_BINS,
            color=FIRST,
            edgecolor="white",
            label="accuracy in bin",
        )
        curve.plot(
            mean_confidence, accuracy, "o", color=SECOND, label="accuracy at the bin's mean confidence"
        )
        curve.plot([0, 1], [0, 1], label="perfectly calibrated", **REFERENCE_STYLE)
        curve.set(
            xlabel="confidence of the predicted class (0-1)",
            ylabel="accuracy (0-1)",
            xlim=(0, 1),
            ylim=(0, 1),
        )
        curve.legend(loc="upper left")
        spread.bar(centres, counts, width=1 / CALIBRATION_BINS, color=FIRST, edgecolor="white")
        spread.set(
            title="Confidence",
            xlabel="confidence of the predicted class (0-1)",
            ylabel="examples",
            xlim=(0, 1),
        )
    return path


def residual_plots(
    actual: np.ndarray, predicted: np.ndarray, target: Mapping[str, Any] | None, split: str, path: Path
) -> Path:
    """Residuals (predicted - actual) against the prediction, and their histogram; an error
    target (RMSE, MAE) is drawn at ± its value for scale: it bounds an average of the errors,
    not each one, so single residuals outside it are no failure."""
    residuals = predicted - actual
    with panels(path, f"Residuals, {split} split ({len(actual)} examples)", count=2) as (scatter, histogram):
        scatter.scatter(predicted, residuals, s=10, alpha=0.6, color=FIRST)
        scatter.axhline(0.0, label="no error", **REFERENCE_STYLE)
        scatter.set(
            xlabel="predicted value (target units)", ylabel="residual, predicted - actual (target units)"
        )
        histogram.hist(residuals, bins=30, color=FIRST, edgecolor="white")
        histogram.set(xlabel="residual, predicted - actual (target units)", ylabel="examples")
        if target and target["metric"] in ERRORS_IN_TARGET_UNITS:
            bound = float(target["target"])
            label = f"± {bound:g}: {target_label(target)} (an average, for scale)"
            target_line(scatter, bound, label)
            scatter.axhline(-bound, **TARGET_STYLE)
            target_line(histogram, bound, label, vertical=True)
            histogram.axvline(-bound, **TARGET_STYLE)
        scatter.legend(loc="best")
        if histogram.get_legend_handles_labels()[0]:
            histogram.legend(loc="best")
    return path


def predicted_vs_actual(
    actual: np.ndarray, predicted: np.ndarray, target: Mapping[str, Any] | None, split: str, path: Path
) -> Path:
    """Each prediction against the true value, beside the line of perfect predictions."""
    r2 = skm.r2_score(actual, predicted) if len(actual) > 1 else float("nan")
    title = f"Predicted vs actual, {split} split (R² {r2:.3f})"
    if target:
        title += f"; {target_label(target)}"
    low, high = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
    with panels(path, title) as (axes,):
        axes.scatter(actual, predicted, s=10, alpha=0.6, color=FIRST, label="example")
        axes.plot([low, high], [low, high], label="perfect prediction", **REFERENCE_STYLE)
        axes.set(xlabel="actual value (target units)", ylabel="predicted value (target units)")
        axes.legend(loc="upper left")
    return path


def write_evaluation_figures(scored: ScoredSplit, history: Mapping[str, Any], folder: Path) -> list[Path]:
    """Every figure of the evaluation stage that applies to this model, in ``folder``."""
    report = scored.report
    task, target, split = report["task"], report.get("target"), report["split"]
    curves = training_curves(history, task, target, folder / TRAINING_CURVES)
    written = [curves] if curves else []
    if task != CLASSIFICATION:
        actual = scored.labelled.inverse_transform_regression(scored.targets.reshape(-1))
        predicted = scored.labelled.inverse_transform_regression(scored.outputs.reshape(-1))
        return [
            *written,
            residual_plots(actual, predicted, target, split, folder / RESIDUALS),
            predicted_vs_actual(actual, predicted, target, split, folder / PREDICTED_VS_ACTUAL),
        ]
    names = list(report["class_names"])
    labels, probabilities = scored.targets.astype(int), softmax(scored.outputs.astype(np.float64))
    roc_title = f"ROC curves, {split} split"
    if target and target["metric"] == "roc_auc":
        roc_title += f"; {target_label(target)}"
    return [
        *written,
        confusion_matrix(report["confusion_matrix"], names, split, folder / CONFUSION_MATRIX),
        roc_curves(labels, probabilities, names, roc_title, folder / ROC_CURVE),
        precision_recall_curves(labels, probabilities, names, target, split, folder / PRECISION_RECALL),
        reliability_diagram(labels, probabilities, split, folder / RELIABILITY),
    ]
