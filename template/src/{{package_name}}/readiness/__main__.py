"""Readiness gate: the release checklist, run against the artifacts of one training run.

Run ``python -m <package>.readiness`` (or ``make readiness``) after ``make train`` and
``make evaluate``: it checks the chosen run (``paths.run``: the latest by default,
``make readiness RUN=<name>`` for another), whose reports the release stages wrote into its
folder. Each requirement of the project becomes a check with a status:

* ``pass`` / ``fail``: measured and compared with its target;
* ``not measured``: the check applies to this project but nothing measured it: its report
  is missing (latency needs the serving load test, or in a project without a server the
  local benchmark; parity needs the ONNX export, fairness the fairness report, explanations
  the explain stage, the tests line the result file ``make test-all`` writes), or it has no
  target (a model-size budget of null). It blocks the release like a failure: what was not
  measured was not shown to work;
* ``waived``: not measured, and the owners release without it on purpose: ``waivers`` in
  ``configs/readiness/`` names the check and why (``waivers.py``). The reason is printed,
  written to ``readiness.json`` and listed in the model card. A waiver never covers a
  measured failure or a stale report;
* ``not applicable`` / ``not requested``: the project has no such stage (no ONNX export,
  no fairness checks or explanations when generated).

Every report names the weights it measured (``weights_sha256``, or ``model.sha256`` in
``explanations.json``; see ``fingerprints.weights_sha256``). A report of other weights than
the current model's is stale: its check fails, naming the report and the command that
measures the current model. The tests line is tied to the code instead: ``make test-all``
records a hash of ``src/`` and ``tests/`` (``fingerprints.code_sha256``) in its result file.

Every check can fail: the test metric below its target, the model over its deployment
target's size budget (every target has one), latency or throughput off target, parity off
tolerance or any output that is not a finite number, a fairness threshold, explanations
whose attributions do not add up within ``explain.completeness_tolerance`` (``configs/explain.yaml``),
an owners' entry of the documents still open or holding a placeholder such as ``TBD``, and
failing tests.

Once ``make export`` has run, export parity and the model size are read from its report
(``export.json``). When the export wrote an INT8 model, that is the model that ships: the
size is that of the INT8 file and the test metric is the INT8 model's (the PyTorch metric
is shown beside it).

The gate prints a table, writes ``readiness.json`` and exits 1 unless every check passes,
is waived or does not apply, so CI can block a release on it. Targets come from
``configs/readiness/`` (the answers given when the project was generated) and can be made
stricter on the command line.
"""

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import hydra
import yaml
from omegaconf import DictConfig

from ..core.config import CONFIG_DIR, PROJECT_ROOT, to_plain
from ..core.errors import ProjectError, exit_on_user_error
from ..core.fingerprints import code_sha256, weights_sha256
from ..core.inference import weights_megabytes
from ..core.metrics import is_better
from ..core.placeholders import PLACEHOLDER, unfilled_entries
from ..core.reporting import write_json
from ..core.run_lookup import register_run_dir_resolver
from ..core.waivers import WHERE as WAIVERS_WHERE
from ..core.waivers import read_waivers

BYTES_PER_MB = 1024 * 1024
# The statuses that let a release through; any other (fail, not measured) blocks it.
RELEASABLE = ("pass", "waived", "not applicable", "not requested")
STALE = "stale report (other weights)"
# The properties ``make test-all`` records in its JUnit XML (see tests/conftest.py): the code
# it tested, and whether the whole suite ran (the fast tier, ``make test``, is only a part).
CODE_PROPERTY = "code_sha256"
CODE_FOLDERS = ("src", "tests")
TIER_PROPERTY = "tests_tier"
FULL_TIER, PARTIAL_TIER = "full", "partial"


@dataclass(frozen=True)
class Check:
    """One line of the checklist."""

    name: str
    status: str  # pass, fail, not measured, waived, not applicable, not requested
    target: str
    measured: str
    how_to_fix: str = ""
    waiver: str = ""  # the owners' reason, when the check is waived


