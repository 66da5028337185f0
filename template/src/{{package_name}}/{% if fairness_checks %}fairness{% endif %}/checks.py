"""Fairness assessment with Fairlearn: metrics per sensitive group, disparities and a verdict.

What is compared
    Each sensitive column on its own (``data.sensitive_columns``) and, with
    ``fairness.intersectional``, the combination of all of them ("female & 18-29"): a model
    can treat each sex and each age group alike on average and still fail older women.

Classification
    Per group, a Fairlearn ``MetricFrame`` of the example count, accuracy, and for the
    compared class the selection rate (share predicted as that class), true positive rate
    and false positive rate. Across groups: ``demographic_parity_difference`` and
    ``demographic_parity_ratio`` (of selection rates) and ``equalized_odds_difference``
    (the larger of the TPR and FPR gaps).

    Which class is "positive": a binary model is judged on ``fairness.positive_class``,
    by default the second class name in sorted order ("yes" of no/yes, "positive" of
    negative/positive). A multiclass model is judged one-vs-rest: each class in turn plays
    the positive class (selection rate = share predicted as that class, TPR = recall of
    that class, FPR = share of the other classes' examples predicted as it), the table
    shows every class, and the verdict takes the worst class (largest difference, smallest
    ratio). Averaging over classes would hide a model that sends one group to one class
    more often, which is the harm a per-class view exists to catch.

Regression
    Per group: count, MAE, RMSE, mean prediction, mean target and mean (signed) error.
    Across groups: the MAE difference and the mean-error difference (in the target's
    units, reported) and the MAE ratio (smallest / largest group MAE, judged against
    ``min_ratio``). A difference threshold between 0 and 1 has no meaning in the
    target's units, so ``max_difference`` does not apply to regression.

Small groups
    Groups with fewer than ``fairness.min_group_size`` examples are reported and flagged
    "too small to judge", and left out of the differences and ratios: a rate measured on a
    handful of examples mostly measures noise, and averaging it into the verdict would let
    noise pass or fail the model. The "group sizes" check fails while any group is flagged,
    so nobody reads "pass" as "fair for every group".
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    false_positive_rate,
    mean_prediction,
    selection_rate,
    true_positive_rate,
)
from sklearn import metrics as skm

from ..core.config import settings_from_mapping
from ..core.errors import ProjectError

CLASSIFICATION = "classification"
NO_MITIGATION = "none"
THRESHOLD_OPTIMIZER = "threshold_optimizer"
# ThresholdOptimizer constraints, and the objectives Fairlearn accepts with every one of them.
CONSTRAINTS = (
    "demographic_parity",
    "equalized_odds",
    "true_positive_rate_parity",
    "false_positive_rate_parity",
    "true_negative_rate_parity",
    "false_negative_rate_parity",
)
OBJECTIVES = ("accuracy_score", "balanced_accuracy_score")
THRESHOLDS_NOTE = (
    "Fairness thresholds are a policy decision for this use case, not a universal standard: "
    "min_ratio 0.8 is the 'four-fifths rule', a heuristic from US employment-selection guidance, "
    "not a legal or ethical guarantee elsewhere. Agree them with the people responsible for the "
    "use case; change them in configs/fairness/default.yaml or for one run with e.g. "
    "fairness.max_difference=0.05."
)
MISSING_GROUP = "(missing)"
THRESHOLD_KEYS = ("max_difference", "min_ratio", "min_group_size")
CLASSIFICATION_DISPARITIES = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
)
REGRESSION_DISPARITIES = ("mae_difference", "mae_ratio", "mean_error_difference")
# The judged disparities and the threshold each is compared with.
CLASSIFICATION_CHECKS = {
    "demographic_parity_difference": "max_difference",
    "demographic_parity_ratio": "min_ratio",
    "equalized_odds_difference": "max_difference",
}
REGRESSION_CHECKS = {"mae_ratio": "min_ratio"}
HOW_TO_FIX = (
    "look at the groups in fairness.md; improve data for the disadvantaged groups, try "
    "fairness.mitigation=threshold_optimizer (binary classifiers), or revisit the threshold "
    "with the use case's owners"
)


@dataclass(frozen=True)
class SplitOutputs:
    """One split of a trained model: raw outputs, targets and rows, in the same order.

    Classification: ``outputs`` are ``(N, classes)`` logits and ``targets`` class indices.
    Regression: both are ``(N,)`` values in the target's own units. ``rows`` are the split's
    examples as the data module lists them (``data.frames[split]``), sensitive columns
    included.
    """

    outputs: np.ndarray
    targets: np.ndarray
    rows: pd.DataFrame


@dataclass(frozen=True)
class ModelOutputs:
    """A trained model's outputs on some splits, and how to read them.

    Built by ``evaluation/fairness_inputs.py``, the one module that knows how this
    project's framework loads and runs a model.
    """

    source: str
    task: str
    class_names: tuple[str, ...]
    sensitive_columns: tuple[str, ...]
    seed: int
    splits: Mapping[str, SplitOutputs]


@dataclass(frozen=True)
class FairnessSettings:
    """The ``fairness`` config group (configs/fairness/default.yaml), checked once."""

    max_difference: float = 0.1
    min_ratio: float = 0.8
    min_group_size: int = 30
    intersectional: bool = True
    positive_class: str | None = None
    mitigation: str = NO_MITIGATION
    mitigation_columns: Sequence[str] | None = None
    constraints: str = "equalized_odds"
    objective: str = "accuracy_score"

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "FairnessSettings":
        settings: FairnessSettings = settings_from_mapping(cls, values, group="fairness", error=ProjectError)
        if not 0 <= settings.max_difference <= 1:
            raise ProjectError(f"fairness.max_difference must lie in [0, 1], got {settings.max_difference}.")
        if not 0 <= settings.min_ratio <= 1:
            raise ProjectError(f"fairness.min_ratio must lie in [0, 1], got {settings.min_ratio}.")
        if settings.min_group_size < 1:
            raise ProjectError(f"fairness.min_group_size must be at least 1, got {settings.min_group_size}.")
        if settings.mitigation not in (NO_MITIGATION, THRESHOLD_OPTIMIZER):
            raise ProjectError(
                f"fairness.mitigation must be '{NO_MITIGATION}' or '{THRESHOLD_OPTIMIZER}', "
                f"got '{settings.mitigation}'."
            )
        if settings.constraints not in CONSTRAINTS:
            raise ProjectError(
                f"fairness.constraints must be one of {', '.join(CONSTRAINTS)}; got '{settings.constraints}'."
            )
        if settings.objective not in OBJECTIVES:
            raise ProjectError(
                f"fairness.objective must be one of {', '.join(OBJECTIVES)}; got '{settings.objective}'."
            )
        return settings

    def columns_to_mitigate(self, sensitive_columns: Sequence[str]) -> list[str]:
        """The columns whose groups (or combinations) get their own thresholds.

        By default the first sensitive column: thresholds fitted per combination of several
        columns rest on few validation examples each, so combining is a deliberate choice.
        """
        columns = list(self.mitigation_columns or sensitive_columns[:1])
        unknown = [column for column in columns if column not in sensitive_columns]
        if unknown:
            raise ProjectError(
                f"fairness.mitigation_columns names {', '.join(unknown)}, which are not sensitive columns "
                f"of the model ({', '.join(sensitive_columns) or 'none'})."
            )
        return columns

    def thresholds(self) -> dict[str, Any]:
        """The numbers the verdict is judged against (recorded in the report)."""
        return {key: value for key, value in asdict(self).items() if key in THRESHOLD_KEYS}


def sensitive_groups(
    rows: pd.DataFrame, columns: Sequence[str], *, intersectional: bool
) -> dict[str, pd.Series]:
    """The group of every row, per sensitive column (and for their combination).

    Groups are strings so that numbers, booleans and missing values (``(missing)``, a group
    of its own: leaving those rows out would hide who they are) all read the same in the
    report.
    """
    if not columns:
        raise ProjectError(
            "no sensitive columns to compare: list them in data.sensitive_columns (the columns "
            "that describe people, e.g. [sex, age_group]) and retrain, or answer fairness_checks=no."
        )
    missing = [column for column in columns if column not in rows.columns]
    if missing:
        raise ProjectError(
            f"sensitive column(s) {', '.join(missing)} are not in the data (columns: "
            f"{', '.join(map(str, rows.columns))}); fix data.sensitive_columns and retrain."
        )
    groups = {
        str(column): rows[column].astype("string").fillna(MISSING_GROUP).astype(str).reset_index(drop=True)
        for column in columns
    }
    if intersectional and len(columns) > 1:
        groups[combined_name(columns)] = combined_groups(groups, columns)
    return groups


def combined_name(columns: Sequence[str]) -> str:
    return " & ".join(map(str, columns))


def combined_groups(groups: Mapping[str, pd.Series], columns: Sequence[str]) -> pd.Series:
    """One label per row for the combination of all sensitive columns ("female & 18-29")."""
    combined = groups[str(columns[0])]
    for column in columns[1:]:
        combined = combined + " & " + groups[str(column)]
    return combined


def positive_class_index(class_names: Sequence[str], positive_class: str | None) -> int:
    """Index of the class a binary model is judged on (by default the second, sorted)."""
    if positive_class is None:
        return 1
    if positive_class not in class_names:
        raise ProjectError(
            f"fairness.positive_class '{positive_class}' is not a class of the model "
            f"({', '.join(class_names)}); pick one of those or null for '{class_names[1]}'."
        )
    return list(class_names).index(positive_class)


def compared_classes(class_names: Sequence[str], positive_class: str | None) -> list[int]:
    """Binary: the positive class only. Multiclass: every class, one-vs-rest."""
    if len(class_names) == 2:
        return [positive_class_index(class_names, positive_class)]
    return list(range(len(class_names)))


def _one_vs_rest(rate: Callable[..., float], class_index: int) -> Callable[[Any, Any], float]:
    """``rate`` of one class against all others: that class is the positive label 1."""

    def metric(y_true: Any, y_pred: Any) -> float:
        positives = (np.asarray(y_true) == class_index).astype(int)
        predicted = (np.asarray(y_pred) == class_index).astype(int)
        return float(rate(positives, predicted, pos_label=1))

    return metric


def class_suffix(class_names: Sequence[str], class_index: int) -> str:
    """Metric-name suffix: none for a binary model's one compared class, ``[name]`` otherwise."""
    return "" if len(class_names) == 2 else f"[{class_names[class_index]}]"


