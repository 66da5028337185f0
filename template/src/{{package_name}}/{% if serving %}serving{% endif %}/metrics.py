"""Prometheus metrics of the server, named by Prometheus conventions (base units, ``_total``).

With several uvicorn workers each worker is a process with its own counters; prometheus
client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set up by ``serve.py``) writes them
to shared files and ``/metrics`` adds them up, whichever worker answers the scrape. The
variable must be set before ``prometheus_client`` is imported, which is why ``serve.py``
sets it before uvicorn starts the workers.

Every app gets its own registry, so several apps can live in one process (tests).
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
PREFIX = "serving"

REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Forward passes of small models take fractions of a millisecond: fine buckets at the low end,
# so that medians read from the histogram are meaningful.
INFERENCE_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075,
    0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip
QUEUE_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)

# ``*_created`` timestamps double the series count and no dashboard here reads them.
disable_created_metrics()


def multiprocess_mode() -> bool:
    """Whether metrics go to shared files (several workers) rather than process memory."""
    return bool(os.environ.get(MULTIPROCESS_ENV))


class ServingMetrics:
    """The server's metric objects, and their exposition for ``/metrics``."""

    def __init__(self, class_names: Sequence[str]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.requests = Counter(
            f"{PREFIX}_requests_total",
            "HTTP requests answered, by route, method and status code",
            ["route", "method", "status"],
            registry=registry,
        )
        self.request_duration = Histogram(
            f"{PREFIX}_request_duration_seconds",
            "Time from receiving a request to sending its answer",
            ["route", "method"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            f"{PREFIX}_requests_in_flight",
            "Requests being handled now",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.queue_wait = Histogram(
            f"{PREFIX}_queue_wait_seconds",
            "Time a request's instances waited before their forward pass started, by model version",
            ["model_version"],
            buckets=QUEUE_BUCKETS,
            registry=registry,
        )
        self.inference_duration = Histogram(
            f"{PREFIX}_inference_duration_seconds",
            "Duration of one forward pass (one batch), by model version",
            ["model_version"],
            buckets=INFERENCE_BUCKETS,
            registry=registry,
        )
        self.batch_size = Histogram(
            f"{PREFIX}_batch_size",
            "Instances per forward pass, by model version",
            ["model_version"],
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.predictions = Counter(
            f"{PREFIX}_predictions_total",
            "Predicted instances, by model version and predicted class (classification only)",
            ["model_version", "label"],
            registry=registry,
        )
        self.ready_workers = Gauge(
            f"{PREFIX}_ready_workers",
            "Worker processes whose model is loaded and warmed up",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.model_info = Gauge(
            f"{PREFIX}_model_info",
            "The served model: 1 for its version, backend and task",
            ["version", "backend", "task"],
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.class_names = tuple(class_names)

    def for_version(self, version: str) -> "VersionMetrics":
        """The prediction metrics of one served model (champion or challenger), labelled with its version."""
        for label in self.class_names:  # every class is exported from the start, at zero
            self.predictions.labels(model_version=version, label=label)
        return VersionMetrics(
            version,
            self.queue_wait.labels(model_version=version),
            self.inference_duration.labels(model_version=version),
            self.batch_size.labels(model_version=version),
            self.predictions,
        )

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type (summed over workers in multiprocess mode)."""
        if multiprocess_mode():
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def close(self) -> None:
        """Drop this worker's live gauges (in-flight requests, model info) from the shared files."""
        if multiprocess_mode():
            multiprocess.mark_process_dead(os.getpid())


@dataclass(frozen=True)
class VersionMetrics:
    """One model version's prediction metrics: what its batcher and predictor observe."""

    version: str
    queue_wait: Histogram
    inference_duration: Histogram
    batch_size: Histogram
    predictions: Counter

    def count_predictions(self, label: str, count: int) -> None:
        self.predictions.labels(model_version=self.version, label=label).inc(count)
