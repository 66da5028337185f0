"""Readiness gate: the release checklist, run against the artifacts of the last training.

Run ``python -m <package>.readiness`` (or ``make readiness``) after ``make train``. Each
requirement of the project becomes a check with a status:

* ``pass`` / ``fail``: measured and compared with its target;
* ``not measured``: the artifact that would measure it does not exist yet, or describes an
  older model (latency needs the serving load test, or in a project without a server the
  local benchmark; parity needs the ONNX export, fairness the fairness report,
  explanations the explain stage, the tests line the result file ``make test`` writes);
  these are listed so nobody mistakes them for passing, but they do not fail the gate;
* ``not applicable``: no target is set (e.g. no model-size budget for a cloud service), or
  the project has no such stage (no ONNX export).

Once ``make export`` has run, export parity and the model size are read from its report
(``export.json``): the size is that of the file that would be deployed (the INT8 model when
quantization is on). An export older than the checkpoint fails both checks: the files it
describes are not those of the model being released.

The gate prints a table, writes ``readiness.json`` and exits 1 when a measured check fails,
so CI can block a release on it. Targets come from ``configs/readiness/`` (the answers given
when the project was generated) and can be made stricter on the command line.
"""

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import hydra
from omegaconf import DictConfig

from .config import CONFIG_DIR, PROJECT_ROOT, to_plain
from .documentation.placeholders import PLACEHOLDER, unfilled_entries
from .errors import exit_on_user_error
from .evaluation.metrics import is_better
from .evaluation.reporting import write_json
from .inference import weights_megabytes

BYTES_PER_MB = 1024 * 1024
# (measured, how to fix) of the checks read from an export older than the checkpoint.
STALE_EXPORT = ("export older than the checkpoint", "run `make export` again")


@dataclass(frozen=True)
class Check:
    """One line of the checklist."""

    name: str
    status: str  # pass, fail, not measured, not applicable, not requested
    target: str
    measured: str
    how_to_fix: str = ""


def metric_check(metrics_path: Path, target_metric: str, target_value: float) -> Check:
    """The release metric on the test split against its target."""
    target = f"{target_metric} {'<=' if target_metric in ('rmse', 'mae') else '>='} {target_value}"
    if not metrics_path.is_file():
        return Check(
            "test metric", "fail", target, "no metrics.json", "run `make train` (or `make evaluate`)"
        )
    measured = json.loads(metrics_path.read_text(encoding="utf-8"))["metrics"].get(target_metric)
    if measured is None:
        return Check(
            "test metric", "fail", target, f"{target_metric} not in metrics.json", "re-run `make evaluate`"
        )
    passed = measured == target_value or is_better(float(measured), float(target_value), target_metric)
    fix = "" if passed else "improve the model or data, or revisit the target with the product owners"
    return Check("test metric", "pass" if passed else "fail", target, f"{measured:.4f}", fix)


def predates_model(report_path: Path, checkpoint: Path) -> bool:
    """Whether ``report_path`` is older than the trained model (a file, or a model folder's files)."""
    model_files = [checkpoint] if checkpoint.is_file() else [p for p in checkpoint.glob("*") if p.is_file()]
    return bool(model_files) and report_path.stat().st_mtime < max(p.stat().st_mtime for p in model_files)


def stale_report(report_path: Path, command: str) -> str:
    """How to fix a report older than the model: re-run the stage that writes it."""
    return f"{report_path} predates the trained model: run `{command}`"


def read_export_report(report_path: Path | None, checkpoint: Path) -> dict[str, Any] | None:
    """The export report, or ``None`` when the export has not run (or is not generated).

    A report older than the model (a checkpoint file, or a model folder) is returned with
    ``"stale": True``.
    """
    if report_path is None or not report_path.is_file():
        return None
    report = json.loads(report_path.read_text(encoding="utf-8"))
    report["stale"] = predates_model(report_path, checkpoint)
    return report