def classification_metrics(class_names: Sequence[str], compared: Sequence[int]) -> dict[str, Callable]:
    """The MetricFrame metrics: count, accuracy, and per compared class three rates."""
    metrics: dict[str, Callable] = {"count": count, "accuracy": skm.accuracy_score}
    for index in compared:
        suffix = class_suffix(class_names, index)
        metrics[f"selection_rate{suffix}"] = _one_vs_rest(selection_rate, index)
        metrics[f"true_positive_rate{suffix}"] = _one_vs_rest(true_positive_rate, index)
        metrics[f"false_positive_rate{suffix}"] = _one_vs_rest(false_positive_rate, index)
    return metrics


def _root_mean_squared_error(y_true: Any, y_pred: Any) -> float:
    return float(np.sqrt(skm.mean_squared_error(y_true, y_pred)))


def _mean_target(y_true: Any, y_pred: Any) -> float:
    return float(np.mean(y_true))


def _mean_error(y_true: Any, y_pred: Any) -> float:
    """Signed: below zero, the group's values are under-predicted on average."""
    return float(np.mean(np.asarray(y_pred) - np.asarray(y_true)))


REGRESSION_METRICS: dict[str, Callable] = {
    "count": count,
    "mae": skm.mean_absolute_error,
    "rmse": _root_mean_squared_error,
    "mean_prediction": mean_prediction,
    "mean_target": _mean_target,
    "mean_error": _mean_error,
}


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None