@dataclass(frozen=True)
class Report:
    """A stage's JSON report, and why it does not describe the current weights ("" when it does)."""

    path: Path
    data: dict[str, Any]
    stale: str = ""


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


def not_measured(name: str, target: str, how: str, measured: str = "—") -> Check:
    """A check that applies but has no measurement: it blocks the release unless waived."""
    return Check(name, "not measured", target, measured, f"{how}, or waive '{name}' ({WAIVERS_WHERE})")


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


def recorded_property(report_path: Path, name: str) -> str | None:
    """A property the project's conftest recorded in the JUnit XML (``code_sha256``, ``tests_tier``)."""
    found = ElementTree.parse(report_path).getroot().find(f".//property[@name='{name}']")
    return found.get("value") if found is not None else None


def tested_code(report_path: Path) -> str | None:
    """The code hash ``make test-all`` recorded in its JUnit XML (a ``code_sha256`` property)."""
    return recorded_property(report_path, CODE_PROPERTY)


def project_tests_check(report_path: Path, code_folders: list[Path]) -> Check:
    """The project's whole test suite passed on the current code, as recorded by ``make test-all``
    (JUnit XML).

    ``make test-all`` records a hash of the code and the tier (``tests/conftest.py``); a result
    of other code fails, naming the command to run again, and so does a result of part of the
    suite (the fast tier of ``make test-all``, or chosen tests), since the end-to-end tests did not
    run. An empty run counts as a failure, since nothing was shown to work.
    """
    name = "tests"
    target = "the project's tests pass on the current code (make test-all)"
    if not report_path.is_file():
        return not_measured(name, target, "run `make test-all`")
    suites = ElementTree.parse(report_path).getroot().iter("testsuite")
    counts = {key: 0 for key in ("tests", "failures", "errors", "skipped")}
    for suite in suites:
        for key in counts:
            counts[key] += int(suite.get(key, 0))
    measured = ", ".join(f"{value} {key}" for key, value in counts.items())
    if counts["tests"] == 0:
        return Check(
            name, "fail", target, "no tests ran", "run `make test-all` with the project's tests in place"
        )
    recorded = tested_code(report_path)
    if recorded is None:
        return Check(
            name,
            "fail",
            target,
            "result of unknown code",
            f"{report_path} does not name the code it tested (written without the project's "
            "tests/conftest.py, or by an older version): run `make test-all` again",
        )
    if recorded != code_sha256(code_folders):
        folders = " and ".join(f"{folder.name}/" for folder in code_folders)
        return Check(
            name,
            "fail",
            target,
            "stale result (other code)",
            f"{report_path} tested other code than the current {folders}: run `make test-all` again",
        )
    tier = recorded_property(report_path, TIER_PROPERTY)
    if tier != FULL_TIER:
        return Check(
            name,
            "fail",
            target,
            f"{measured}, {tier or 'unrecorded'} tier",
            f"{report_path} is the result of part of the suite (`make test` runs the fast tier only): "
            "run `make test-all`",
        )
    if counts["failures"] or counts["errors"]:
        return Check(name, "fail", target, measured, "fix the failing tests (`make test-all` lists them)")
    return Check(name, "pass", target, measured)


def optional_path(value: Any) -> Path | None:
    return Path(value) if value else None


def run_checks(settings: dict[str, Any]) -> list[Check]:
    """Every check of the gate, before waivers are applied."""
    readiness, paths = settings["readiness"], settings["paths"]
    checkpoint = Path(paths["checkpoint"])
    current = current_weights(checkpoint)
    # A stage this project does not have has no path in configs/paths/: not applicable.
    export_path = optional_path(paths.get("export_report"))
    export = read_report(export_path, current, "make export")
    fairness_path = optional_path(paths.get("fairness"))
    explanations_path = optional_path(paths.get("explanations"))
    return [
        metric_check(
            read_report(Path(paths["metrics"]), current, "make evaluate"),
            readiness["target_metric"],
            readiness["target_metric_value"],
            export,
        ),
        model_size_check(
            checkpoint, readiness.get("model_size_budget_mb"), readiness["deployment_target"], export
        ),
        *latency_checks(settings, current),
        export_parity_check(export_path is not None, export),
        *fairness_checks(read_report(fairness_path, current, "make fairness"), fairness_path is not None),
        explanations_check(
            read_report(explanations_path, current, "make explain"),
            explanations_tolerance() if explanations_path is not None else None,
            explanations_path is not None,
        ),
        documents_check(list(readiness["documents"])),
        project_tests_check(Path(paths["test_results"]), [PROJECT_ROOT / folder for folder in CODE_FOLDERS]),
    ]


