"""The measured checks of the gate: metric, model size, latency, parity, fairness,
explanations and documents, each read from its stage's report in the run's folder.
"""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..core.config import CONFIG_DIR, PROJECT_ROOT
from ..core.errors import ProjectError
from ..core.fingerprints import weights_sha256
from ..core.inference import weights_megabytes
from ..core.metrics import is_better
from ..core.placeholders import PLACEHOLDER, unfilled_entries
from .checklist import STALE, Check, Report, not_measured

BYTES_PER_MB = 1024 * 1024


def current_weights(checkpoint: Path) -> str | None:
    """The SHA-256 of the trained model's weights; None when there is no trained model."""
    return weights_sha256(checkpoint) if checkpoint.exists() else None


def measured_weights(data: Mapping[str, Any]) -> str | None:
    """The weights a report measured: ``weights_sha256``, or ``model.sha256`` (explanations.json)."""
    model = data.get("model")
    nested = model.get("sha256") if isinstance(model, Mapping) else None
    found = data.get("weights_sha256", nested)
    return str(found) if found else None


def staleness(path: Path, measured: str | None, current: str | None, command: str) -> str:
    """Why the report at ``path`` does not describe the current weights, with the fix; "" when it does."""
    if current is None:
        return f"{path} describes a model, but there is no trained model: run `make train`, then `{command}`"
    if measured is None:
        return (
            f"{path} does not name the weights it measured (written by an older version of the "
            f"project): run `{command}` again"
        )
    if measured != current:
        return (
            f"{path} measured other weights ({measured[:12]}) than the current model's "
            f"({current[:12]}): run `{command}` again"
        )
    return ""


def read_report(path: Path | None, current: str | None, command: str) -> Report | None:
    """The report at ``path`` with its staleness; None when it has not been written (or is not generated)."""
    if path is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ProjectError(f"{path} is not valid JSON ({error}); run `{command}` again.") from None
    return Report(path, data, staleness(path, measured_weights(data), current, command))


def stale_check(name: str, target: str, report: Report) -> Check:
    return Check(name, "fail", target, STALE, report.stale)


def shipped_model(export: Report | None) -> str | None:
    """Which exported model ships (``int8`` or ``fp32``) per a current export report; None without one."""
    if export is None or export.stale:
        return None
    return str(export.data["size_budget"]["checked"])


def metric_check(
    metrics: Report | None, target_metric: str, target_value: float, export: Report | None = None
) -> Check:
    """The release metric on the test split against its target.

    It judges the model that ships: the INT8 model when the (current) export quantized it,
    read from ``export.json``; otherwise the trained model, read from ``metrics.json``,
    which must name the current weights (a copied or retrained checkpoint makes it stale).
    """
    target = f"{target_metric} {'<=' if target_metric in ('rmse', 'mae') else '>='} {target_value}"
    if metrics is None:
        return Check(
            "test metric", "fail", target, "no metrics.json", "run `make evaluate` (after `make train`)"
        )
    if metrics.stale:
        return stale_check("test metric", target, metrics)
    measured = metrics.data.get("metrics", {}).get(target_metric)
    if measured is None:
        return Check(
            "test metric", "fail", target, f"{target_metric} not in metrics.json", "re-run `make evaluate`"
        )
    fix = "improve the model or data, or revisit the target with the product owners"
    text = f"{measured:.4f}"
    if export is not None and shipped_model(export) == "int8":
        shipped = export.data["metrics"].get("int8", {}).get(target_metric)
        if shipped is None:
            return Check(
                "test metric",
                "fail",
                target,
                f"{target_metric} undefined for the INT8 model (PyTorch {measured:.4f})",
                "see export.json: the INT8 model's predictions cannot be scored",
            )
        text = f"{shipped:.4f} (ONNX INT8, the model that ships; PyTorch {measured:.4f})"
        fix = "the INT8 model misses the target: ship fp32 (`make export ARGS=quantize=false`) or improve the model"
        measured = shipped
    passed = measured == target_value or is_better(float(measured), float(target_value), target_metric)
    return Check("test metric", "pass" if passed else "fail", target, text, "" if passed else fix)