def model_size_check(
    checkpoint: Path, budget_mb: float | None, deployment_target: str, export: dict[str, Any] | None = None
) -> Check:
    """The size of the deployed model against the deployment target's budget.

    Measured on the exported file when the export has run, else on the trained model's weights.
    """
    target = f"<= {budget_mb} MB ({deployment_target})" if budget_mb else f"no budget ({deployment_target})"
    if export is not None:
        if export["stale"]:
            return Check("model size", "fail" if budget_mb else "not applicable", target, *STALE_EXPORT)
        deployed = export["files"][export["size_budget"]["checked"]]
        size_mb = deployed["bytes"] / BYTES_PER_MB
        measured = f"{size_mb:.2f} MB ({deployed['files'][0]})"
    elif not checkpoint.exists():
        return Check("model size", "fail", target, "no trained model", "run `make train`")
    else:
        size_mb = weights_megabytes(checkpoint)
        measured = f"{size_mb:.2f} MB (weights)"
    if not budget_mb:
        return Check("model size", "not applicable", target, measured)
    passed = size_mb <= budget_mb
    fix = "" if passed else "shrink the model (configs/model/) or quantize it"
    return Check("model size", "pass" if passed else "fail", target, measured, fix)


def export_parity_check(export_enabled: bool, export: dict[str, Any] | None) -> Check:
    """PyTorch and onnxruntime outputs of the exported model agree within the export's tolerance."""
    name = "export parity"
    if not export_enabled:
        return Check(name, "not applicable", "no ONNX export in this project", "—")
    if export is None:
        return not_measured(
            name,
            "max |torch - onnxruntime| within the export tolerance",
            "needs the ONNX export (`make export`)",
        )
    parity = export["parity"]
    target = f"max |torch - onnxruntime| <= {parity['tolerance']:g}"
    if export["stale"]:
        return Check(name, "fail", target, *STALE_EXPORT)
    difference = parity["max_abs_diff"]
    # An infinite difference (outputs of another shape) is stored as null in JSON.
    measured = f"{difference:.2g}" if difference is not None else "output shapes differ"
    measured += f" on {parity['num_examples']} test examples"
    if parity["passed"]:
        return Check(name, "pass", target, measured)
    return Check(
        name, "fail", target, measured, "the exported graph differs from the model: see the export log"
    )


