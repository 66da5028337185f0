"""The comparison of a canary or shadow rollout, from the prediction log the server wrote.

Each line of the log is one answer (``serving/rollout.py``): request id, model version,
role (champion, challenger, shadow), status, latency and predictions. Per version this
reports the share of requests it answered, its error and refusal rates and latency
percentiles; where the same request was predicted by two versions (shadow) the share on
which they agree; and, given a feedback file of true labels (or values) by request id, each
version's accuracy (or mean absolute error) on the requests it predicted.
"""

import csv
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ProjectError


def read_log(path: Path) -> list[dict[str, Any]]:
    """The log's records; a malformed line (a server killed mid-write) is skipped and counted."""
    if not path.is_file():
        raise ProjectError(
            f"no prediction log at {path}: serve with serve.rollout.mode=canary or shadow first "
            '(make serve ARGS="serve.rollout.mode=shadow").'
        )
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    if not records:
        raise ProjectError(f"the prediction log {path} holds no answers yet: send the server some requests.")
    return records


def read_feedback(path: Path) -> dict[tuple[str, int], Any]:
    """True outcomes by (request id, instance): CSV or JSON lines with ``request_id``, optional
    ``instance`` (0 by default) and ``label`` (classification) or ``value`` (regression)."""
    if not path.is_file():
        raise ProjectError(f"no feedback file at {path}.")
    text = path.read_text(encoding="utf-8")
    rows: Iterable[Mapping[str, Any]] = (
        [json.loads(line) for line in text.splitlines() if line.strip()]
        if path.suffix in (".jsonl", ".json")
        else csv.DictReader(text.splitlines())
    )
    feedback = {}
    for number, row in enumerate(rows, start=1):
        if "request_id" not in row or not ({"label", "value"} & set(row)):
            raise ProjectError(
                f"{path} row {number}: needs request_id and label (classification) or value (regression)."
            )
        truth = row["label"] if "label" in row else float(row["value"])
        feedback[(str(row["request_id"]), int(row.get("instance") or 0))] = truth
    return feedback


def latency_summary(latencies: Sequence[float]) -> dict[str, float | None]:
    if not latencies:
        return {"p50": None, "p95": None, "p99": None, "mean": None}
    values = np.asarray(latencies)
    return {
        "p50": float(np.percentile(values, 50)),
        "p95": float(np.percentile(values, 95)),
        "p99": float(np.percentile(values, 99)),
        "mean": float(values.mean()),
    }


def agrees(first: Any, second: Any, tolerance: float) -> bool:
    """Labels agree when equal; values when within ``tolerance`` relative (or absolute, near 0)."""
    if isinstance(first, str) or isinstance(second, str):
        return bool(first == second)
    return math.isclose(float(first), float(second), rel_tol=tolerance, abs_tol=tolerance)


def compare(
    records: Sequence[Mapping[str, Any]], feedback: Mapping[tuple[str, int], Any] | None, tolerance: float
) -> dict[str, Any]:
    """The rollout report: per version, the agreement of shadowed requests, feedback metrics."""
    by_version: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        by_version[str(record["model_version"])].append(record)
    answered = sum(1 for record in records if record["role"] != "shadow")
    versions = {
        version: version_summary(items, answered, feedback) for version, items in sorted(by_version.items())
    }
    return {
        "records": len(records),
        "requests": answered,
        "versions": versions,
        "agreement": agreement(records, tolerance),
    }


def version_summary(
    records: Sequence[Mapping[str, Any]], answered: int, feedback: Mapping[tuple[str, int], Any] | None
) -> dict[str, Any]:
    roles = sorted({str(record["role"]) for record in records})
    statuses = [str(record["status"]) for record in records]
    ok = [record for record in records if record["status"] == "ok"]
    summary: dict[str, Any] = {
        "roles": roles,
        "records": len(records),
        # The share of client requests this version answered (a shadow answers none).
        "answer_share": sum(1 for record in records if record["role"] != "shadow") / answered
        if answered
        else 0.0,
        "error_rate": statuses.count("error") / len(records),
        "invalid_rate": statuses.count("invalid") / len(records),
        "latency_ms": latency_summary([float(record["latency_ms"]) for record in ok]),
    }
    if feedback is not None:
        summary["feedback"] = feedback_metric(ok, feedback)
    return summary


def feedback_metric(
    records: Sequence[Mapping[str, Any]], feedback: Mapping[tuple[str, int], Any]
) -> dict[str, Any]:
    """Accuracy (labels) or mean absolute error (values) on the instances that have feedback."""
    pairs = [
        (prediction, feedback[(str(record["request_id"]), index)])
        for record in records
        for index, prediction in enumerate(record["predictions"] or [])
        if (str(record["request_id"]), index) in feedback
    ]
    if not pairs:
        return {"instances": 0}
    if isinstance(pairs[0][0], str):
        return {"instances": len(pairs), "accuracy": sum(str(a) == str(b) for a, b in pairs) / len(pairs)}
    return {"instances": len(pairs), "mae": float(np.mean([abs(float(a) - float(b)) for a, b in pairs]))}


def agreement(records: Sequence[Mapping[str, Any]], tolerance: float) -> dict[str, Any]:
    """Of the requests two versions both predicted (shadow), the share of instances they agree on."""
    by_request: dict[str, dict[str, list[Any]]] = defaultdict(dict)
    for record in records:
        if record["status"] == "ok":
            by_request[str(record["request_id"])][str(record["model_version"])] = record["predictions"]
    compared = agreed = 0
    for predictions in by_request.values():
        if len(predictions) != 2:
            continue
        first, second = predictions.values()
        for a, b in zip(first, second, strict=False):
            compared += 1
            agreed += agrees(a, b, tolerance)
    return {"instances_compared": compared, "rate": agreed / compared if compared else None}


def format_report(report: Mapping[str, Any]) -> str:
    lines = [
        f"{report['requests']} requests answered, {report['records']} predictions logged",
        f"{'version':<24} {'roles':<20} {'share':>6} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8}  feedback",
    ]
    for version, summary in report["versions"].items():
        latency = summary["latency_ms"]
        p50 = f"{latency['p50']:.2f}" if latency["p50"] is not None else "-"
        p99 = f"{latency['p99']:.2f}" if latency["p99"] is not None else "-"
        feedback = summary.get("feedback", {})
        metric = ", ".join(f"{key} {value:.4f}" for key, value in feedback.items() if key != "instances")
        lines.append(
            f"{version:<24} {','.join(summary['roles']):<20} {summary['answer_share']:>6.3f} "
            f"{summary['error_rate']:>7.3f} {p50:>8} {p99:>8}  {metric or '-'}"
        )
    rate = report["agreement"]["rate"]
    if rate is not None:
        lines.append(
            f"agreement: {rate:.4f} over {report['agreement']['instances_compared']} shadowed instances"
        )
    return "\n".join(lines)