def apply_waivers(checks: list[Check], waivers: Mapping[str, str]) -> tuple[list[Check], list[str]]:
    """The checks with the owners' waivers applied, and the waivers that had nothing to waive.

    A waiver turns a ``not measured`` check into ``waived``; a check that was measured (or
    whose report is stale) keeps its status, and its waiver is reported as unused so the
    owners can remove it. Waiving a check that does not apply to the project is refused.
    """
    by_name = {check.name: check for check in checks}
    for name in waivers:
        check = by_name.get(name)
        if check is not None and check.status in ("not applicable", "not requested"):
            raise ProjectError(
                f"{WAIVERS_WHERE}: '{name}' is waived, but it does not apply to this project "
                f"({check.target}); remove the waiver."
            )
    applied = [
        replace(check, status="waived", waiver=waivers[check.name])
        if check.status == "not measured" and check.name in waivers
        else check
        for check in checks
    ]
    unused = [name for name in waivers if name not in by_name or by_name[name].status != "not measured"]
    return applied, unused


def blocking(checks: list[Check]) -> list[Check]:
    """The checks that stop the release: failed, or not measured and not waived."""
    return [check for check in checks if check.status not in RELEASABLE]


def format_table(checks: list[Check], unused_waivers: Sequence[str] = ()) -> str:
    rows = [("check", "status", "target", "measured")] + [
        (c.name, c.status, c.target, c.measured) for c in checks
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    fixes = [f"  - {c.name}: {c.how_to_fix}" for c in blocking(checks) if c.how_to_fix]
    waived = [f"  - {c.name}: {c.waiver}" for c in checks if c.status == "waived"]
    unused = [
        f"  - {name}: it has a measurement, so the waiver does not apply; remove it once it is not needed"
        for name in unused_waivers
    ]
    return "\n".join(
        lines
        + (["to fix:", *fixes] if fixes else [])
        + ([f"waived by the owners ({WAIVERS_WHERE}):", *waived] if waived else [])
        + (["unused waivers:", *unused] if unused else [])
    )


def run_readiness(cfg: DictConfig) -> tuple[bool, list[Check]]:
    """Run every check, apply the waivers, write ``readiness.json``; returns (ready, checks)."""
    settings = to_plain(cfg)
    waivers = read_waivers(settings["readiness"].get("waivers"))
    checks, unused = apply_waivers(run_checks(settings), waivers)
    blockers = blocking(checks)
    ready = not blockers
    output = settings["paths"]["readiness"]
    write_json(
        Path(output),
        {
            "ready": ready,
            "weights_sha256": current_weights(Path(settings["paths"]["checkpoint"])),
            "blocking": [check.name for check in blockers],
            "checks": [asdict(check) for check in checks],
            "waivers": waivers,
            "unused_waivers": unused,
        },
    )
    print(format_table(checks, unused))
    if ready:
        print(f"\nready for release: yes (details in {output})")
    else:
        reasons = ", ".join(f"{check.name} ({check.status})" for check in blockers)
        print(f"\nready for release: NO, blocked by {reasons} (details in {output})")
    return ready, checks


# configs/paths/ find the run this stage works on through ${run_dir:...}.
register_run_dir_resolver()


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="readiness")
def main(cfg: DictConfig) -> None:
    def gate() -> None:
        ready, _ = run_readiness(cfg)
        if not ready:
            sys.exit(1)

    exit_on_user_error(gate)


if __name__ == "__main__":
    main()