def model_size_check(
    checkpoint: Path, budget_mb: float | None, deployment_target: str, export: Report | None = None
) -> Check:
    """The size of the deployed model against the deployment target's budget.

    Measured on the exported file that ships when the export has run, else on the trained
    model's weights. Without a budget (null) there is nothing to judge the size by.
    """
    name = "model size"
    budget = f"<= {budget_mb:g} MB" if budget_mb is not None else "a size budget"
    target = f"{budget} ({deployment_target})"
    if export is not None:
        if export.stale:
            return stale_check(name, target, export)
        deployed = export.data["files"][export.data["size_budget"]["checked"]]
        size_mb = deployed["bytes"] / BYTES_PER_MB
        measured = f"{size_mb:.2f} MB ({deployed['files'][0]})"
    elif not checkpoint.exists():
        return Check(name, "fail", target, "no trained model", "run `make train`")
    else:
        size_mb = weights_megabytes(checkpoint)
        measured = f"{size_mb:.2f} MB (weights)"
    if budget_mb is None:
        how = (
            "set readiness.model_size_budget_mb (configs/readiness/default.yaml) to what the platform allows"
        )
        return not_measured(name, target, how, f"{measured}, no budget set")
    passed = size_mb <= budget_mb
    fix = "" if passed else "shrink the model (configs/model/) or quantize it, or revisit the budget"
    return Check(name, "pass" if passed else "fail", target, measured, fix)


def export_parity_check(export_enabled: bool, export: Report | None) -> Check:
    """PyTorch and onnxruntime outputs of the exported model agree within the export's tolerance.

    Judged again here rather than trusted: it passes only when every output of both runtimes
    was a finite number and the largest difference is a number within the tolerance.
    """
    name = "export parity"
    if not export_enabled:
        return Check(name, "not applicable", "no ONNX export in this project", "—")
    if export is None:
        return not_measured(
            name, "max |torch - onnxruntime| within the export tolerance", "run `make export`"
        )
    parity = export.data["parity"]
    target = f"finite outputs, max |torch - onnxruntime| <= {parity['tolerance']:g}"
    if export.stale:
        return stale_check(name, target, export)
    examples = f" on {parity['num_examples']} test examples"
    non_finite = {runtime: count for runtime, count in (parity.get("non_finite") or {}).items() if count}
    if non_finite:
        counts = ", ".join(f"{runtime} {count}" for runtime, count in non_finite.items())
        return Check(
            name,
            "fail",
            target,
            f"outputs not finite (NaN or inf): {counts}{examples}",
            "the model computes NaN or inf: see the export log, fix the model or its training, export again",
        )
    difference = parity["max_abs_diff"]
    # NaN or infinite differences are written as null in JSON.
    measured = (
        "undefined (outputs of another shape, or not finite)" if difference is None else f"{difference:.2g}"
    )
    if parity["passed"] and difference is not None and difference <= parity["tolerance"]:
        return Check(name, "pass", target, measured + examples)
    return Check(
        name,
        "fail",
        target,
        measured + examples,
        "the exported graph differs from the model: see the export log",
    )


def documents_check(documents: list[str]) -> Check:
    """Model card and datasheet: every entry only people can write has been written.

    An entry is open while it holds the generated marker or a placeholder in its place
    (``TBD``, ``N/A``, ``-``, ...; see ``documentation/placeholders.py``). The fix names each
    open entry by its section (``docs/model_card.md: Intended use: Out-of-scope uses``), so
    the owners know what to write without searching for it.
    """
    unfilled = {}
    for document in documents:
        path = PROJECT_ROOT / document
        if not path.is_file():
            unfilled[document] = ["the whole document (missing)"]
        elif entries := unfilled_entries(path.read_text(encoding="utf-8")):
            unfilled[document] = entries
    if not unfilled:
        return Check("documentation", "pass", "no unfilled entries", "all filled")
    counts = ", ".join(f"{name} ({len(entries)})" for name, entries in unfilled.items())
    listing = "".join(f"\n      {name}: {entry}" for name, entries in unfilled.items() for entry in entries)
    return Check(
        "documentation",
        "fail",
        "no unfilled entries",
        f"unfilled: {counts}",
        f"write the entries that still say '{PLACEHOLDER}' or hold a placeholder such as TBD:{listing}",
    )


def speed_not_measured(latency_target: str, throughput_target: str, how: str) -> list[Check]:
    """The p99 latency and throughput lines while the report that measures both is missing."""
    return [
        not_measured("p99 latency", latency_target, how),
        not_measured("throughput", throughput_target, how),
    ]


