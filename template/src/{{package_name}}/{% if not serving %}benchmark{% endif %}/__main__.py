"""Local benchmark of the trained model: ``python -m <package>.benchmark`` (or ``make benchmark``).

Projects without a prediction server have no load test, so this stage measures what the
readiness gate judges latency and throughput by. It loads the trained model as every stage
does (``inference.load_trained_model``), takes real examples of the test split already
preprocessed (``inference.evaluation_loader``) and times, under ``torch.inference_mode()``
and after ``benchmark.warmup`` unrecorded passes at each shape:

* single-example latency: ``benchmark.repeats`` forward passes of one example each, cycling
  through the test examples (p50, p95, p99, mean and max in milliseconds);
* batched throughput: for each of ``benchmark.batch_sizes`` (a size larger than the test
  split is capped at its number of examples), ``benchmark.batch_repeats`` passes of that many
  examples: per-batch p50/p99 and examples/s (examples in the timed passes / their time).

Each measurement also stops after ``benchmark.max_seconds`` (at least one pass is timed), so
a large model on a slow machine ends in bounded time; the passes actually timed are recorded.
A timed pass copies the input batch to the device, runs the forward pass and copies the
logits back to the host (which also waits for a GPU to finish).

What it is, and what it is not: the model's forward pass on preprocessed inputs, in-process.
There is no HTTP, no request parsing and no preprocessing of raw inputs (parsing CSV rows,
tokenizing texts, decoding and resizing images), so the figures are a lower bound of what a
request or a batch job costs end to end. Projects generated with a server are judged by their
load test instead. Numbers depend on the machine, its threads and what else runs on it:
compare runs made on the same machine (the environment is recorded with them).

The chosen run's ``benchmark.json`` (``paths.benchmark``), read by the readiness gate::

    {
      "model": "artifacts/runs/<run>/checkpoints/best.pt",  # the checkpoint or model folder measured
      "weights_sha256": "3f1c...",               # its weights (fingerprints.weights_sha256)
      "split": "test",
      "num_examples": 90,                        # examples of the split available
      "environment": {"device": "cpu", "threads": 4, "cpu_count": 8,
                      "torch": "2.5.1", "python": "3.12.3", "platform": "Linux-..."},
      "settings": {"split": "test", "accelerator": "auto", "warmup": 10, "repeats": 200, "batch_sizes": [1, 8, 32, 128],
                   "batch_repeats": 30, "max_seconds": 10.0},
      "single_example": {"passes": 200, "p50_ms": 0.1, "p95_ms": 0.1, "p99_ms": 0.2,
                         "mean_ms": 0.1, "max_ms": 0.3},
      "batches": [                               # one entry per measured batch size, ascending
        {"batch_size": 1, "passes": 30, "p50_ms": 0.1, "p99_ms": 0.2, "mean_ms": 0.1,
         "examples_per_s": 9000.0},
        ...
      ]
    }

The gate passes p99 latency when ``single_example.p99_ms`` is within
``readiness.latency_budget_ms``, and throughput when the best ``examples_per_s`` among the
batch sizes whose ``p99_ms`` is within that budget reaches ``readiness.throughput_rps``; a
report of other weights than the current model's fails both (run the benchmark again).
"""

import logging
import os
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import hydra
import numpy as np
import torch
from omegaconf import DictConfig

from ..core.config import CONFIG_DIR, SPLITS, settings_from_mapping, to_plain
from ..core.devices import resolve_device
from ..core.errors import ProjectError, exit_on_user_error
from ..core.fingerprints import weights_sha256
from ..core.inference import evaluation_loader, load_trained_model
from ..core.reporting import write_json
from ..core.run_lookup import register_run_dir_resolver

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BenchmarkSettings:
    """The ``benchmark:`` settings of ``configs/benchmark.yaml`` (the YAML holds the defaults)."""

    split: str
    accelerator: str
    warmup: int
    repeats: int
    batch_sizes: Sequence[int]
    batch_repeats: int
    max_seconds: float
    threads: int | None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "BenchmarkSettings":
        settings: BenchmarkSettings = settings_from_mapping(
            cls, values, group="benchmark", error=ProjectError
        )
        if not settings.batch_sizes or min(settings.batch_sizes) < 1:
            raise ProjectError(
                f"benchmark.batch_sizes needs sizes of at least 1, got {list(settings.batch_sizes)}."
            )
        if settings.repeats < 1 or settings.batch_repeats < 1:
            raise ProjectError(
                "benchmark.repeats and benchmark.batch_repeats must be at least 1 (timed passes), "
                f"got {settings.repeats} and {settings.batch_repeats}."
            )
        if settings.warmup < 0 or settings.max_seconds <= 0:
            raise ProjectError("benchmark.warmup must be 0 or more and benchmark.max_seconds positive.")
        if settings.threads is not None and settings.threads < 1:
            raise ProjectError(
                f"benchmark.threads must be at least 1 or null (what torch uses), got {settings.threads}."
            )
        return settings


def split_inputs(trained: Any, split: str) -> torch.Tensor:
    """Every preprocessed input of ``split`` as one CPU tensor, in evaluation order."""
    batches = [inputs for inputs, _ in evaluation_loader(trained, split)]
    if not batches:
        raise ProjectError(f"the {split} split has no examples to benchmark on; check the data config.")
    return torch.cat(batches)


def measured_batch_sizes(requested: Sequence[int], num_examples: int) -> list[int]:
    """The batch sizes measured: each capped at the examples available, without repeats."""
    return sorted({min(int(size), num_examples) for size in requested})


