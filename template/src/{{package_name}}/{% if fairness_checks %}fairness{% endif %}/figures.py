"""The fairness stage's figures: one per sensitive column, its groups' metrics side by side.

Bars show each group as the model was trained and, when ``ThresholdOptimizer`` ran, after
mitigation, so the effect of the per-group thresholds is visible at a glance. The rates the
checks compare carry the line a group must stay under for its gap to pass: the lowest group
plus ``max_difference`` for the rates (demographic parity, equalized odds), the lowest
group's MAE divided by ``min_ratio`` for regression. Groups too small to judge are hatched.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from ..core.figures import FIRST, SECOND, fairness_figure, panels, target_line
from .checks import CLASSIFICATION

RATES = ("selection_rate", "true_positive_rate", "false_positive_rate")
LABELS = {
    "accuracy": "accuracy (0-1)",
    "selection_rate": "selection rate (0-1)",
    "true_positive_rate": "true positive rate (0-1)",
    "false_positive_rate": "false positive rate (0-1)",
    "mae": "MAE (target units)",
    "mean_error": "mean error, predicted - actual (target units)",
}
BAR_WIDTH = 0.38
TRAINED, MITIGATED = "as trained", "after ThresholdOptimizer"
BAR_COLORS = {TRAINED: FIRST, MITIGATED: SECOND}


def heights(values: Sequence[float | None]) -> list[float]:
    """Bar heights; an undefined metric (null in the report) draws no bar."""
    return [np.nan if value is None else float(value) for value in values]


def panel_metrics(report: Mapping[str, Any], feature: Mapping[str, Any]) -> list[str]:
    """The metrics to draw: accuracy and the compared rates (of the class with the largest
    equalized-odds gap, for a multiclass model), or the group errors of a regression."""
    if report["task"] != CLASSIFICATION:
        return ["mae", "mean_error"]
    names = report["class_names"]
    worst = feature.get("worst_class", {})
    shown = worst.get("equalized_odds_difference") or worst.get("demographic_parity_difference") or names[0]
    suffix = "" if len(names) == 2 else f"[{shown}]"
    return ["accuracy", *(f"{rate}{suffix}" for rate in RATES)]


def limit(metric: str, values: Sequence[float], thresholds: Mapping[str, Any]) -> tuple[float, str] | None:
    """The value no group may exceed for this metric's gap to pass, with its legend label."""
    if not values:
        return None
    if metric.startswith(RATES):
        return min(values) + thresholds["max_difference"], (
            f"lowest group + {thresholds['max_difference']:g} (largest acceptable difference)"
        )
    if metric == "mae" and thresholds.get("min_ratio"):
        return min(values) / thresholds["min_ratio"], (
            f"lowest group MAE ÷ {thresholds['min_ratio']:g} (smallest acceptable ratio)"
        )
    return None


def draw_panel(
    axes: Axes,
    metric: str,
    before: Mapping[str, Mapping[str, Any]],
    after: Mapping[str, Mapping[str, Any]] | None,
    too_small: set[str],
    thresholds: Mapping[str, Any],
) -> None:
    """One metric: a bar per group as trained, beside its bar after mitigation."""
    groups = list(before)
    positions = np.arange(len(groups))
    offset = BAR_WIDTH / 2 if after else 0.0
    values = [before[group].get(metric) for group in groups]
    bars = [axes.bar(positions - offset, heights(values), BAR_WIDTH, color=FIRST, label=TRAINED)]
    if after:
        mitigated = [after.get(group, {}).get(metric) for group in groups]
        bars.append(
            axes.bar(positions + offset, heights(mitigated), BAR_WIDTH, color=SECOND, label=MITIGATED)
        )
    for container in bars:
        for bar, group in zip(container, groups, strict=True):
            bar.set_hatch("//" if group in too_small else "")
    judged = [
        value
        for group, value in zip(groups, values, strict=True)
        if value is not None and group not in too_small
    ]
    if (line := limit(metric, judged, thresholds)) is not None:
        target_line(axes, *line)
    counts = [before[group].get("count") for group in groups]
    axes.set_xticks(positions, [f"{group}\nn={count}" for group, count in zip(groups, counts, strict=True)])
    base = metric.split("[", 1)[0]
    axes.set(title=metric.replace("_", " "), ylabel=LABELS.get(base, metric))
    if base != "mean_error":
        axes.set_ylim(bottom=0)


def column_figure(report: Mapping[str, Any], column: str, folder: Path) -> Path:
    """The figure of one sensitive column."""
    feature = report["features"][column]
    mitigation = report.get("mitigation", {})
    after = (
        mitigation.get("features", {}).get(column, {}).get("groups")
        if mitigation.get("status") == "applied"
        else None
    )
    metrics = panel_metrics(report, feature)
    title = f"Groups of {column}, {report['split']} split" + (
        " (hatched: too few examples to judge)" if feature.get("too_small") else ""
    )
    path = folder / fairness_figure(column)
    with panels(path, title, count=len(metrics)) as axes:
        for panel, metric in zip(axes, metrics, strict=True):
            draw_panel(
                panel,
                metric,
                feature["groups"],
                after,
                set(feature.get("too_small", [])),
                report["thresholds"],
            )
        legend = {
            label: handle
            for panel in axes
            for handle, label in zip(*panel.get_legend_handles_labels(), strict=True)
        }
        # Plain swatches for the bars: a hatched first group must not hatch the legend.
        handles = [
            Patch(color=BAR_COLORS[label]) if label in BAR_COLORS else handle
            for label, handle in legend.items()
        ]
        axes[0].figure.legend(handles, legend.keys(), loc="outside lower center", ncols=len(legend))
    return path


def write_fairness_figures(report: Mapping[str, Any], folder: Path) -> list[Path]:
    """A figure per sensitive column of ``report`` (``fairness.json``) in ``folder``."""
    return [
        column_figure(report, column, folder)
        for column in report["sensitive_columns"]
        if column in report["features"]
    ]
