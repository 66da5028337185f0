"""The Markdown of each measured block, and the model card's ``model-index``.

Each block is a sentence and a table built from the measurements. What has not been
measured yet says so and names the command that measures it; the generated documents
start with exactly these texts, so a re-render before any run changes nothing.
"""

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import figures
from ..core.metrics import metric_direction
from .measurements import (
    BenchmarkReport,
    DataSource,
    ExplanationsReport,
    ExportReport,
    FairnessReport,
    LoadTestReport,
    Measurements,
    MetricsReport,
)

NOT_MEASURED = "Not measured yet"
# The command that measures each block's numbers, named when they are missing.
COMMANDS = {
    "curves": "make evaluate",
    "metrics": "make evaluate",
    "fairness": "make fairness",
    "export": "make export",
    "latency": "make loadtest",
    "test-split": "make evaluate",
    "groups": "make fairness",
    "explanations": "make explain",
    "benchmark": "make benchmark",
}
# Where the owners write their waivers of readiness checks (see waivers.py).
WAIVERS_SOURCE = "`waivers` in `configs/readiness/default.yaml`"
# Where the release targets are set (the targets block names it).
TARGETS_SOURCE = "`configs/readiness/default.yaml`"
# The explanations block lists this many of the most important columns or tokens.
TOP_INPUTS = 10
METHOD_NAMES = {"shap": "SHAP", "integrated_gradients": "Integrated gradients (Captum)"}
# A confusion matrix with more classes than this is left to metrics.json.
MAX_CONFUSION_CLASSES = 10
# The evaluation stage's figures of the scored split, in the order the card shows them, with
# their captions (those of a classifier or of a regression exist, never both).
EVALUATION_FIGURES = {
    figures.CONFUSION_MATRIX: "Confusion matrix",
    figures.ROC_CURVE: "ROC curves",
    figures.PRECISION_RECALL: "Precision-recall curves",
    figures.RELIABILITY: "Reliability diagram (calibration)",
    figures.RESIDUALS: "Residuals",
    figures.PREDICTED_VS_ACTUAL: "Predicted against actual values",
}
LOAD_TEST_FIGURES = {
    figures.LATENCY_HISTOGRAM: "Request latency histogram",
    figures.THROUGHPUT: "Throughput and p99 latency against concurrency",
}


@dataclass(frozen=True)
class FigureLinks:
    """The run's figures as Markdown images, each linked relative to the document that shows it
    (so the link works in a local checkout and a rendered docs folder alike)."""

    files: Mapping[str, Path] = field(default_factory=dict)  # file name -> PNG of the run
    document_dir: Path = Path()

    def image(self, name: str, caption: str) -> str | None:
        """``![caption](relative path)`` of the figure ``name``, or ``None`` when it was not drawn."""
        path = self.files.get(name)
        if path is None:
            return None
        try:
            target = Path(os.path.relpath(path.resolve(), self.document_dir.resolve())).as_posix()
        except ValueError:  # another drive (Windows): no relative path exists
            target = path.resolve().as_uri()
        return f"![{caption}]({f'<{target}>' if ' ' in target else target})"

    def images(self, captions: Mapping[str, str]) -> list[str]:
        """The images of those of ``captions``' figures that exist, in that order."""
        return [image for name, caption in captions.items() if (image := self.image(name, caption))]


@dataclass(frozen=True)
class CardSettings:
    """How the model card names the model, its task and the built-in demo data."""

    model_name: str
    task_type: str  # a Hugging Face task id, e.g. tabular-classification
    demo_dataset: str
    latency_per: str  # what one latency figure times: a request, or one example's forward pass
    throughput_unit: str