def documents_check(documents: list[str]) -> Check:
    """Model card and datasheet: every entry only people can write has been written.

    The fix names each open entry by its section (``docs/model_card.md: Intended use:
    Out-of-scope uses``), so the owners know what to write without searching for it.
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
        f"fill the '{PLACEHOLDER}' entries:{listing}",
    )


def not_measured(name: str, target: str, how: str) -> Check:
    return Check(name, "not measured", target, "—", how)


def speed_not_measured(latency_target: str, throughput_target: str, how: str) -> list[Check]:
    """The p99 latency and throughput lines while the report that measures both is missing or stale."""
    return [
        not_measured("p99 latency", latency_target, how),
        not_measured("throughput", throughput_target, how),
    ]


def fairness_checks(report_path: Path | None, checkpoint: Path) -> list[Check]:
    """One line per fairness threshold, as judged by the fairness stage in ``fairness.json``.

    ``report_path`` is None when the project was generated without fairness checks. The
    thresholds live in configs/fairness/; a report older than the checkpoint (a file, or a
    model folder) describes another model, so it counts as not measured.
    """
    if report_path is None:
        return [Check("fairness", "not requested", "fairness_checks=no when generated", "—")]
    target = "within configs/fairness/ thresholds"
    if not report_path.is_file():
        return [not_measured("fairness", target, "run `make fairness`")]
    if predates_model(report_path, checkpoint):
        return [not_measured("fairness", target, stale_report(report_path, "make fairness"))]
    report = json.loads(report_path.read_text(encoding="utf-8"))
    return [
        Check(
            f"fairness: {check['name']}",
            check["status"],
            check["target"],
            check["measured"],
            check["how_to_fix"],
        )
        for check in report["checks"]
    ]


def explanations_check(report_path: Path | None, checkpoint: Path) -> Check:
    """Whether the explain stage has explained the current model (``explanations/explanations.json``).

    ``report_path`` is None when the project was generated with explainability=none.
    """
    if report_path is None:
        return Check("explanations", "not requested", "explainability=none when generated", "—")
    target = "explanations of the current model"
    if not report_path.is_file():
        return not_measured("explanations", target, "run `make explain`")
    if predates_model(report_path, checkpoint):
        return not_measured("explanations", target, stale_report(report_path, "make explain"))
    report = json.loads(report_path.read_text(encoding="utf-8"))
    measured = (
        f"{report['method']} on {report['num_examples']} {report['split']} examples, "
        f"completeness error {report['completeness']['max_abs_error']:.1e}"
    )
    return Check("explanations", "pass", target, measured)


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


def serving_checks(report_path: Path | None, latency_budget_ms: float, throughput_rps: float) -> list[Check]:
    """p99 latency and throughput from the server's load test (``artifacts/loadtest.json``).

    Latency passes when some load level keeps p99 within the budget with no errors;
    throughput passes when the best such level serves at least ``throughput_rps``.
    ``report_path`` is None when the project was generated without a server.
    """
    latency_target = f"<= {latency_budget_ms:g} ms p99"
    throughput_target = f">= {throughput_rps:g} requests/s within the latency budget"
    if report_path is None:
        return [
            Check("p99 latency", "not applicable", latency_target, "no server (serving=no)"),
            Check("throughput", "not applicable", throughput_target, "no server (serving=no)"),
        ]
    if not report_path.is_file():
        return speed_not_measured(latency_target, throughput_target, "run `make loadtest`")
    report = json.loads(report_path.read_text(encoding="utf-8"))
    best = best_level_within(report, latency_budget_ms)
    server = f"{report['targets']['backend']}, {report['targets']['mode']}"
    if best is None:
        fastest = min(
            level["p99_ms"]
            for level in report["backends"][report["targets"]["backend"]][report["targets"]["mode"]]["levels"]
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


def benchmark_checks(
    report_path: Path, checkpoint: Path, latency_budget_ms: float, throughput_rps: float
) -> list[Check]:
    """p99 latency and throughput from the local benchmark (``artifacts/benchmark.json``).

    For projects without a server (see ``benchmark.py``): latency passes when the p99 of
    single-example forward passes is within the budget; throughput passes when the best
    examples/s among the batch sizes whose per-batch p99 is within the budget reaches
    ``throughput_rps``. It times the forward pass only, so it is a lower bound of a request's
    cost, and says so. A benchmark older than the model measured another model: not measured.
    """
    latency_target = f"<= {latency_budget_ms:g} ms p99"
    throughput_target = f">= {throughput_rps:g} examples/s within the latency budget"
    if not report_path.is_file():
        return speed_not_measured(latency_target, throughput_target, "run `make benchmark`")
    if predates_model(report_path, checkpoint):
        how = stale_report(report_path, "make benchmark") + " again"
        return speed_not_measured(latency_target, throughput_target, how)
    report = json.loads(report_path.read_text(encoding="utf-8"))
    source = f"{report['environment']['device']} (local benchmark, forward pass only)"
    fix = "make the model smaller or faster (fewer layers, export, quantize) or revisit the budget"
    p99 = report["single_example"]["p99_ms"]
    latency_ok = p99 <= latency_budget_ms
    latency = Check(
        "p99 latency",
        "pass" if latency_ok else "fail",
        latency_target,
        f"p99 {p99:.3f} ms single example on {source}",
        "" if latency_ok else fix,
    )
    within = [row for row in report["batches"] if row["p99_ms"] <= latency_budget_ms]
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


def latency_checks(settings: dict[str, Any], checkpoint: Path) -> list[Check]:
    """Latency and throughput from the load test (with a server) or the local benchmark (without)."""
    readiness = settings["readiness"]
    budget_ms, rps = float(readiness["latency_budget_ms"]), float(readiness["throughput_rps"])
    if settings.get("benchmark_report"):
        return benchmark_checks(Path(settings["benchmark_report"]), checkpoint, budget_ms, rps)
    loadtest_report = settings.get("loadtest_report")
    return serving_checks(Path(loadtest_report) if loadtest_report else None, budget_ms, rps)


def newest_change(folders: list[Path]) -> float:
    """When any Python file under ``folders`` last changed (0 when there are none)."""
    times = [path.stat().st_mtime for folder in folders for path in folder.rglob("*.py")]
    return max(times, default=0.0)


def project_tests_check(report_path: Path, code_folders: list[Path]) -> Check:
    """The project's test suite passed, as recorded by ``make test`` (JUnit XML).

    A report older than the newest source or test file describes other code, so it counts
    as not measured; an empty run counts as a failure, since nothing was shown to work.
    """
    target = "the project's tests pass (make test)"
    if not report_path.is_file():
        return not_measured("tests", target, "run `make test`")
    if report_path.stat().st_mtime < newest_change(code_folders):
        return not_measured(
            "tests", target, f"{report_path} predates the latest code change: run `make test`"
        )
    suites = ElementTree.parse(report_path).getroot().iter("testsuite")
    counts = {key: 0 for key in ("tests", "failures", "errors", "skipped")}
    for suite in suites:
        for key in counts:
            counts[key] += int(suite.get(key, 0))
    measured = ", ".join(f"{value} {key}" for key, value in counts.items())
    if counts["tests"] == 0:
        return Check(
            "tests", "fail", target, "no tests ran", "run `make test` with the project's tests in place"
        )
    if counts["failures"] or counts["errors"]:
        return Check("tests", "fail", target, measured, "fix the failing tests (`make test` lists them)")
    return Check("tests", "pass", target, measured)


def run_checks(settings: dict[str, Any]) -> list[Check]:
    readiness = settings["readiness"]
    checkpoint = Path(settings["checkpoint"])
    export_report = settings.get("export_report")
    export = read_export_report(Path(export_report) if export_report else None, checkpoint)
    return [
        metric_check(Path(settings["metrics"]), readiness["target_metric"], readiness["target_metric_value"]),
        model_size_check(
            checkpoint, readiness.get("model_size_budget_mb"), readiness["deployment_target"], export
        ),
        *latency_checks(settings, checkpoint),
        export_parity_check(export_report is not None, export),
        *fairness_checks(
            Path(settings["fairness_report"]) if settings.get("fairness_report") else None,
            Path(settings["checkpoint"]),
        ),
        explanations_check(
            Path(settings["explanations_report"]) if settings.get("explanations_report") else None,
            checkpoint,
        ),
        documents_check(list(settings["documents"])),
        project_tests_check(Path(settings["tests_report"]), [PROJECT_ROOT / "src", PROJECT_ROOT / "tests"]),
    ]


def format_table(checks: list[Check]) -> str:
    rows = [("check", "status", "target", "measured")] + [
        (c.name, c.status, c.target, c.measured) for c in checks
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    fixes = [f"  - {c.name}: {c.how_to_fix}" for c in checks if c.status == "fail" and c.how_to_fix]
    return "\n".join(lines + (["to fix:", *fixes] if fixes else []))


def run_readiness(cfg: DictConfig) -> tuple[bool, list[Check]]:
    """Run every check, write ``readiness.json``; returns (ready, checks)."""
    settings = to_plain(cfg)
    checks = run_checks(settings)
    ready = not any(check.status == "fail" for check in checks)
    write_json(Path(settings["output"]), {"ready": ready, "checks": [asdict(check) for check in checks]})
    print(format_table(checks))
    print(f"\nready for release: {'yes' if ready else 'NO'} (details in {settings['output']})")
    return ready, checks


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="readiness")
def main(cfg: DictConfig) -> None:
    def gate() -> None:
        ready, _ = run_readiness(cfg)
        if not ready:
            sys.exit(1)

    exit_on_user_error(gate)


if __name__ == "__main__":
    main()
