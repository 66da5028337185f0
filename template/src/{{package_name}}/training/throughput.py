"""Training throughput per epoch: samples per second and, on a GPU, peak memory.

A callback of the shared protocol, so both frameworks' trainers report it the same way. It
adds no device synchronisation to a step: it counts batches as they end and reads the clock
once per epoch. The figure is the training phase's: from the epoch's start to its last batch,
validation excluded. A batch counts as ``data.batch_size`` samples in every process, so a
shorter last batch makes it an estimate within one batch of the truth.

``make gpu-check`` reads the ``report`` file it writes at the end of training (training/gpu_check.py).
"""

import json
import logging
import os
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from ..core.atomic import write_text_atomically
from .callbacks import Callback, FitResult, FitState

log = logging.getLogger(__name__)


class Throughput(Callback):
    """Logs ``samples/s`` after every epoch; writes every epoch's figures to ``report`` (if set)."""

    def __init__(self, batch_size: int, report: str | None = None) -> None:
        # Under torchrun or accelerate every process trains its own batches at once.
        self.samples_per_batch = batch_size * int(os.environ.get("WORLD_SIZE", "1"))
        self.report = Path(report) if report else None
        self.epochs: list[dict[str, float]] = []
        self._batches = 0
        self._started = self._last_batch = 0.0

    def on_fit_start(self, state: FitState) -> None:
        self._start_epoch()

    def on_batch_end(self, state: FitState, loss: Any) -> None:
        self._batches += 1
        self._last_batch = time.perf_counter()

    def on_epoch_end(self, state: FitState, record: dict[str, float]) -> None:
        seconds = max(self._last_batch - self._started, 1e-9)
        figures = {"epoch": state.epoch, "samples_per_s": self._batches * self.samples_per_batch / seconds}
        if torch.cuda.is_available():
            figures["peak_memory_mib"] = torch.cuda.max_memory_allocated() / 2**20
        self.epochs.append(figures)
        memory = (
            f", peak GPU memory {figures['peak_memory_mib']:.0f} MiB" if "peak_memory_mib" in figures else ""
        )
        log.info("epoch %d: %.0f samples/s%s", state.epoch, figures["samples_per_s"], memory)
        self._start_epoch()

    def on_fit_end(self, state: FitState, result: FitResult) -> None:
        if self.report is None or not self.epochs:
            return
        # The first epoch pays for warm-up (cuDNN autotuning, torch.compile): the steady figure leaves it out.
        steady = self.epochs[1:] or self.epochs
        summary = {
            "samples_per_s": statistics.median(epoch["samples_per_s"] for epoch in steady),
            "peak_memory_mib": max((epoch.get("peak_memory_mib", 0.0) for epoch in self.epochs), default=0.0),
            "epochs": self.epochs,
        }
        self.report.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(self.report, json.dumps(summary, indent=2))

    def _start_epoch(self) -> None:
        self._batches = 0
        self._started = self._last_batch = time.perf_counter()
