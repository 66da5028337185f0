"""Load test of the prediction server: ``python -m <package>.loadtest`` (or ``make loadtest``).

In one run, for each backend (torch, and onnxruntime when ``make export`` has run) and with
dynamic batching on and off, it starts the server exactly as ``make serve`` does (on a free
loopback port, with ``serve.*`` settings passed through) and drives it with a closed loop of
clients at each ``loadtest.concurrency``: requests/s, p50/p95/p99 latency and errors, plus the
mean batch size and median forward-pass time read from the server's own ``/metrics``.

Beside them it measures the ceilings that bound what the server can reach:

* (a) a bare route of the same framework (``loadtest/bare.py``: FastAPI parsing and validating
  the same body into the same pydantic model, answering a constant): the framework's limit;
* (b) the server's no-op route (``POST /v1/noop``: the same payload parsed, validated and
  preprocessed, without the model), which shows where the server's own time goes;
* (c) the model's batched forward pass without HTTP, at the batch size the server formed at
  the top concurrency (and at ``max_batch_size`` and 1);
* (d) the load generator's own limit against an instant canned response.

The server is judged against min(a, c): ``summary.<backend>.batching_vs_ceiling``. Every level
and ceiling is run ``loadtest.repeats`` times; the report keeps each repetition's requests/s
and their spread, and the latencies of the median repetition.

It writes the chosen run's ``loadtest.json`` (``paths.loadtest``) and prints a table, including the highest throughput
whose p99 stays within ``loadtest.latency_budget_ms`` (the answers' latency budget); the latency
histogram and throughput against concurrency go to ``paths.figures_dir`` (``figures.py``).
Payloads are real instances of the test split. Numbers depend on the machine and on what
else runs on it: compare runs made on the same machine.
"""

import json
import logging
import os
import platform
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from omegaconf import DictConfig

from ..core.config import CONFIG_DIR, settings_from_mapping, to_plain
from ..core.console import Progress, log_summary
from ..core.errors import ProjectError, exit_on_user_error
from ..core.fingerprints import weights_sha256
from ..core.inference import saved_config, saved_data
from ..core.reporting import write_json
from ..core.run_lookup import register_run_dir_resolver
from ..core.service.backends import open_backend
from ..core.service.instances import create_codec, example_instances
from ..core.service.model import ModelSource, resolve_model_source
from ..core.service.process import ServerProcess, free_port
from ..core.service.settings import BACKENDS, ServeSettings, inference_threads
from .bare import BareRoute
from .figures import Latencies, write_loadtest_figures
from .loadgen import client_ceiling, read_histogram, repeated_level, repeated_runs, summarise_repeats

log = logging.getLogger(__name__)

MODES = {"batching": True, "no_batching": False}
# Settings the load test sets itself for every server it starts.
MANAGED_SERVE_KEYS = ("host", "port", "workers", "backend", "noop_route", "model", "rollout")


@dataclass(frozen=True)
class LoadTestSettings:
    """The ``loadtest:`` settings of ``configs/loadtest.yaml``.

    No defaults here: the YAML holds them, and the latency budget and throughput target
    come from the interview's answers through configs/readiness/ (the targets the readiness
    gate checks), never from a number in the code.
    """

    backends: Sequence[str]
    modes: Sequence[str]
    concurrency: Sequence[int]
    duration_s: float
    max_requests: int
    warmup_requests: int
    instances_per_request: int
    split: str
    forward_seconds: float
    repeats: int
    latency_budget_ms: float
    throughput_rps: float

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "LoadTestSettings":
        settings: LoadTestSettings = settings_from_mapping(cls, values, group="loadtest", error=ProjectError)
        unknown = [name for name in settings.backends if name not in BACKENDS]
        if unknown or not settings.backends:
            raise ProjectError(
                f"loadtest.backends takes some of {', '.join(BACKENDS)}, got {list(settings.backends)}."
            )
        if not settings.modes or any(mode not in MODES for mode in settings.modes):
            raise ProjectError(
                f"loadtest.modes takes some of {', '.join(MODES)}, got {list(settings.modes)}."
            )
        if not settings.concurrency or min(settings.concurrency) < 1:
            raise ProjectError(
                f"loadtest.concurrency needs levels of at least 1, got {list(settings.concurrency)}."
            )
        if settings.duration_s <= 0 or settings.max_requests < 1 or settings.instances_per_request < 1:
            raise ProjectError(
                "loadtest.duration_s, max_requests and instances_per_request must be positive."
            )
        if settings.repeats < 1:
            raise ProjectError(f"loadtest.repeats must be at least 1, got {settings.repeats}.")
        return settings


