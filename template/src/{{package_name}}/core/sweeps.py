"""The summary of a training sweep: ``python -m <package>.training -m key=a,b ...`` (``make sweep``).

Hydra runs each job of a sweep as a training run of its own (``runs/<date>_<time>-sweep/<job>``,
configs/hydra/default.yaml). When the last job has finished, :class:`SweepSummary` (a Hydra
callback, registered there) writes ``sweep_summary.json`` and ``sweep_summary.md`` into the
sweep's folder: one row per job with the overrides it ran with, its status and its best
validation metric, and the best job named.

Jobs are ranked on the validation metric the trainer monitored (``trainer.monitor``), never on
the test split: choosing the best of several models by their test figures would make those
figures optimistic. The best job is evaluated and released like any run
(``make evaluate RUN=<sweep>/<job>``). A sweep of another command (no job is a training run)
writes nothing.
"""

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from .atomic import write_text_atomically
from .history import best_validation, read_history
from .metrics import metric_direction
from .reporting import write_json
from .runs import Run, list_runs

log = logging.getLogger(__name__)

SUMMARY_JSON = "sweep_summary.json"
SUMMARY_MARKDOWN = "sweep_summary.md"


def job_row(job: Run, runs_dir: Path, history_name: str, monitor: str) -> dict[str, Any]:
    """One job of the sweep: its run name, overrides, status and best validation metric."""
    history = read_history(job.path / history_name)
    return {
        "run": job.path.relative_to(runs_dir).as_posix(),
        "overrides": [item for item in job.record.get("overrides", []) if not item.startswith("paths.")],
        "status": str(job.record.get("status", "running")),
        f"best_val_{monitor}": best_validation(history, monitor),
        "best_epoch": history.get("best_epoch"),
    }


def best_job(rows: list[dict[str, Any]], monitor: str) -> dict[str, Any] | None:
    """The complete job with the best validation metric (``None`` if no job has one)."""
    key = f"best_val_{monitor}"
    ranked = [row for row in rows if row["status"] == "complete" and row[key] is not None]
    if not ranked:
        return None
    pick = min if metric_direction(monitor) == "min" else max
    return pick(ranked, key=lambda row: row[key])


def summarise_sweep(
    sweep_dir: Path, runs_dir: Path, history_name: str, monitor: str
) -> dict[str, Any] | None:
    """The sweep's summary (written beside its jobs), or ``None`` when no job is a training run."""
    jobs = sorted(list_runs(sweep_dir), key=lambda job: (len(job.name), job.name))  # 2 before 10
    if not jobs:
        return None
    rows = [job_row(job, runs_dir, history_name, monitor) for job in jobs]
    best = best_job(rows, monitor)
    summary = {
        "sweep": sweep_dir.relative_to(runs_dir).as_posix(),
        "ranked_by": f"best_val_{monitor}",
        "direction": metric_direction(monitor),
        "best": best["run"] if best else None,
        "jobs": rows,
    }
    write_json(sweep_dir / SUMMARY_JSON, summary)
    write_text_atomically(sweep_dir / SUMMARY_MARKDOWN, summary_table(summary))
    return summary


def summary_table(summary: dict[str, Any]) -> str:
    """The summary as a Markdown table, best job marked."""
    metric = summary["ranked_by"]
    lines = [
        f"# Sweep {summary['sweep']}",
        "",
        f"Ranked by `{metric}` ({'lower' if summary['direction'] == 'min' else 'higher'} is better, "
        "validation split). Best: "
        + (f"`{summary['best']}`" if summary["best"] else "none (no job completed)"),
        "",
        f"| run | overrides | status | {metric} | best epoch |",
        "|---|---|---|---|---|",
    ]
    for row in summary["jobs"]:
        value = "-" if row[metric] is None else f"{row[metric]:.4f}"
        marker = " (best)" if row["run"] == summary["best"] else ""
        overrides = " ".join(f"`{item}`" for item in row["overrides"]) or "-"
        lines.append(
            f"| `{row['run']}`{marker} | {overrides} | {row['status']} | {value} | {row['best_epoch']} |"
        )
    return "\n".join(lines) + "\n"


class SweepSummary(Callback):
    """Hydra callback: summarise a sweep once all of its jobs have returned."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if "trainer" not in config:  # a sweep of another command
            return
        sweep_dir, runs_dir = Path(str(config.hydra.sweep.dir)), Path(str(config.paths.runs_dir))
        summary = summarise_sweep(
            sweep_dir, runs_dir, Path(str(config.paths.history)).name, str(config.trainer.monitor)
        )
        if summary is None:
            return
        print(summary_table(summary))
        if summary["best"]:
            log.info(
                "sweep summary: %s; best job %s; next: make evaluate RUN=%s",
                sweep_dir / SUMMARY_MARKDOWN,
                summary["best"],
                summary["best"],
            )
