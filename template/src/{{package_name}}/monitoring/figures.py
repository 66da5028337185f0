"""The drift check's figures: each monitored feature of the batch against the training inputs.

One PNG per feature in ``<paths.figures_dir>/drift/``, replaced by every check (the folder
holds the last check's, as ``drift.json`` does). Numeric features are histograms of the
reference profile's sample of training values and of the batch on shared bins; categorical
ones the share of each category. Both are drawn as shares of their own examples, so a batch
of any size compares with the reference, and the title carries the test, the PSI and the
verdict of the rule.
"""

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes

from ..core.drift.detector import DriftReport, FeatureDrift
from ..core.drift.profile import CategoricalReference, FeatureReference, NumericReference, ReferenceProfile
from ..core.figures import DRIFT_FOLDER, FIRST, SECOND, no_data, panels

BINS = 30
BAR_WIDTH = 0.4
MAX_CATEGORIES = 30  # the most frequent in training; a longer axis is unreadable


def figure_name(feature: str) -> str:
    """A file name for any feature name (letters, digits, ``_``, ``-`` and ``.`` kept)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", feature) + ".png"


def numeric_histogram(axes: Axes, reference: NumericReference, values: np.ndarray) -> None:
    """Histograms of the training sample and the batch on the same bins, as shares of each."""
    sample, values = np.asarray(reference.sample, dtype=np.float64), np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    edges = np.histogram_bin_edges(np.concatenate([sample, values]), bins=BINS)
    drawn = (
        (sample, FIRST, f"training inputs (sample of {len(sample)})"),
        (values, SECOND, f"batch ({len(values)})"),
    )
    for data, color, label in drawn:
        if len(data):
            weights = np.full(len(data), 1 / len(data))
            axes.hist(
                data, bins=edges, weights=weights, histtype="stepfilled", alpha=0.45, color=color, label=label
            )


def categorical_bars(axes: Axes, reference: CategoricalReference, values: np.ndarray) -> None:
    """The share of each category in training and in the batch; unseen categories included."""
    categories, counts = np.unique(np.asarray(values).astype(str), return_counts=True)
    batch = dict(zip(categories.tolist(), counts.tolist(), strict=True))
    names = sorted(set(reference.counts) | set(batch), key=lambda name: -reference.counts.get(name, 0))[
        :MAX_CATEGORIES
    ]
    positions = np.arange(len(names))
    total_reference, total_batch = max(sum(reference.counts.values()), 1), max(sum(batch.values()), 1)
    axes.bar(
        positions - BAR_WIDTH / 2,
        [reference.counts.get(name, 0) / total_reference for name in names],
        BAR_WIDTH,
        color=FIRST,
        label=f"training inputs ({total_reference})",
    )
    axes.bar(
        positions + BAR_WIDTH / 2,
        [batch.get(name, 0) / total_batch for name in names],
        BAR_WIDTH,
        color=SECOND,
        label=f"batch ({sum(batch.values())})",
    )
    axes.set_xticks(
        positions, names, rotation=45 if len(names) > 6 else 0, ha="right" if len(names) > 6 else "center"
    )


def verdict(result: FeatureDrift | None, report: DriftReport) -> str:
    """The title's summary: the test, the PSI and whether the rule flags the feature."""
    if result is None:
        return f"not judged: {report.examples} examples, fewer than {report.settings.min_examples}"
    flagged = "DRIFT" if result.flagged else "no drift"
    return (
        f"{flagged}: PSI {result.psi:.3f} (flags at ≥ {report.settings.psi_threshold:g}), {result.test} "
        f"p = {result.p_value:.2g} (flags below {report.corrected_alpha:.2g})"
    )


def feature_figure(
    name: str, reference: FeatureReference, values: np.ndarray, report: DriftReport, path: Path
) -> Path:
    """One feature's figure: training against the batch, and the rule's verdict."""
    result = next((item for item in report.features if item.feature == name), None)
    with panels(path, f"{name}: {verdict(result, report)}") as (axes,):
        if len(values) == 0:
            no_data(axes, "the batch has no examples")
            return path
        if isinstance(reference, NumericReference):
            numeric_histogram(axes, reference, values)
            axes.set_xlabel(f"{name} (the model input's own units)")
        else:
            categorical_bars(axes, reference, values)
            axes.set_xlabel(f"{name} (category)")
        axes.set_ylabel("share of examples (0-1)")
        axes.legend(loc="best")
    return path


def write_drift_figures(
    profile: ReferenceProfile, features: Mapping[str, np.ndarray], report: DriftReport, figures_dir: Path
) -> list[Path]:
    """A figure per monitored feature in ``figures_dir/drift/``, replacing the previous check's."""
    folder = figures_dir / DRIFT_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return [
        feature_figure(name, reference, features[name], report, folder / figure_name(name))
        for name, reference in profile.features.items()
    ]