def serve_overrides(config: Mapping[str, Any]) -> list[str]:
    """The load test's resolved ``serve`` settings as Hydra overrides for the servers it starts."""

    def flatten(prefix: str, value: Any) -> list[str]:
        if isinstance(value, Mapping):
            return [item for key, inner in value.items() for item in flatten(f"{prefix}.{key}", inner)]
        return [f"{prefix}={json.dumps(value) if not isinstance(value, str) else value}"]

    serve = {key: value for key, value in config["serve"].items() if key not in MANAGED_SERVE_KEYS}
    # The run resolved once here: every server measures the same run's model, as a run
    # (not the registry's champion), alone (no rollout).
    return [
        f"paths.artifacts_dir={config['paths']['artifacts_dir']}",
        f"paths.run_dir={config['paths']['run_dir']}",
        "serve.model=run",
        "serve.rollout.mode=none",
        *flatten("serve", serve),
    ]


def forward_rate(
    source: ModelSource, serve: ServeSettings, inputs: np.ndarray, batch_size: int, seconds: float
) -> float:
    """Instances/s of the backend's forward pass alone, on batches of ``batch_size``."""
    backend = open_backend(source, serve.runtime)
    batch = np.resize(inputs, (batch_size, *inputs.shape[1:]))
    backend.predict(batch)  # warm-up
    passes, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        backend.predict(batch)
        passes += 1
    return passes * batch_size / elapsed


