"""PNG figures of the stages' reports: one look and one size for all of them, set up here once.

Each stage draws its own figures from its own data into the run's ``paths.figures_dir``
(evaluation: training curves and the test split; fairness: groups before and after
mitigation; load test: latency and throughput; drift check: each feature against the
training inputs). The model card links the ones that exist (``documents/``) and the
tracker logs them with the rest of the run folder (``core/tracking.py``), so the file names
are named here, once.

Every figure is ``SIZE_PIXELS`` (a fixed size in inches at a fixed DPI, no tight bounding
box), so a figure reads the same in every card and a test can check the file. Files only:
the Agg backend needs no display, in CI and on servers alike.
"""

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display needed, safe in CI and servers

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .atomic import atomic_writer

DPI = 100
SIZE_INCHES = (9.0, 5.0)
SIZE_PIXELS = (900, 500)  # width, height: SIZE_INCHES at DPI
# What each line means, the same in every figure: the model, a second series, the target.
FIRST, SECOND = "#1f77b4", "#ff7f0e"
TARGET_STYLE = {"color": "#d62728", "linestyle": "--", "linewidth": 1.5}
REFERENCE_STYLE = {"color": "grey", "linestyle": ":", "linewidth": 1.0}

# The files in paths.figures_dir: the stages write them, the model card links them.
TRAINING_CURVES = "training_curves.png"
CONFUSION_MATRIX = "confusion_matrix.png"
ROC_CURVE = "roc_curve.png"
PRECISION_RECALL = "precision_recall.png"
RELIABILITY = "reliability.png"
RESIDUALS = "residuals.png"
PREDICTED_VS_ACTUAL = "predicted_vs_actual.png"
LATENCY_HISTOGRAM = "latency_histogram.png"
THROUGHPUT = "throughput_vs_concurrency.png"
DRIFT_FOLDER = "drift"  # one <feature>.png per monitored feature


def fairness_figure(column: str) -> str:
    """The file of one sensitive column's group bars (column names are identifiers)."""
    return f"fairness_{column}.png"


@contextmanager
def panels(path: Path, title: str, count: int = 1) -> Iterator[list[Axes]]:
    """``count`` side-by-side axes under ``title``; written to ``path`` when the block ends.

    The PNG replaces ``path`` atomically, so a killed stage leaves the previous figure, never
    half a file; the figure is closed either way (pyplot keeps every open figure alive).
    """
    figure, axes = plt.subplots(1, count, figsize=SIZE_INCHES, dpi=DPI, squeeze=False, layout="constrained")
    try:
        figure.suptitle(title)
        yield list(axes[0])
        save(figure, path)
    finally:
        plt.close(figure)


def save(figure: Figure, path: Path) -> Path:
    """Write ``figure`` as a PNG at ``DPI`` to ``path``, atomically; returns ``path``."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    with atomic_writer(path) as handle:
        handle.write(buffer.getvalue())
    return path


def target_line(axes: Axes, value: float, label: str, *, vertical: bool = False) -> None:
    """The release target (or budget) as a dashed red line, named in the legend."""
    if vertical:
        axes.axvline(value, label=label, **TARGET_STYLE)
    else:
        axes.axhline(value, label=label, **TARGET_STYLE)


def no_data(axes: Axes, reason: str) -> None:
    """An empty panel that says why it is empty, instead of a blank plot."""
    axes.text(0.5, 0.5, reason, ha="center", va="center", wrap=True, transform=axes.transAxes)
    axes.set_xticks([])
    axes.set_yticks([])