def speed_stale(latency_target: str, throughput_target: str, report: Report) -> list[Check]:
    """The p99 latency and throughput lines when their report measured other weights."""
    return [
        stale_check("p99 latency", latency_target, report),
        stale_check("throughput", throughput_target, report),
    ]


def fairness_checks(report: Report | None, requested: bool = True) -> list[Check]:
    """One line per fairness threshold, as judged by the fairness stage in ``fairness.json``.

    ``requested`` is False when the project was generated without fairness checks. The
    thresholds live in configs/fairness/.
    """
    if not requested:
        return [Check("fairness", "not requested", "fairness_checks=no when generated", "—")]
    target = "within configs/fairness/ thresholds"
    if report is None:
        return [not_measured("fairness", target, "run `make fairness`")]
    if report.stale:
        return [stale_check("fairness", target, report)]
    return [
        Check(
            f"fairness: {check['name']}",
            check["status"],
            check["target"],
            check["measured"],
            check["how_to_fix"],
        )
        for check in report.data["checks"]
    ]


def explanations_check(report: Report | None, tolerance: float | None, requested: bool = True) -> Check:
    """The explain stage explained the current model, and its attributions add up.

    Completeness: for every explained example, the attributions must add up to the explained
    output (SHAP: minus the base value; integrated gradients: minus the baseline's) within
    ``tolerance`` (``completeness_tolerance`` of ``configs/explain.yaml``). Attributions that
    do not add up do not describe what the model computed. ``requested`` is False when the
    project was generated with explainability=none.
    """
    name = "explanations"
    if not requested:
        return Check(name, "not requested", "explainability=none when generated", "—")
    target = f"explain the current model, completeness error <= {tolerance:g}"
    if report is None:
        return not_measured(name, target, "run `make explain`")
    if report.stale:
        return stale_check(name, target, report)
    data = report.data
    error = data["completeness"]["max_abs_error"]
    measured = f"{data['method']} on {data['num_examples']} {data['split']} examples, completeness error " + (
        f"{error:.1e}" if error is not None else "undefined (not a finite number)"
    )
    if error is not None and tolerance is not None and error <= tolerance:
        return Check(name, "pass", target, measured)
    return Check(
        name,
        "fail",
        target,
        measured,
        "the attributions do not add up to the model's outputs: run `make explain` with more steps "
        "(n_steps, max_steps), or look for outputs that are not smooth in the inputs",
    )


def explanations_tolerance(config_dir: Path = CONFIG_DIR) -> float:
    """``explain.completeness_tolerance`` of ``configs/explain.yaml``: how far attributions may miss."""
    path = config_dir / "explain.yaml"
    settings = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    value = ((settings or {}).get("explain") or {}).get("completeness_tolerance")
    if not isinstance(value, (int, float)) or value < 0:
        raise ProjectError(
            f"{path} has no explain.completeness_tolerance (got {value!r}): set the largest acceptable "
            "completeness error of an explanation, e.g. `completeness_tolerance: 0.01` under `explain:`."
        )
    return float(value)


def best_level_within(report: dict[str, Any], latency_budget_ms: float) -> dict[str, Any] | None:
    """The highest-throughput level of the load test's judged server whose p99 is within budget.

    The judged server is the one the load test names in ``targets`` (backend and batching
    mode); every concurrency level it measured is considered against this budget, so a
    stricter ``readiness.latency_budget_ms`` than the load test's is judged correctly.
    """
    targets = report["targets"]
    levels = report["backends"][targets["backend"]][targets["mode"]]["levels"]
    within = [level for level in levels if level["errors"] == 0 and level["p99_ms"] <= latency_budget_ms]
    return max(within, key=lambda level: level["requests_per_s"], default=None)


