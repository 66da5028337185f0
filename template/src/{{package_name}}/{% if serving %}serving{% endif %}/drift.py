"""Input drift in the server: a rolling window of request inputs, checked against the reference profile.

Every validated request's model inputs are handed to :meth:`DriftMonitor.observe`, which
only queues them (constant time on the event loop; never blocks or fails a prediction).
A background thread turns them into the monitored features (``monitoring/features.py``),
keeps the latest ``serve.drift.window`` examples, and every ``serve.drift.interval_s``
seconds (when new examples arrived) runs the same check as ``make drift`` on the window
and sets the gauges:

* ``serving_input_drift_psi{feature}``: population stability index of the window;
* ``serving_input_drift_p_value{feature}``: p-value of the feature's two-sample test;
* ``serving_input_drift_flagged{feature}``: 1 when the feature is flagged (see the rule in
  ``monitoring/detector.py``), else 0;
* ``serving_input_drift_window_examples``: examples in the window.

With several workers each keeps its own window of the requests it answered; the gauges
report the worst worker (largest PSI and flag, smallest p-value) among the live ones, so
an alert fires when any worker sees drift. Under bursts larger than the queue, examples
are skipped rather than queued without bound: drift is a property of the distribution,
which a sample shows as well.
"""

import logging
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Gauge

from ..core.drift.detector import DriftReport, detect_drift
from ..core.drift.features import feature_extractor
from ..core.drift.profile import FeatureExtractor, ReferenceProfile
from ..core.errors import ProjectError
from ..core.service.settings import MonitorSettings
from .metrics import PREFIX

log = logging.getLogger(__name__)

# Examples waiting for the background thread; more are skipped until it catches up.
MAX_PENDING_EXAMPLES = 4096


class DriftGauges:
    """The drift gauges, registered in the app's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.psi = Gauge(
            f"{PREFIX}_input_drift_psi",
            "Population stability index of the monitored input feature over the rolling window",
            ["feature"],
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.p_value = Gauge(
            f"{PREFIX}_input_drift_p_value",
            "p-value of the two-sample test of the feature's window against the training inputs",
            ["feature"],
            registry=registry,
            multiprocess_mode="livemin",
        )
        self.flagged = Gauge(
            f"{PREFIX}_input_drift_flagged",
            "1 when the feature's window drifted (significant and PSI above the threshold), else 0",
            ["feature"],
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.window = Gauge(
            f"{PREFIX}_input_drift_window_examples",
            "Examples in the drift window (summed over workers)",
            registry=registry,
            multiprocess_mode="livesum",
        )

    def show(self, report: DriftReport) -> None:
        for item in report.features:
            self.psi.labels(feature=item.feature).set(item.psi)
            self.p_value.labels(feature=item.feature).set(item.p_value)
            self.flagged.labels(feature=item.feature).set(int(item.flagged))


class DriftMonitor:
    """Queues request inputs, keeps a rolling window of their features, checks it off the request path."""

    def __init__(
        self,
        profile: ReferenceProfile,
        extractor: FeatureExtractor,
        settings: MonitorSettings,
        registry: CollectorRegistry,
    ) -> None:
        self.profile = profile
        self.extractor = extractor
        self.settings = settings
        self.rule = settings.rule
        self.gauges = DriftGauges(registry)
        self.window: dict[str, deque[Any]] = {
            name: deque(maxlen=settings.window) for name in profile.features
        }
        self.latest: DriftReport | None = None
        self._pending: deque[np.ndarray] = deque()
        self._pending_examples = 0
        self._new_examples = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="drift-monitor", daemon=True)

    def observe(self, inputs: np.ndarray) -> None:
        """Queue one request's model inputs (cheap; skipped when the queue is full)."""
        with self._lock:
            if self._pending_examples + len(inputs) > MAX_PENDING_EXAMPLES:
                return
            self._pending.append(inputs)
            self._pending_examples += len(inputs)

    def start(self) -> None:
        self.gauges.window.set(0)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def check_now(self) -> DriftReport | None:
        """Move the queued inputs into the window and, if there is something new, check it."""
        self._drain()
        if self._new_examples == 0:
            return self.latest
        self._new_examples = 0
        features = {name: np.asarray(values) for name, values in self.window.items()}
        report = detect_drift(self.profile, features, self.rule)
        self.gauges.window.set(report.examples)
        self.gauges.show(report)
        if report.flagged and (self.latest is None or report.flagged != self.latest.flagged):
            log.warning("input drift in %s", ", ".join(report.flagged), extra={"drift": report.to_dict()})
        self.latest = report
        return report

    def _drain(self) -> None:
        with self._lock:
            pending, self._pending, self._pending_examples = list(self._pending), deque(), 0
        for inputs in pending:
            for name, values in self.extractor(inputs).items():
                if name in self.window:
                    self.window[name].extend(values.tolist())
            self._new_examples += len(inputs)

    def _run(self) -> None:
        """Check every ``interval_s`` seconds until closed; a failing check is logged, never raised."""
        while not self._stop.wait(self.settings.interval_s):
            started = time.perf_counter()
            try:
                self.check_now()
            except Exception:
                log.exception("the drift check failed; predictions are unaffected")
            log.debug("drift check took %.1f ms", 1000 * (time.perf_counter() - started))


class DisabledMonitor:
    """Stands in when drift monitoring is off or the model has no reference profile."""

    def observe(self, inputs: np.ndarray) -> None:
        del inputs

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass


def read_profile(path: Path) -> ReferenceProfile | None:
    """The model's reference profile, or ``None`` (with a warning) when it cannot be read."""
    try:
        return ReferenceProfile.load(path)
    except ProjectError as error:
        log.warning("input drift is not monitored: %s", error)
        return None


def create_drift_monitor(
    settings: MonitorSettings,
    preprocessor: Any,
    profile: ReferenceProfile | None,
    registry: CollectorRegistry,
) -> DriftMonitor | DisabledMonitor:
    """A monitor of ``preprocessor``'s inputs against ``profile``, or a stand-in when there is none."""
    if not settings.enabled or profile is None:
        return DisabledMonitor()
    return DriftMonitor(profile, feature_extractor(preprocessor), settings, registry)