def time_passes(
    forward: Callable[[torch.Tensor], object],
    batches: Sequence[torch.Tensor],
    passes: int,
    max_seconds: float,
) -> list[float]:
    """Seconds of each timed pass over ``batches`` in turn; stops at ``passes`` or ``max_seconds``."""
    timings: list[float] = []
    started = time.perf_counter()
    for index in range(passes):
        batch = batches[index % len(batches)]
        begin = time.perf_counter()
        forward(batch)
        timings.append(time.perf_counter() - begin)
        if time.perf_counter() - started >= max_seconds:
            break
    return timings


def latency_summary(seconds: Sequence[float], percentiles: Sequence[int]) -> dict[str, float]:
    """Passes, the given percentiles, mean and max of ``seconds``, in milliseconds."""
    milliseconds = np.asarray(seconds) * 1000.0
    summary: dict[str, float] = {"passes": len(milliseconds)}
    for percentile, value in zip(percentiles, np.percentile(milliseconds, percentiles).tolist(), strict=True):
        summary[f"p{percentile}_ms"] = value
    summary["mean_ms"] = float(milliseconds.mean())
    summary["max_ms"] = float(milliseconds.max())
    return summary


def rotations(inputs: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    """Batches of ``batch_size`` consecutive examples covering the inputs (wrapping around)."""
    count = -(-len(inputs) // batch_size)
    return [torch.roll(inputs, -index * batch_size, dims=0)[:batch_size].clone() for index in range(count)]


def environment(device: torch.device) -> dict[str, Any]:
    """What the figures depend on, recorded with them."""
    return {
        "device": str(device),
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def benchmark_model(
    model: torch.nn.Module, inputs: torch.Tensor, device: torch.device, settings: BenchmarkSettings
) -> dict[str, Any]:
    """Single-example latency and per-batch-size throughput of ``model`` on ``inputs``."""

    def forward(batch: torch.Tensor) -> torch.Tensor:
        return model(batch.to(device)).cpu()

    results: dict[str, Any] = {}
    with torch.inference_mode():
        singles = [inputs[index : index + 1].clone() for index in range(len(inputs))]
        time_passes(forward, singles, settings.warmup, float("inf"))
        timings = time_passes(forward, singles, settings.repeats, settings.max_seconds)
        results["single_example"] = latency_summary(timings, (50, 95, 99))
        results["batches"] = []
        for batch_size in measured_batch_sizes(settings.batch_sizes, len(inputs)):
            batches = rotations(inputs, batch_size)
            time_passes(forward, batches, settings.warmup, float("inf"))
            timings = time_passes(forward, batches, settings.batch_repeats, settings.max_seconds)
            summary = latency_summary(timings, (50, 99))
            summary.pop("max_ms")
            examples_per_s = batch_size * len(timings) / sum(timings)
            results["batches"].append({"batch_size": batch_size, **summary, "examples_per_s": examples_per_s})
    return results


def format_table(report: dict[str, Any]) -> str:
    """The measurements as a table, with what was measured and where."""
    env = report["environment"]
    single = report["single_example"]
    lines = [
        f"forward pass of {report['model']} on {report['num_examples']} {report['split']} examples "
        f"({env['device']}, threads: {env['threads']}, torch {env['torch']}); no HTTP, no preprocessing",
        f"single example: p50 {single['p50_ms']:.3f} ms, p95 {single['p95_ms']:.3f} ms, "
        f"p99 {single['p99_ms']:.3f} ms, mean {single['mean_ms']:.3f} ms, max {single['max_ms']:.3f} ms "
        f"over {single['passes']} passes",
        f"{'batch size':>10}  {'passes':>6}  {'p50 ms':>9}  {'p99 ms':>9}  {'examples/s':>11}",
    ]
    lines += [
        f"{row['batch_size']:>10}  {row['passes']:>6}  {row['p50_ms']:>9.3f}  {row['p99_ms']:>9.3f}  "
        f"{row['examples_per_s']:>11.1f}"
        for row in report["batches"]
    ]
    return "\n".join(lines)


def run_benchmark(cfg: DictConfig) -> dict[str, Any]:
    """The benchmark stage as a function of its config; writes the report and returns it."""
    config = to_plain(cfg)
    settings = BenchmarkSettings.from_mapping(config["benchmark"])
    checkpoint = Path(config["paths"]["checkpoint"])
    split = settings.split
    if split not in SPLITS:
        raise ProjectError(f"benchmark.split must be one of {', '.join(SPLITS)}, got '{split}'.")
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    device = resolve_device(settings.accelerator)
    trained = load_trained_model(checkpoint, device)
    inputs = split_inputs(trained, split)
    report = {
        "model": str(checkpoint),
        "weights_sha256": weights_sha256(checkpoint),
        "split": split,
        "num_examples": len(inputs),
        "environment": environment(device),
        "settings": asdict(settings) | {"batch_sizes": [int(size) for size in settings.batch_sizes]},
        **benchmark_model(trained.model, inputs, device, settings),
    }
    output = Path(config["paths"]["benchmark"])
    write_json(output, report)
    print(format_table(report))
    log.info("wrote %s", output)
    return report


# configs/paths/ find the run this stage works on through ${run_dir:...}.
register_run_dir_resolver()


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="benchmark")
def main(cfg: DictConfig) -> None:
    exit_on_user_error(lambda: run_benchmark(cfg))


if __name__ == "__main__":
    main()