@dataclass(frozen=True)
class ReleaseTargets:
    """The targets the readiness gate judges, as configured (``configs/readiness/``, fairness).

    The documents state them only in the regenerated ``targets`` block, so changing a number
    in the configs and running ``make model-card`` can never leave a document contradicting it.
    """

    target_metric: str
    target_metric_value: float
    latency_budget_ms: float
    throughput_rps: float
    deployment_target: str
    model_size_budget_mb: float | None
    fairness_max_difference: float | None = None  # None: the project has no fairness checks
    fairness_min_ratio: float | None = None

    @classmethod
    def from_configs(
        cls, readiness: Mapping[str, Any], fairness: Mapping[str, Any] | None
    ) -> "ReleaseTargets":
        """The targets from the readiness config and, when the project checks fairness, its config."""
        return cls(
            target_metric=readiness["target_metric"],
            target_metric_value=readiness["target_metric_value"],
            latency_budget_ms=readiness["latency_budget_ms"],
            throughput_rps=readiness["throughput_rps"],
            deployment_target=readiness["deployment_target"],
            model_size_budget_mb=readiness["model_size_budget_mb"],
            fairness_max_difference=fairness["max_difference"] if fairness else None,
            fairness_min_ratio=fairness["min_ratio"] if fairness else None,
        )


def not_measured(block: str) -> str:
    return f"{NOT_MEASURED} (run `{COMMANDS[block]}`, then `make model-card`)."


def number(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.4f}"


def milliseconds(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.3f}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table; a ``|`` in a cell (a class or group name) is escaped."""
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |" for line in lines)


def comparison(metric: str) -> str:
    return "≤" if metric_direction(metric) == "min" else "≥"


def dataset_name(source: DataSource | None, settings: CardSettings) -> tuple[str, str]:
    """``(name, type)`` of the data in the model-index: the demo data, or the owners' file."""
    if source is None:
        return "unknown (no config.yaml from a training run)", "unknown"
    if source.source == "demo":
        return settings.demo_dataset, "demo"
    return source.path or "the owners' data", "local"


def curves_block(metrics: MetricsReport | None, links: FigureLinks) -> str:
    """The run's per-epoch curves, drawn by ``make evaluate`` from ``history.json``."""
    image = links.image(figures.TRAINING_CURVES, "Training and validation curves") if metrics else None
    if image is None:
        return not_measured("curves")
    return "\n\n".join(
        [
            "Loss on the training and validation splits and the validation metric per epoch, with the "
            "release target and the best epoch (source: `history.json`, drawn by `make evaluate`).",
            image,
        ]
    )


def metrics_block(
    metrics: MetricsReport | None, source: DataSource | None, settings: CardSettings, links: FigureLinks
) -> str:
    if metrics is None:
        return not_measured("metrics")
    name, _ = dataset_name(source, settings)
    target = metrics.target or {}
    rows = []
    for metric, value in metrics.metrics.items():
        goal = ""
        if target.get("metric") == metric:
            goal = f"{comparison(metric)} {target['target']}: {'met' if target['met'] else 'NOT met'}"
        rows.append([metric, number(value), goal])
    parts = [
        f"{metrics.split.capitalize()} split of {name}: {metrics.num_examples} examples (source: `metrics.json`).",
        table(["metric", "value", "release target"], rows),
    ]
    matrix, names = metrics.confusion_matrix, metrics.class_names
    if matrix and len(names) == len(matrix) <= MAX_CONFUSION_CLASSES:
        rows = [[true, *map(str, counts)] for true, counts in zip(names, matrix, strict=True)]
        parts += [
            "Confusion matrix (rows: true class, columns: predicted class):",
            table(["true \\ predicted", *names], rows),
        ]
    return "\n\n".join([*parts, *links.images(EVALUATION_FIGURES)])