def repeated_forward_rate(
    source: ModelSource, serve: ServeSettings, inputs: np.ndarray, batch_size: int, settings: LoadTestSettings
) -> dict[str, Any]:
    """``forward_rate`` ``loadtest.repeats`` times: the median instances/s, every run's and their spread.

    Compute is the noisiest ceiling on a shared machine (a third apart between two runs on a
    2-core VM), and the server is judged against it, so it is repeated like every level.
    """
    rates = sorted(
        round(forward_rate(source, serve, inputs, batch_size, settings.forward_seconds), 1)
        for _ in range(settings.repeats)
    )
    return {
        "batch_size": batch_size,
        "instances_per_s": rates[len(rates) // 2],
        "instances_per_s_runs": rates,
        "instances_per_s_min": rates[0],
        "instances_per_s_max": rates[-1],
    }


def raw_forward(
    source: ModelSource, serve: ServeSettings, inputs: np.ndarray, settings: LoadTestSettings
) -> dict[str, Any]:
    """The backend's forward pass alone, at ``max_batch_size`` and at batch 1 (repeated)."""
    return {
        "max_batch": repeated_forward_rate(source, serve, inputs, serve.batching.max_batch_size, settings),
        "batch_1": repeated_forward_rate(source, serve, inputs, 1, settings),
    }


def scrape(url: str) -> str:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        return response.read().decode()


def measure_server(
    server: ServerProcess,
    body: bytes,
    headers: Mapping[str, str],
    settings: LoadTestSettings,
    progress: Progress,
) -> tuple[dict[str, Any], Latencies]:
    """Every concurrency level against one running server, then its no-op route at the top one;
    with each level's request latencies (of its median repetition), for the histogram.

    The no-op ceiling is measured on each server right after its levels, so that a ratio to
    it compares figures taken under the same background load.
    """
    levels, latencies = [], {}
    for concurrency in settings.concurrency:
        before = scrape(server.url)
        runs = repeated_runs(
            f"{server.url}/v1/predict", body, headers, **level_settings(settings, concurrency)
        )
        result, latencies[concurrency] = summarise_repeats(runs), runs[len(runs) // 2].latencies_ms
        after = scrape(server.url)
        inference = read_histogram(after, "serving_inference_duration_seconds").minus(
            read_histogram(before, "serving_inference_duration_seconds")
        )
        batches = read_histogram(after, "serving_batch_size").minus(
            read_histogram(before, "serving_batch_size")
        )
        median = inference.quantile(0.5)
        levels.append(
            {
                **result,
                "mean_batch_size": round(batches.mean, 2) if batches.mean else None,
                "inference_p50_ms": round(median * 1000, 3) if median is not None else None,
            }
        )
        progress.update()
    measured: dict[str, Any] = {"levels": levels, "best_within_budget": best_within_budget(levels, settings)}
    top = level_settings(settings, max(settings.concurrency))
    measured["noop"] = repeated_level(f"{server.url}/v1/noop", body, headers, **top)
    progress.update()
    return measured, latencies


def measurement_count(backends: int, servers: int, settings: LoadTestSettings) -> int:
    """The measurements a run takes, for its progress bar: per backend the raw forward pass at two
    batch sizes and at the server's; the two client-side ceilings; per server each level and its no-op."""
    return backends * 2 + 2 + servers * (len(settings.concurrency) + 1)


def level_settings(settings: LoadTestSettings, concurrency: int) -> dict[str, Any]:
    """What one measured level runs: its clients, bounds, warm-up and repetitions."""
    return {
        "concurrency": concurrency,
        "duration_s": settings.duration_s,
        "max_requests": settings.max_requests,
        "warmup_requests": settings.warmup_requests,
        "repeats": settings.repeats,
    }


def formed_batch_size(runs: Mapping[str, Any], settings: LoadTestSettings) -> int | None:
    """The mean batch size (rounded) of the batching server at the top concurrency, if measured."""
    top = max(settings.concurrency)
    levels = runs.get("batching", {}).get("levels", [])
    mean = next((level["mean_batch_size"] for level in levels if level["concurrency"] == top), None)
    return max(1, round(mean)) if mean else None


def best_within_budget(
    levels: Sequence[Mapping[str, Any]], settings: LoadTestSettings
) -> dict[str, Any] | None:
    """The level with the highest requests/s whose p99 is within the budget and that had no errors."""
    within = [
        level for level in levels if level["p99_ms"] <= settings.latency_budget_ms and level["errors"] == 0
    ]
    return max(within, key=lambda level: level["requests_per_s"]) if within else None


def summarise(report: Mapping[str, Any], settings: LoadTestSettings) -> dict[str, Any]:
    """The ratios the project's targets are stated in, at the highest concurrency."""
    top = max(settings.concurrency)
    summary: dict[str, Any] = {"concurrency": top}

    def level(backend: str, mode: str) -> Mapping[str, Any] | None:
        runs = report["backends"].get(backend, {}).get(mode)
        return next((item for item in runs["levels"] if item["concurrency"] == top), None) if runs else None

    instances = settings.instances_per_request
    bare = report["bare_route"]["requests_per_s"] * instances
    for backend, runs in report["backends"].items():
        batched, unbatched = level(backend, "batching"), level(backend, "no_batching")
        compute = runs.get("raw_forward", {}).get("at_server_batch", {}).get("instances_per_s")
        entry: dict[str, Any] = {"bare_route_instances_per_s": round(bare, 1)}
        if compute:
            entry["compute_instances_per_s"] = round(compute, 1)
        if batched:
            ceiling = min(bare, compute) if compute else bare
            entry["ceiling"] = "bare route" if ceiling == bare else "batched compute"
            entry["batching_vs_ceiling"] = round(batched["requests_per_s"] * instances / ceiling, 3)
        if runs.get("batching"):  # (b): the server's validation + preprocessing, against (a)
            entry["noop_vs_bare_route"] = round(
                runs["batching"]["noop"]["requests_per_s"] * instances / bare, 3
            )
        if batched and unbatched and unbatched["requests_per_s"]:
            entry["batching_speedup"] = round(batched["requests_per_s"] / unbatched["requests_per_s"], 3)
        summary[backend] = entry
    torch_level, onnx_level = level("torch", "batching"), level("onnxruntime", "batching")
    if torch_level and onnx_level and torch_level["inference_p50_ms"] and onnx_level["inference_p50_ms"]:
        summary["onnxruntime_vs_torch_inference_p50"] = round(
            onnx_level["inference_p50_ms"] / torch_level["inference_p50_ms"], 3
        )
    return summary


def release_targets(
    report: Mapping[str, Any], settings: LoadTestSettings, serve: ServeSettings
) -> dict[str, Any]:
    """The answers' targets against the configuration ``make serve`` runs (its backend and batching mode)."""
    mode = "batching" if serve.batching.enabled else "no_batching"
    measured = report["backends"].get(serve.backend, {}).get(mode)
    best = measured["best_within_budget"] if measured else None
    return {
        "backend": serve.backend,
        "mode": mode,
        "latency_budget_ms": settings.latency_budget_ms,
        "throughput_rps": settings.throughput_rps,
        "best_within_budget": best,
        "met": None if measured is None else bool(best and best["requests_per_s"] >= settings.throughput_rps),
    }


def format_report(report: Mapping[str, Any]) -> str:
    """The printed table: one row per backend, mode and concurrency, then ceilings and ratios."""
    header = (
        "backend",
        "mode",
        "conc",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "errors",
        "batch",
        "fwd p50 ms",
    )
    rows = [header]
    for backend, runs in report["backends"].items():
        for mode in MODES:
            for item in runs.get(mode, {}).get("levels", []):
                rows.append(
                    (
                        backend,
                        mode,
                        str(item["concurrency"]),
                        spread(item),
                        f"{item['p50_ms']:.2f}",
                        f"{item['p95_ms']:.2f}",
                        f"{item['p99_ms']:.2f}",
                        str(item["errors"]),
                        "-" if item["mean_batch_size"] is None else f"{item['mean_batch_size']:.1f}",
                        "-" if item["inference_p50_ms"] is None else f"{item['inference_p50_ms']:.3f}",
                    )
                )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines.append("")
    lines.append("ceilings (median requests/s of the repetitions, min-max):")
    for name, key in (
        ("(a) bare FastAPI route", "bare_route"),
        ("(d) load generator, canned response", "client_ceiling"),
    ):
        if key in report:
            lines.append(f"  {name}, conc {report[key]['concurrency']}: {spread(report[key])}")
    for backend, runs in report["backends"].items():
        for mode in MODES:
            if mode in runs:
                lines.append(
                    f"  (b) server no-op route ({backend}, {mode.replace('_', ' ')} server): {spread(runs[mode]['noop'])}"
                )
    for backend, runs in report["backends"].items():
        forward = runs.get("raw_forward", {})
        rates = [
            f"{compute_spread(forward[key])} at {label}{forward[key]['batch_size']}"
            for key, label in (("at_server_batch", "the server's batch "), ("max_batch", "batch "))
            if key in forward
        ]
        if rates:
            lines.append(
                f"  (c) {backend} raw forward (instances/s): {', '.join(rates)}, "
                f"{compute_spread(forward['batch_1'])} at batch 1"
            )
    lines.append(f"best throughput with p99 <= {report['settings']['latency_budget_ms']} ms:")
    for backend, runs in report["backends"].items():
        for mode in MODES:
            best = runs.get(mode, {}).get("best_within_budget", "absent")
            if best != "absent":
                text = (
                    "none"
                    if best is None
                    else f"{best['requests_per_s']:.1f} req/s at concurrency {best['concurrency']}"
                )
                lines.append(f"  {backend} {mode}: {text}")
    lines.append(
        f"summary at concurrency {report['summary']['concurrency']}: "
        + json.dumps({key: value for key, value in report["summary"].items() if key != "concurrency"})
    )
    targets = report["targets"]
    verdict = {None: "not measured", True: "met", False: "NOT met"}[targets["met"]]
    lines.append(
        f"release targets ({targets['backend']}, {targets['mode'].replace('_', ' ')}): p99 <= "
        f"{targets['latency_budget_ms']} ms at >= {targets['throughput_rps']} req/s: {verdict}"
    )
    for note in report.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)


def spread(level: Mapping[str, Any]) -> str:
    return (
        f"{level['requests_per_s']:.1f} ({level['requests_per_s_min']:.1f}-{level['requests_per_s_max']:.1f})"
    )


def compute_spread(rate: Mapping[str, Any]) -> str:
    return (
        f"{rate['instances_per_s']:.1f} ({rate['instances_per_s_min']:.1f}-{rate['instances_per_s_max']:.1f})"
    )


def run_loadtest(cfg: DictConfig) -> dict[str, Any]:
    """The load test as a function of its config; writes and returns the report."""
    config = to_plain(cfg)
    settings = LoadTestSettings.from_mapping(config["loadtest"])
    serve = ServeSettings.from_mapping(config["serve"])
    notes: list[str] = []
    sources: dict[str, ModelSource] = {}
    for backend in settings.backends:
        try:
            sources[backend] = resolve_model_source(
                config, ServeSettings.from_mapping({**config["serve"], "backend": backend}).runtime
            )
        except ProjectError as error:
            if backend == "torch" or len(settings.backends) == 1:
                raise
            notes.append(f"{backend} skipped: {error}")
    first = next(iter(sources.values()))
    checkpoint = Path(config["paths"]["checkpoint"])
    trained_config = saved_config(checkpoint)  # data, task and seed of training
    codec = create_codec(first.preprocessor, serve.input)
    instances = payload_instances(checkpoint, settings)
    body = json.dumps({"instances": instances}).encode()
    api_key = os.environ.get(serve.api_key_env or "", "")
    headers = {"X-API-Key": api_key} if api_key else {}
    inputs = codec.encode([codec.instance_model.model_validate(item) for item in instances])

    servers = {
        (backend, mode): ServerProcess(
            [
                *serve_overrides(config),
                f"serve.backend={backend}",
                f"serve.batching.enabled={str(MODES[mode]).lower()}",
                "serve.noop_route=true",
            ],
            workers=serve.workers,
        )
        for backend in sources
        for mode in settings.modes
    }
    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "inference_threads": inference_threads(serve),
            "platform": platform.platform(),
        },
        "settings": {
            **{
                key: (list(value) if isinstance(value, (list, tuple)) else value)
                for key, value in vars(settings).items()
            },
            "serve": {"workers": serve.workers, "threads": serve.threads, "batching": vars(serve.batching)},
        },
        "model": {
            "version": first.version,
            "architecture": architecture_name(trained_config["model"]),
        },
        # The trained weights measured (the ONNX backends serve their export): the readiness
        # gate ignores this report once they change.
        "weights_sha256": weights_sha256(checkpoint),
        "backends": {backend: {} for backend in sources},
        "notes": notes,
    }
    progress = Progress(
        "loadtest", measurement_count(len(sources), len(servers), settings), unit="measurements"
    )
    latencies: dict[tuple[str, str], Latencies] = {}
    try:
        for server in servers.values():
            server.wait_ready()
        for backend, source in sources.items():
            report["backends"][backend]["raw_forward"] = raw_forward(source, serve, inputs, settings)
            progress.update()
        response_body = _sample_response(next(iter(servers.values())), body, headers)
        top = level_settings(settings, max(settings.concurrency))
        report["client_ceiling"] = client_ceiling(body, response_body, port=free_port(), **top)
        progress.update()
        input_settings = config["serve"].get("input", {})
        with BareRoute(
            free_port(),
            first.preprocessor.to_dict(),
            input_settings,
            serve.limits.max_instances,
            response_body,
        ) as bare:
            report["bare_route"] = repeated_level(f"{bare.url}/v1/predict", body, headers, **top)
        progress.update()
        for (backend, mode), server in servers.items():
            progress.set_note(f"{backend}, {mode.replace('_', ' ')}")
            report["backends"][backend][mode], latencies[backend, mode] = measure_server(
                server, body, headers, settings, progress
            )
            server.stop()
        for backend, source in sources.items():  # (c): compute at the batch size the server formed
            formed = formed_batch_size(report["backends"][backend], settings)
            if formed is not None:
                report["backends"][backend]["raw_forward"]["at_server_batch"] = repeated_forward_rate(
                    source, serve, inputs, formed, settings
                )
            progress.update()
    finally:
        progress.close()
        for server in servers.values():
            server.stop()
    report["summary"] = summarise(report, settings)
    report["targets"] = release_targets(report, settings, serve)
    write_json(Path(config["paths"]["loadtest"]), report)
    figures = write_loadtest_figures(report, latencies, Path(config["paths"]["figures_dir"]))
    print(format_report(report))
    log_summary(log, "loadtest", loadtest_headline(report), [config["paths"]["loadtest"], *figures])
    return report