def _table(frame: pd.DataFrame | pd.Series) -> dict[str, Any]:
    """A MetricFrame result as plain JSON-ready data (counts as ints, NaN as None)."""
    if isinstance(frame, pd.Series):
        return {
            str(name): (int(value) if name == "count" else _finite(value)) for name, value in frame.items()
        }
    return {str(group): _table(row) for group, row in frame.iterrows()}


def _worst(candidates: list[dict[str, Any]], *, largest: bool) -> dict[str, Any] | None:
    defined = [candidate for candidate in candidates if candidate["value"] is not None]
    if not defined:
        return None
    return (max if largest else min)(defined, key=lambda candidate: candidate["value"])


def classification_disparities(
    targets: np.ndarray,
    predictions: np.ndarray,
    groups: pd.Series,
    class_names: Sequence[str],
    compared: Sequence[int],
) -> tuple[dict[str, float | None], dict[str, str]]:
    """Fairlearn's disparity metrics, worst over the compared classes (one-vs-rest).

    Returns the values and, per metric, the class the value belongs to.
    """
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in CLASSIFICATION_DISPARITIES}
    for index in compared:
        positives = (targets == index).astype(int)
        predicted = (predictions == index).astype(int)
        for name, function in (
            ("demographic_parity_difference", demographic_parity_difference),
            ("demographic_parity_ratio", demographic_parity_ratio),
            ("equalized_odds_difference", equalized_odds_difference),
        ):
            value = _finite(function(positives, predicted, sensitive_features=groups))
            found[name].append({"value": value, "class": class_names[index]})
    worst = {
        name: _worst(candidates, largest=not name.endswith("_ratio")) for name, candidates in found.items()
    }
    values = {name: (entry["value"] if entry else None) for name, entry in worst.items()}
    return values, {name: entry["class"] for name, entry in worst.items() if entry}