def fairness_block(fairness: FairnessReport | None, links: FigureLinks) -> str:
    if fairness is None:
        return not_measured("fairness")
    threshold = fairness.threshold
    parts = [
        f"Largest acceptable disparity between groups: {threshold} (source: `fairness.json`)."
        if threshold is not None
        else "No disparity threshold set (source: `fairness.json`)."
    ]
    for feature in fairness.features:
        columns = list(dict.fromkeys(key for values in feature.groups.values() for key in values))
        group_rows = [
            [group, *(format_group_value(column, values.get(column)) for column in columns)]
            for group, values in feature.groups.items()
        ]
        disparity_rows = [
            [name, number(value), within_limit(name, value, fairness)]
            for name, value in feature.disparities.items()
        ]
        parts += [f"**{feature.feature}**", table(["group", *columns], group_rows)]
        if disparity_rows:
            parts.append(table(["disparity", "value", "within its threshold"], disparity_rows))
        parts += links.images({figures.fairness_figure(feature.feature): f"Groups of {feature.feature}"})
    return "\n\n".join(parts)


def format_group_value(column: str, value: float | None) -> str:
    return str(int(value)) if column == "count" and value is not None else number(value)


def within_limit(name: str, value: float | None, fairness: FairnessReport) -> str:
    """Differences pass at or below ``threshold``; ratios (``*_ratio``) at or above ``min_ratio``."""
    if name.endswith("_ratio"):
        limit = fairness.min_ratio
        return "—" if value is None or limit is None else ("yes" if value >= limit else "NO")
    if value is None or fairness.threshold is None:
        return "—"
    return "yes" if value <= fairness.threshold else "NO"


def size_text(size_mb: float | None) -> str:
    """Three significant digits: small models are a few hundredths of a MB."""
    return "—" if size_mb is None else f"{size_mb:.3g}"


def parity_text(export: ExportReport) -> str:
    """The parity sentence; the difference is undefined when an output was NaN or inf, or of another shape."""
    difference = export.parity_max_abs_diff
    measured = (
        f"{difference:.3g}"
        if difference is not None
        else "undefined (an output was not a finite number, or of another shape)"
    )
    return (
        f"Parity: max |PyTorch - onnxruntime| = {measured} on {export.parity_examples} test examples "
        f"(tolerance {export.parity_tolerance:g}): {'passed' if export.parity_passed else 'FAILED'}."
    )


def export_block(export: ExportReport | None) -> str:
    if export is None:
        return not_measured("export")
    metric = export.target_metric
    sizes = {"pytorch": None, "fp32": export.fp32_mb, "int8": export.int8_mb}
    labels = {"pytorch": "PyTorch", "fp32": "ONNX fp32", "int8": "ONNX int8"}
    rows = [
        [
            labels[kind],
            size_text(sizes[kind]),
            number(values.get(metric)),
            milliseconds(export.latency_ms.get(kind)),
        ]
        for kind, values in export.metrics.items()
    ]
    budget = (
        f"Size budget: {export.size_budget_mb} MB: {'met' if export.size_budget_met else 'NOT met'}."
        if export.size_budget_mb is not None
        else "No size budget for this deployment target."
    )
    return "\n\n".join(
        [
            table(["model", "size (MB)", f"test {metric}", "batch-1 latency (ms, onnxruntime)"], rows),
            f"{parity_text(export)} {budget}"
            + (f" Quantization: {export.quantization}." if export.quantization else "")
            + " Source: `export.json`.",
        ]
    )


def latency_block(loadtest: LoadTestReport | None, links: FigureLinks) -> str:
    if loadtest is None:
        return not_measured("latency")
    budget, goal = loadtest.latency_budget_ms, loadtest.throughput_rps
    machine = f" on {loadtest.cpus} CPUs" if loadtest.cpus else ""
    within_budget = [level for level in loadtest.levels if level.p99_ms <= budget and level.errors == 0]
    if within_budget:
        best = max(within_budget, key=lambda level: level.requests_per_s)
        verdict = "met" if best.requests_per_s >= goal else "NOT met"
        summary = (
            f"Highest throughput with p99 ≤ {budget} ms and no errors: {best.requests_per_s:.1f} requests/s "
            f"({best.backend}, {best.mode}, {best.concurrency} clients); target {goal} requests/s: {verdict}."
        )
    else:
        summary = f"No level kept p99 within {budget} ms without errors: the latency budget is NOT met."
    rows = [
        [
            level.backend,
            level.mode,
            str(level.concurrency),
            f"{level.requests_per_s:.1f}",
            f"{level.p50_ms:.2f}",
            f"{level.p95_ms:.2f}",
            f"{level.p99_ms:.2f}",
            str(level.errors),
        ]
        for level in loadtest.levels
    ]
    return "\n\n".join(
        [
            f"Load test{machine} (source: `loadtest.json`). {summary}",
            table(["backend", "mode", "clients", "requests/s", "p50 ms", "p95 ms", "p99 ms", "errors"], rows),
            *links.images(LOAD_TEST_FIGURES),
        ]
    )