def serving_checks(report: Report | None, latency_budget_ms: float, throughput_rps: float) -> list[Check]:
    """p99 latency and throughput from the server's load test (the run's ``loadtest.json``, ``paths.loadtest``).

    Latency passes when some load level keeps p99 within the budget with no errors;
    throughput passes when the best such level serves at least ``throughput_rps``. A load
    test of other weights than the current model's fails both (run it again).
    """
    latency_target = f"<= {latency_budget_ms:g} ms p99"
    throughput_target = f">= {throughput_rps:g} requests/s within the latency budget"
    if report is None:
        return speed_not_measured(latency_target, throughput_target, "run `make loadtest`")
    if report.stale:
        return speed_stale(latency_target, throughput_target, report)
    data = report.data
    best = best_level_within(data, latency_budget_ms)
    server = f"{data['targets']['backend']}, {data['targets']['mode']}"
    if best is None:
        fastest = min(
            level["p99_ms"]
            for level in data["backends"][data["targets"]["backend"]][data["targets"]["mode"]]["levels"]
        )
        fix = "make the model smaller or faster (export, quantize, serve.backend=onnxruntime) or revisit the budget"
        return [
            Check("p99 latency", "fail", latency_target, f"best p99 {fastest:.1f} ms ({server})", fix),
            Check("throughput", "fail", throughput_target, "no level within the latency budget", fix),
        ]
    measured = f"p99 {best['p99_ms']:.1f} ms at concurrency {best['concurrency']} ({server})"
    rate = f"{best['requests_per_s']:.1f} requests/s at p99 {best['p99_ms']:.1f} ms ({server})"
    enough = best["requests_per_s"] >= throughput_rps
    return [
        Check("p99 latency", "pass", latency_target, measured),
        Check(
            "throughput",
            "pass" if enough else "fail",
            throughput_target,
            rate,
            "" if enough else "add workers or replicas, enable batching, or serve a faster backend",
        ),
    ]


def benchmark_checks(report: Report | None, latency_budget_ms: float, throughput_rps: float) -> list[Check]:
    """p99 latency and throughput from the local benchmark (the run's ``benchmark.json``, ``paths.benchmark``).

    For projects without a server (see ``benchmark.py``): latency passes when the p99 of
    single-example forward passes is within the budget; throughput passes when the best
    examples/s among the batch sizes whose per-batch p99 is within the budget reaches
    ``throughput_rps``. It times the forward pass only, so it is a lower bound of a request's
    cost, and says so. A benchmark of other weights than the current model's fails both.
    """
    latency_target = f"<= {latency_budget_ms:g} ms p99"
    throughput_target = f">= {throughput_rps:g} examples/s within the latency budget"
    if report is None:
        return speed_not_measured(latency_target, throughput_target, "run `make benchmark`")
    if report.stale:
        return speed_stale(latency_target, throughput_target, report)
    data = report.data
    source = f"{data['environment']['device']} (local benchmark, forward pass only)"
    fix = "make the model smaller or faster (fewer layers, export, quantize) or revisit the budget"
    p99 = data["single_example"]["p99_ms"]
    latency_ok = p99 <= latency_budget_ms
    latency = Check(
        "p99 latency",
        "pass" if latency_ok else "fail",
        latency_target,
        f"p99 {p99:.3f} ms single example on {source}",
        "" if latency_ok else fix,
    )
    within = [row for row in data["batches"] if row["p99_ms"] <= latency_budget_ms]
    best = max(within, key=lambda row: row["examples_per_s"], default=None)
    if best is None:
        return [
            latency,
            Check("throughput", "fail", throughput_target, "no batch size within the latency budget", fix),
        ]
    enough = best["examples_per_s"] >= throughput_rps
    rate = (
        f"{best['examples_per_s']:.1f} examples/s at batch size {best['batch_size']}, "
        f"p99 {best['p99_ms']:.3f} ms on {source}"
    )
    throughput_fix = "batch more examples per pass, use more threads or a GPU, or make the model faster"
    return [
        latency,
        Check(
            "throughput",
            "pass" if enough else "fail",
            throughput_target,
            rate,
            "" if enough else throughput_fix,
        ),
    ]


def latency_checks(settings: dict[str, Any], current: str | None) -> list[Check]:
    """Latency and throughput from the load test (with a server) or the local benchmark (without)."""
    readiness, paths = settings["readiness"], settings["paths"]
    budget_ms, rps = float(readiness["latency_budget_ms"]), float(readiness["throughput_rps"])
    if paths.get("benchmark"):
        benchmark = read_report(Path(paths["benchmark"]), current, "make benchmark")
        return benchmark_checks(benchmark, budget_ms, rps)
    if not paths.get("loadtest"):
        return [
            Check("p99 latency", "not applicable", f"<= {budget_ms:g} ms p99", "no server (serving=no)"),
            Check("throughput", "not applicable", f">= {rps:g} requests/s", "no server (serving=no)"),
        ]
    loadtest = read_report(Path(paths["loadtest"]), current, "make loadtest")
    return serving_checks(loadtest, budget_ms, rps)
