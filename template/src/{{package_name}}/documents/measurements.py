"""What the documents report, read from the artifacts the other stages write.

One adapter per artifact file. Each returns ``None`` when its file does not exist (that
stage has not run yet: the documents then say "Not measured yet") and raises a
``ProjectError`` naming the file and the field when the file exists without the fields
below. These fields are the whole contract between the stages and the documents:

* ``metrics.json`` (``make evaluate``): ``split``, ``num_examples``,
  ``metrics`` (name -> value or null); optional ``target`` (``metric``, ``target``, ``met``),
  ``class_names`` and ``confusion_matrix``.
* ``config.yaml`` (``make train``): ``data.source`` (``demo`` or ``file``), ``data.path``.
* ``fairness.json`` (``make fairness``): ``threshold``; ``features`` (sensitive column ->
  ``groups`` (group -> metric -> value, with ``count``) and ``disparities`` (name -> value)).
* ``export.json`` (``make export``): ``files.fp32.mb``, optional ``files.int8.mb``; ``latency``
  (batch-1 median per model) and ``quantization.reason`` (why INT8 ships or not), when present;
  ``parity`` (``max_abs_diff``, null when an output was not finite, ``tolerance``, ``passed``,
  ``num_examples``); ``metrics``
  (``target_metric``, and ``pytorch``, ``fp32``, optional ``int8``: metric -> value);
  ``size_budget`` (``budget_mb`` or null, ``met``).
* ``explanations/explanations.json`` (``make explain``): ``method``, ``split``,
  ``num_examples``, ``explained_output``, ``baseline``, ``completeness.max_abs_error``,
  ``global_importance`` (``measure`` and ``columns`` or ``tokens`` (name -> value) or ``grid``).
* ``benchmark.json`` (``make benchmark``, projects without a server): ``environment.device``,
  optional ``environment.threads``; ``single_example`` (``p50_ms``, ``p95_ms``, ``p99_ms``);
  ``batches`` (a list of ``batch_size``, ``p50_ms``, ``p99_ms``, ``examples_per_s``).
* ``loadtest.json`` (``make loadtest``): ``settings`` (``latency_budget_ms``,
  ``throughput_rps``); ``machine.cpus``; ``backends`` (backend -> mode -> ``levels``: a list
  of ``concurrency``, ``requests_per_s``, ``p50_ms``, ``p95_ms``, ``p99_ms``, ``errors``).
* ``figures/`` (``paths.figures_dir``: evaluate, fairness, loadtest): the PNG files of
  ``core/figures.py``; the documents link those that exist.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import ProjectError

MISSING = object()


def _field(data: Any, dotted: str, source: Path, default: Any = MISSING) -> Any:
    """``data[a][b]...`` for ``dotted == "a.b"``; a missing field is an error unless ``default`` is given."""
    value = data
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            if default is not MISSING:
                return default
            raise ProjectError(
                f"{source} has no '{dotted}' field; it was written by another version of the project. "
                "Re-run the stage that writes it, then `make model-card`."
            )
        value = value[key]
    return value


def _load_json(path: Path | None) -> Any | None:
    if path is None or not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ProjectError(f"{path} is not valid JSON ({error}); re-run the stage that writes it.") from None


@dataclass(frozen=True)
class MetricsReport:
    """Test-split metrics of the trained model (``metrics.json``)."""

    split: str
    num_examples: int
    metrics: dict[str, float | None]
    target: dict[str, Any] | None  # metric, target, met
    class_names: list[str]
    confusion_matrix: list[list[int]] | None


def read_metrics(path: Path | None) -> MetricsReport | None:
    data = _load_json(path)
    if data is None:
        return None
    return MetricsReport(
        split=str(_field(data, "split", path)),
        num_examples=int(_field(data, "num_examples", path)),
        metrics=dict(_field(data, "metrics", path)),
        target=_field(data, "target", path, default=None),
        class_names=list(_field(data, "class_names", path, default=[])),
        confusion_matrix=_field(data, "confusion_matrix", path, default=None),
    )


@dataclass(frozen=True)
class DataSource:
    """Which data the model was trained and tested on (the training run's ``config.yaml``)."""

    source: str  # demo or file
    path: str | None


def read_data_source(path: Path | None) -> DataSource | None:
    if path is None or not path.is_file():
        return None
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    data_path = _field(config, "data.path", path, default=None)
    return DataSource(str(_field(config, "data.source", path)), str(data_path) if data_path else None)


@dataclass(frozen=True)
class FeatureFairness:
    """Per-group metrics and disparities for one sensitive column."""

    feature: str
    groups: dict[str, dict[str, float | None]]
    disparities: dict[str, float | None]


@dataclass(frozen=True)
class FairnessReport:
    """``fairness.json``: the largest acceptable disparity and one table per sensitive column."""

    threshold: float | None
    features: list[FeatureFairness]
    # Ratios (``*_ratio``) pass at or above this; differences at or below ``threshold``.
    min_ratio: float | None = None


def read_fairness(path: Path | None) -> FairnessReport | None:
    data = _load_json(path)
    if data is None:
        return None
    features = _field(data, "features", path)
    return FairnessReport(
        threshold=_field(data, "threshold", path),
        min_ratio=(data.get("thresholds") or {}).get("min_ratio"),
        features=[
            FeatureFairness(
                feature=str(name),
                groups=dict(_field(entry, "groups", path)),
                disparities=dict(_field(entry, "disparities", path)),
            )
            for name, entry in features.items()
        ],
    )


@dataclass(frozen=True)
class ExportReport:
    """``export.json``: sizes, parity and test metrics of the ONNX models."""

    fp32_mb: float
    int8_mb: float | None
    parity_max_abs_diff: float | None  # None: an output was NaN or inf, or of another shape
    parity_tolerance: float
    parity_passed: bool
    parity_examples: int
    target_metric: str
    metrics: dict[str, dict[str, float | None]]  # pytorch, fp32 and int8 -> metric -> value
    size_budget_mb: float | None
    size_budget_met: bool
    latency_ms: dict[str, float]  # fp32 (and int8 when it was measured) -> batch-1 median
    quantization: str | None  # why INT8 ships or not (None: not quantized)


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def read_export(path: Path | None) -> ExportReport | None:
    data = _load_json(path)
    if data is None:
        return None
    metrics = {kind: dict(_field(data, f"metrics.{kind}", path)) for kind in ("pytorch", "fp32")}
    int8_metrics = _field(data, "metrics.int8", path, default=None)
    if int8_metrics is not None:
        metrics["int8"] = dict(int8_metrics)
    return ExportReport(
        fp32_mb=float(_field(data, "files.fp32.mb", path)),
        int8_mb=_field(data, "files.int8.mb", path, default=None),
        parity_max_abs_diff=_optional_float(_field(data, "parity.max_abs_diff", path)),
        parity_tolerance=float(_field(data, "parity.tolerance", path)),
        parity_passed=bool(_field(data, "parity.passed", path)),
        parity_examples=int(_field(data, "parity.num_examples", path)),
        target_metric=str(_field(data, "metrics.target_metric", path)),
        metrics=metrics,
        size_budget_mb=_field(data, "size_budget.budget_mb", path),
        size_budget_met=bool(_field(data, "size_budget.met", path)),
        latency_ms={
            kind: float(entry["batch_1"]["median_ms"]) for kind, entry in data.get("latency", {}).items()
        },
        quantization=_field(data, "quantization.reason", path, default=None),
    )


@dataclass(frozen=True)
class LoadLevel:
    """One closed-loop level of the load test: a backend, a batching mode, a number of clients."""

    backend: str
    mode: str
    concurrency: int
    requests_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int


@dataclass(frozen=True)
class LoadTestReport:
    """``loadtest.json``: the targets it ran against, the machine and every level measured."""

    latency_budget_ms: float
    throughput_rps: float
    cpus: int | None
    levels: list[LoadLevel]


def read_loadtest(path: Path | None) -> LoadTestReport | None:
    data = _load_json(path)
    if data is None:
        return None
    levels = [
        LoadLevel(
            backend=str(backend),
            mode=str(mode),
            concurrency=int(_field(level, "concurrency", path)),
            requests_per_s=float(_field(level, "requests_per_s", path)),
            p50_ms=float(_field(level, "p50_ms", path)),
            p95_ms=float(_field(level, "p95_ms", path)),
            p99_ms=float(_field(level, "p99_ms", path)),
            errors=int(_field(level, "errors", path)),
        )
        for backend, modes in _field(data, "backends", path).items()
        for mode, runs in modes.items()
        if isinstance(runs, dict) and "levels" in runs  # beside the modes: raw_forward ceilings
        for level in runs["levels"]
    ]
    return LoadTestReport(
        latency_budget_ms=float(_field(data, "settings.latency_budget_ms", path)),
        throughput_rps=float(_field(data, "settings.throughput_rps", path)),
        cpus=_field(data, "machine.cpus", path, default=None),
        levels=levels,
    )


@dataclass(frozen=True)
class BenchmarkReport:
    """``benchmark.json``: in-process latency and throughput of the model's forward pass."""

    device: str
    threads: int | None
    single_example: dict[str, float]  # p50_ms, p95_ms, p99_ms, ...
    batches: list[dict[str, float]]  # batch_size, p50_ms, p99_ms, examples_per_s


def read_benchmark(path: Path | None) -> BenchmarkReport | None:
    data = _load_json(path) if path is not None else None
    if data is None:
        return None
    return BenchmarkReport(
        device=str(_field(data, "environment.device", path)),
        threads=_field(data, "environment.threads", path, default=None),
        single_example=dict(_field(data, "single_example", path)),
        batches=list(_field(data, "batches", path)),
    )


@dataclass(frozen=True)
class ExplanationsReport:
    """``explanations.json``: how predictions were explained and what drives them overall."""

    method: str
    split: str
    num_examples: int
    explained_output: str
    baseline: str
    completeness_max_error: float
    measure: str
    ranking: dict[str, float] | None  # columns (tables) or tokens (text), largest first
    grid: list[list[float]] | None  # images: mean |attribution| per cell


def read_explanations(path: Path | None) -> ExplanationsReport | None:
    data = _load_json(path) if path is not None else None
    if data is None:
        return None
    importance = _field(data, "global_importance", path)
    ranking = importance.get("columns", importance.get("tokens"))
    return ExplanationsReport(
        method=str(_field(data, "method", path)),
        split=str(_field(data, "split", path)),
        num_examples=int(_field(data, "num_examples", path)),
        explained_output=str(_field(data, "explained_output", path)),
        baseline=str(_field(data, "baseline", path)),
        completeness_max_error=float(_field(data, "completeness.max_abs_error", path)),
        measure=str(_field(importance, "measure", path)),
        ranking=dict(ranking) if ranking is not None else None,
        grid=importance.get("grid"),
    )


@dataclass(frozen=True)
class ArtifactFiles:
    """Where each stage wrote what the documents report: the chosen run's files (configs/paths/).

    ``None`` for a stage the project does not have (its path is not in configs/paths/), and
    for everything before the first training run.
    """

    metrics: Path | None
    training_config: Path | None
    fairness: Path | None
    export: Path | None
    loadtest: Path | None
    explanations: Path | None
    benchmark: Path | None
    figures: Path | None = None  # the folder of the run's figures

    @classmethod
    def from_paths(cls, paths: Mapping[str, Any]) -> "ArtifactFiles":
        def optional(name: str) -> Path | None:
            return Path(paths[name]) if paths.get(name) else None

        return cls(
            metrics=optional("metrics"),
            training_config=optional("resolved_config"),
            fairness=optional("fairness"),
            export=optional("export_report"),
            loadtest=optional("loadtest"),
            explanations=optional("explanations"),
            benchmark=optional("benchmark"),
            figures=optional("figures_dir"),
        )


@dataclass(frozen=True)
class Measurements:
    """Everything measured so far; ``None`` for what has not been measured yet."""

    metrics: MetricsReport | None
    data_source: DataSource | None
    fairness: FairnessReport | None
    export: ExportReport | None
    loadtest: LoadTestReport | None
    explanations: ExplanationsReport | None = None
    benchmark: BenchmarkReport | None = None
    figures: dict[str, Path] = field(default_factory=dict)  # file name -> PNG of the run


def read_figures(folder: Path | None) -> dict[str, Path]:
    """The run's figures by file name (``core/figures.py`` names them); none before any run."""
    if folder is None or not folder.is_dir():
        return {}
    return {path.name: path for path in sorted(folder.glob("*.png")) if path.is_file()}


def read_measurements(files: ArtifactFiles) -> Measurements:
    return Measurements(
        metrics=read_metrics(files.metrics),
        data_source=read_data_source(files.training_config),
        fairness=read_fairness(files.fairness),
        export=read_export(files.export),
        loadtest=read_loadtest(files.loadtest),
        explanations=read_explanations(files.explanations),
        benchmark=read_benchmark(files.benchmark),
        figures=read_figures(files.figures),
    )