def loadtest_headline(report: Mapping[str, Any]) -> str:
    """The release targets' verdict, the figure the table above ends with."""
    targets = report["targets"]
    verdict = {None: "not measured", True: "met", False: "NOT met"}[targets["met"]]
    best = targets["best_within_budget"]
    measured = (
        f"{best['requests_per_s']:.1f} req/s within p99 <= {targets['latency_budget_ms']} ms"
        if best
        else "no level within the latency budget"
    )
    return f"{targets['backend']}, {targets['mode'].replace('_', ' ')}: {measured}; release targets {verdict}"


def architecture_name(model_config: Mapping[str, Any]) -> str:
    """The model's class (``_target_``), Hub name (``pretrained``) or Transformers ``model_type``."""
    if "_target_" in model_config:
        return str(model_config["_target_"]).rsplit(".", 1)[-1]
    return str(model_config.get("pretrained") or model_config.get("model_type"))


def payload_instances(checkpoint: str | Path, settings: LoadTestSettings) -> list[dict[str, Any]]:
    """``instances_per_request`` real instances of the configured split, as a client sends them."""
    data = saved_data(checkpoint)
    instances = example_instances(data, settings.split, settings.instances_per_request)
    if len(instances) < settings.instances_per_request:
        raise ProjectError(
            f"the {settings.split} split has {len(instances)} instances; lower loadtest.instances_per_request."
        )
    return instances


def _sample_response(server: ServerProcess, body: bytes, headers: Mapping[str, str]) -> bytes:
    """One real answer of the server, so the canned-response ceiling sends as many bytes."""
    request = urllib.request.Request(
        f"{server.url}/v1/predict", data=body, headers={"Content-Type": "application/json", **headers}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


# configs/paths/ find the run this stage works on through ${run_dir:...}.
register_run_dir_resolver()


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="loadtest")
def main(cfg: DictConfig) -> None:
    exit_on_user_error(lambda: run_loadtest(cfg))


if __name__ == "__main__":
    main()