def explanations_block(explanations: ExplanationsReport | None) -> str:
    """What drives the predictions overall: the inputs (or image regions) with the largest attributions."""
    if explanations is None:
        return not_measured("explanations")
    method = METHOD_NAMES.get(explanations.method, explanations.method)
    parts = [
        f"{method} on {explanations.num_examples} {explanations.split} examples, explaining the "
        f"{explanations.explained_output}; baseline: {explanations.baseline}. Attributions add up to "
        f"the explained output within {explanations.completeness_max_error:.2g} "
        "(source: `explanations/explanations.json`, plots beside it). They show what this model "
        "relies on, not what causes the outcome in the world."
    ]
    if explanations.ranking is not None:
        rows = [[name, f"{value:.4g}"] for name, value in list(explanations.ranking.items())[:TOP_INPUTS]]
        parts.append(table(["input", explanations.measure], rows))
    elif explanations.grid is not None:
        size = len(explanations.grid)
        rows = [
            [str(row), *(f"{value:.2g}" for value in cells)] for row, cells in enumerate(explanations.grid)
        ]
        parts += [
            f"{explanations.measure.capitalize()} (row 0 is the top of the image):",
            table(["row \\ column", *map(str, range(size))], rows),
        ]
    return "\n\n".join(parts)


def benchmark_block(benchmark: BenchmarkReport | None) -> str:
    """In-process latency and throughput of the forward pass (projects without a server)."""
    if benchmark is None:
        return not_measured("benchmark")
    single = benchmark.single_example
    threads = f", {benchmark.threads} threads" if benchmark.threads else ""
    rows = [
        [
            str(int(batch["batch_size"])),
            f"{batch['p50_ms']:.3g}",
            f"{batch['p99_ms']:.3g}",
            f"{batch['examples_per_s']:.4g}",
        ]
        for batch in benchmark.batches
    ]
    return "\n\n".join(
        [
            f"Local benchmark on {benchmark.device}{threads} (source: `benchmark.json`): the forward "
            "pass on preprocessed test examples, in-process, without I/O or preprocessing. One example: "
            f"p50 {single['p50_ms']:.3g} ms, p95 {single['p95_ms']:.3g} ms, p99 {single['p99_ms']:.3g} ms.",
            table(["batch size", "p50 ms", "p99 ms", "examples/s"], rows),
        ]
    )


def test_split_block(metrics: MetricsReport | None) -> str:
    """The test split's size and, for classification, its examples per class."""
    if metrics is None:
        return not_measured("test-split")
    parts = [f"{metrics.split.capitalize()} split: {metrics.num_examples} examples (source: `metrics.json`)."]
    if metrics.confusion_matrix and len(metrics.class_names) == len(metrics.confusion_matrix):
        rows = [
            [name, str(sum(counts))]
            for name, counts in zip(metrics.class_names, metrics.confusion_matrix, strict=True)
        ]
        parts.append(table(["class", "examples"], rows))
    return "\n\n".join(parts)