def regression_disparities(frame: MetricFrame) -> dict[str, float | None]:
    """Between-group gaps of the MAE and of the signed mean error (judged groups only).

    The mean-error gap shows a model that under-predicts one group and over-predicts
    another, which two equal MAEs can hide.
    """
    return {
        "mae_difference": _finite(frame.difference()["mae"]),
        "mae_ratio": _finite(frame.ratio()["mae"]),
        "mean_error_difference": _finite(frame.difference()["mean_error"]),
    }


def assess_feature(
    task: str,
    targets: np.ndarray,
    predictions: np.ndarray,
    groups: pd.Series,
    *,
    class_names: Sequence[str],
    compared: Sequence[int],
    min_group_size: int,
) -> dict[str, Any]:
    """Metrics per group of one sensitive feature, its small groups and its disparities."""
    metrics = classification_metrics(class_names, compared) if task == CLASSIFICATION else REGRESSION_METRICS
    frame = MetricFrame(metrics=metrics, y_true=targets, y_pred=predictions, sensitive_features=groups)
    sizes = groups.value_counts()
    too_small = sorted(str(group) for group, size in sizes.items() if size < min_group_size)
    judged = ~groups.isin(too_small).to_numpy()
    disparities: dict[str, float | None]
    worst_class: dict[str, str] = {}
    if sizes.size - len(too_small) < 2:  # nothing to compare
        disparities = dict.fromkeys(
            CLASSIFICATION_DISPARITIES if task == CLASSIFICATION else REGRESSION_DISPARITIES
        )
    elif task == CLASSIFICATION:
        disparities, worst_class = classification_disparities(
            targets[judged], predictions[judged], groups[judged], class_names, compared
        )
    else:
        judged_frame = MetricFrame(
            metrics=metrics,
            y_true=targets[judged],
            y_pred=predictions[judged],
            sensitive_features=groups[judged],
        )
        disparities = regression_disparities(judged_frame)
    return {
        "groups": _table(frame.by_group),
        "overall": _table(frame.overall),
        "too_small": too_small,
        "disparities": disparities,
        **({"worst_class": worst_class} if task == CLASSIFICATION else {}),
    }


