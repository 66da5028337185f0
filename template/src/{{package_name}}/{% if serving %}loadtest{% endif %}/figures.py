"""The load test's figures: what a request's latency looks like, and how the server scales.

The latency histogram shows every request of each concurrency level (its median repetition)
for the configuration ``make serve`` runs, the one the release targets judge, against the
p99 budget. Throughput against concurrency shows every backend and batching mode with the
throughput target, beside their p99 latency with the budget: the highest level under the
budget that reaches the target is what the readiness gate looks for.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.ticker import ScalarFormatter

from ..core.figures import LATENCY_HISTOGRAM, THROUGHPUT, no_data, panels, target_line

# Per concurrency level: the latency of every completed request, in milliseconds.
Latencies = Mapping[int, np.ndarray]
BINS = 40


def judged_configuration(
    report: Mapping[str, Any], latencies: Mapping[tuple[str, str], Latencies]
) -> tuple[str, str] | None:
    """The backend and mode the release targets judge, or the first measured when it was not run."""
    targets = report["targets"]
    judged = (targets["backend"], targets["mode"])
    return judged if judged in latencies else next(iter(latencies), None)


def latency_histogram(
    report: Mapping[str, Any], latencies: Mapping[tuple[str, str], Latencies], path: Path
) -> Path:
    """Request latencies per concurrency level on a log scale, with the p99 budget."""
    budget = float(report["settings"]["latency_budget_ms"])
    shown = judged_configuration(report, latencies)
    title = "Request latency" + (f", {shown[0]} backend, {shown[1].replace('_', ' ')}" if shown else "")
    with panels(path, title) as (axes,):
        levels = {
            level: values for level, values in (latencies[shown] if shown else {}).items() if len(values)
        }
        if not levels:
            no_data(axes, "no request completed")
            return path
        everything = np.concatenate(list(levels.values()))
        low, high = max(float(everything.min()), 1e-3), max(float(everything.max()), budget) * 1.05
        bins = np.geomspace(low, high, BINS)
        for level, values in sorted(levels.items()):
            p99 = float(np.percentile(values, 99))
            axes.hist(
                values,
                bins=bins,
                histtype="step",
                linewidth=1.5,
                label=f"{level} client(s): p99 {p99:.1f} ms",
            )
        target_line(axes, budget, f"p99 budget {budget:g} ms", vertical=True)
        axes.set_xscale("log")
        axes.xaxis.set_major_formatter(ScalarFormatter())  # 1, 10, 100 ms rather than powers of ten
        axes.set(xlabel="latency per request (ms, log scale)", ylabel="requests")
        axes.legend(loc="upper right")
    return path


def throughput_plot(report: Mapping[str, Any], path: Path) -> Path:
    """Requests/s and p99 latency against the number of concurrent clients, per backend and mode."""
    settings = report["settings"]
    with panels(path, "Throughput and p99 latency against concurrency", count=2) as (rate, tail):
        for backend, modes in report["backends"].items():
            for mode, measured in modes.items():
                if not isinstance(measured, dict) or "levels" not in measured:
                    continue  # raw_forward: ceilings, not levels
                levels = sorted(measured["levels"], key=lambda level: level["concurrency"])
                clients = [level["concurrency"] for level in levels]
                label = f"{backend}, {mode.replace('_', ' ')}"
                rate.plot(clients, [level["requests_per_s"] for level in levels], marker="o", label=label)
                tail.plot(clients, [level["p99_ms"] for level in levels], marker="o", label=label)
        target_line(
            rate, float(settings["throughput_rps"]), f"target {settings['throughput_rps']:g} requests/s"
        )
        target_line(
            tail, float(settings["latency_budget_ms"]), f"p99 budget {settings['latency_budget_ms']:g} ms"
        )
        rate.set(title="Throughput", xlabel="concurrent clients", ylabel="requests/s")
        tail.set(title="p99 latency", xlabel="concurrent clients", ylabel="p99 latency (ms)")
        for axes in (rate, tail):
            axes.set_xscale("log", base=2)
            axes.set_xticks(settings["concurrency"], [str(level) for level in settings["concurrency"]])
            axes.set_ylim(bottom=0)
            axes.legend(loc="best", fontsize="small")
    return path


def write_loadtest_figures(
    report: Mapping[str, Any], latencies: Mapping[tuple[str, str], Latencies], folder: Path
) -> list[Path]:
    """The latency histogram and the throughput figure of ``report`` (``loadtest.json``) in ``folder``."""
    return [
        latency_histogram(report, latencies, folder / LATENCY_HISTOGRAM),
        throughput_plot(report, folder / THROUGHPUT),
    ]