def groups_block(fairness: FairnessReport | None) -> str:
    """How many test examples each group of each sensitive column has."""
    if fairness is None:
        return not_measured("groups")
    rows = [
        [feature.feature, group, format_group_value("count", values.get("count"))]
        for feature in fairness.features
        for group, values in feature.groups.items()
    ]
    return "\n\n".join(
        ["Test examples per group (source: `fairness.json`).", table(["column", "group", "examples"], rows)]
    )


def targets_block(targets: ReleaseTargets, settings: CardSettings) -> str:
    """The release targets as one table; the same block in the README and the model card."""
    size = "no budget" if targets.model_size_budget_mb is None else f"≤ {targets.model_size_budget_mb:g} MB"
    rows = [
        [
            f"{targets.target_metric} on the test split",
            f"{comparison(targets.target_metric)} {targets.target_metric_value:g}",
        ],
        [f"p99 latency per {settings.latency_per}", f"≤ {targets.latency_budget_ms:g} ms"],
        ["throughput", f"{targets.throughput_rps:g} {settings.throughput_unit}"],
        ["deployment target", targets.deployment_target],
        ["model size (the file that ships)", size],
    ]
    if targets.fairness_max_difference is not None:
        rows.append(["largest difference between groups", f"≤ {targets.fairness_max_difference:g}"])
        rows.append(["smallest ratio between groups", f"≥ {targets.fairness_min_ratio:g}"])
    return "\n\n".join(
        [
            f"The targets `make readiness` judges, from {TARGETS_SOURCE}; change them there, then "
            "`make model-card` rewrites this table.",
            table(["target", "value"], rows),
        ]
    )


def waivers_block(waivers: Mapping[str, str]) -> str:
    """The readiness checks the owners release without measuring, with their reasons.

    Not a measurement but the owners' decision, kept in the config the gate reads, so the
    card can never list other waivers than those the gate applies.
    """
    if not waivers:
        return f"No readiness check is waived ({WAIVERS_SOURCE})."
    return "\n\n".join(
        [
            f"The owners release this model without measuring these readiness checks ({WAIVERS_SOURCE}); "
            "`make readiness` reports each of them as waived while it has no measurement.",
            table(["check", "reason"], [[name, reason] for name, reason in waivers.items()]),
        ]
    )


def block_contents(
    measurements: Measurements,
    settings: CardSettings,
    targets: ReleaseTargets,
    waivers: Mapping[str, str] | None = None,
    document_dir: Path = Path(),
) -> dict[str, str]:
    """The content of every regenerated block, by name (see ``COMMANDS``): measurements, targets,
    waivers; figures are linked relative to ``document_dir``, the folder of the document."""
    links = FigureLinks(measurements.figures, document_dir)
    return {
        "targets": targets_block(targets, settings),
        "waivers": waivers_block(waivers or {}),
        "curves": curves_block(measurements.metrics, links),
        "metrics": metrics_block(measurements.metrics, measurements.data_source, settings, links),
        "fairness": fairness_block(measurements.fairness, links),
        "export": export_block(measurements.export),
        "latency": latency_block(measurements.loadtest, links),
        "test-split": test_split_block(measurements.metrics),
        "groups": groups_block(measurements.fairness),
        "explanations": explanations_block(measurements.explanations),
        "benchmark": benchmark_block(measurements.benchmark),
    }


def model_index(measurements: Measurements, settings: CardSettings) -> list[dict[str, Any]] | None:
    """The Hub's ``model-index``: the test metrics of ``metrics.json``; ``None`` before any run."""
    metrics = measurements.metrics
    if metrics is None:
        return None
    values = [
        {"type": name, "value": value, "name": f"{name} ({metrics.split})"}
        for name, value in metrics.metrics.items()
        if value is not None
    ]
    if not values:
        return None
    name, kind = dataset_name(measurements.data_source, settings)
    result = {
        "task": {"type": settings.task_type, "name": settings.task_type.replace("-", " ").capitalize()},
        "dataset": {"name": name, "type": kind, "split": metrics.split},
        "metrics": values,
    }
    return [{"name": settings.model_name, "results": [result]}]
