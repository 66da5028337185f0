"""Latency of an exported model in onnxruntime, measured where it is exported.

Each model is timed on the same held-out inputs, one example at a time (batch 1: what an
edge device or a single request pays) and as one batch, after a warm-up; the report keeps
the median and the 90th percentile, so a comparison between models rests on many runs.
"""

import statistics
import time

import numpy as np
import onnxruntime as ort

from .onnx_model import INPUT_NAME, OUTPUT_NAME

WARMUP_RUNS = 10


def milliseconds(session: ort.InferenceSession, batches: list[np.ndarray]) -> dict[str, float]:
    """Median and 90th percentile in ms of one run per batch of ``batches`` (after a warm-up)."""
    for batch in batches[:WARMUP_RUNS]:
        session.run([OUTPUT_NAME], {INPUT_NAME: batch})
    samples = []
    for batch in batches:
        started = time.perf_counter()
        session.run([OUTPUT_NAME], {INPUT_NAME: batch})
        samples.append(1000 * (time.perf_counter() - started))
    return {
        "median_ms": round(statistics.median(samples), 4),
        "p90_ms": round(float(np.percentile(samples, 90)), 4),
        "runs": len(samples),
    }


def measure_latency(
    session: ort.InferenceSession, inputs: np.ndarray, runs: int
) -> dict[str, dict[str, float]]:
    """Batch-1 latency over ``runs`` single examples (cycling through ``inputs``), and the latency
    of ``inputs`` as one batch (a tenth as many runs: each holds ``len(inputs)`` examples)."""
    singles = [inputs[index % len(inputs)][None] for index in range(runs)]
    return {
        "batch_1": milliseconds(session, singles),
        f"batch_{len(inputs)}": milliseconds(session, [inputs] * max(WARMUP_RUNS, runs // 10)),
    }