def _class_of(feature: Mapping[str, Any], name: str) -> dict[str, str]:
    worst_class = feature.get("worst_class", {})
    return {"class": worst_class[name]} if name in worst_class else {}


def threshold_check(
    name: str, threshold_key: str, features: Mapping[str, dict[str, Any]], settings: FairnessSettings
) -> dict[str, Any]:
    """One threshold against the worst feature (and class) that could be judged."""
    threshold = float(getattr(settings, threshold_key))
    is_ratio = threshold_key == "min_ratio"
    target = f"{'>=' if is_ratio else '<='} {threshold:g}"
    candidates = [
        {"value": report["disparities"].get(name), "feature": feature, **_class_of(report, name)}
        for feature, report in features.items()
    ]
    worst = _worst(candidates, largest=not is_ratio)
    label = name.replace("_", " ")
    if worst is None:
        return {
            "name": label,
            "metric": name,
            "status": "not measured",
            "target": target,
            "measured": "no two groups large enough to compare",
            "value": None,
            "how_to_fix": "collect more examples per group, or lower fairness.min_group_size knowingly",
        }
    value = float(worst["value"])
    passed = value >= threshold if is_ratio else value <= threshold
    where = worst["feature"] + (f", class {worst['class']}" if "class" in worst else "")
    return {
        "name": label,
        "metric": name,
        "status": "pass" if passed else "fail",
        "target": target,
        "measured": f"{value:.4f} ({where})",
        "value": value,
        "feature": worst["feature"],
        "class": worst.get("class"),
        "how_to_fix": "" if passed else HOW_TO_FIX,
    }


def group_size_check(features: Mapping[str, dict[str, Any]], settings: FairnessSettings) -> dict[str, Any]:
    """Fails while any group is too small to judge: its disparity is unknown, not zero."""
    flagged = [f"{feature}={group}" for feature, report in features.items() for group in report["too_small"]]
    target = f">= {settings.min_group_size} examples per group"
    if not flagged:
        return {
            "name": "group sizes",
            "metric": "min_group_size",
            "status": "pass",
            "target": target,
            "measured": "every group large enough",
            "value": 0,
            "how_to_fix": "",
        }
    shown = ", ".join(flagged[:6]) + (", ..." if len(flagged) > 6 else "")
    return {
        "name": "group sizes",
        "metric": "min_group_size",
        "status": "fail",
        "target": target,
        "measured": f"{len(flagged)} too small to judge: {shown}",
        "value": len(flagged),
        "how_to_fix": "collect more examples of those groups (or merge groups), or lower "
        "fairness.min_group_size knowingly",
    }


def assess(
    task: str,
    targets: np.ndarray,
    predictions: np.ndarray,
    groups: Mapping[str, pd.Series],
    settings: FairnessSettings,
    *,
    class_names: Sequence[str] = (),
) -> dict[str, Any]:
    """Every feature's MetricFrame and disparities, and the checks against the thresholds.

    ``predictions`` are class indices (classification) or values in the target's units
    (regression), row for row with ``targets`` and every series of ``groups``.
    """
    compared = compared_classes(class_names, settings.positive_class) if task == CLASSIFICATION else []
    features = {
        name: assess_feature(
            task,
            targets,
            predictions,
            series,
            class_names=class_names,
            compared=compared,
            min_group_size=settings.min_group_size,
        )
        for name, series in groups.items()
    }
    names = CLASSIFICATION_CHECKS if task == CLASSIFICATION else REGRESSION_CHECKS
    checks = [threshold_check(name, key, features, settings) for name, key in names.items()]
    checks.append(group_size_check(features, settings))
    return {
        "compared_classes": [class_names[index] for index in compared],
        "features": features,
        "checks": checks,
        "passed": not any(check["status"] == "fail" for check in checks),
    }
