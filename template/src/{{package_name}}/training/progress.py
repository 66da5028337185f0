"""Training progress: one bar over every batch of the run, with the time left (``core/console.py``).

A callback of the shared protocol, configured like the throughput callback (``callbacks.progress``
in configs/train.yaml; ``~callbacks.progress`` turns it off), so both frameworks' trainers show
the same bar and the training loop knows nothing of it. In a terminal it is a bar redrawn in
place; piped to a file or in CI, a log line at each tenth of the run (at most one per
``interval_s`` seconds) and one at the end. Under torchrun or accelerate only the first
process (rank 0) shows it. It reads no loss on a step (that would wait for the device): the
note after the figures is the last finished epoch's losses.
"""

import logging
import os
from typing import Any

from ..core.console import DEFAULT_INTERVAL_S, Progress
from .callbacks import Callback, FitResult, FitState

log = logging.getLogger(__name__)


class TrainingProgress(Callback):
    """A :class:`Progress` over ``max_epochs x batches_per_epoch`` batches, a resumed run's done ones included."""

    def __init__(self, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self.shown = int(os.environ.get("RANK", "0")) == 0
        self.progress: Progress | None = None

    def on_fit_start(self, state: FitState) -> None:
        if not self.shown or not state.batches_per_epoch:
            return
        self.progress = Progress(
            "train",
            state.max_epochs * state.batches_per_epoch,
            initial=state.epoch * state.batches_per_epoch,
            interval_s=self.interval_s,
            logger=log,
        )
        self.progress.set_note(f"epoch {state.epoch + 1}/{state.max_epochs}")

    def on_batch_end(self, state: FitState, loss: Any) -> None:
        if self.progress is not None:
            self.progress.update()

    def on_epoch_end(self, state: FitState, record: dict[str, float]) -> None:
        if self.progress is None:
            return
        losses = ", ".join(
            f"{name} {record[name]:.4f}" for name in ("train_loss", "val_loss") if name in record
        )
        following = f"epoch {state.epoch + 1}/{state.max_epochs}; " if state.epoch < state.max_epochs else ""
        self.progress.set_note(f"{following}{losses}")

    def on_fit_end(self, state: FitState, result: FitResult) -> None:
        self.close()  # the bar is finished before the stage's summary is logged

    def close(self) -> None:
        if self.progress is not None:
            self.progress.close()
            self.progress = None
