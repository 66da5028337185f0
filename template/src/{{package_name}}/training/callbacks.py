"""The training callback protocol, the same for every framework: subclass :class:`Callback`,
override the hooks you need and pass it to ``Trainer(..., callbacks=[...])``.

Hooks run in this order: ``on_fit_start`` (after a resume), ``on_batch_end`` (every batch,
micro-batches included), ``on_validation_end``, ``on_epoch_end`` (after the checkpoint is
written), ``on_fit_end`` (normal end) and ``close`` (always, also on failure). Reading the
batch loss (``float(loss)``) makes the host wait for the device, so do it every N steps.
Setting ``state.should_stop = True`` in any hook ends training after the current epoch.
"""

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FitState:
    """Where training stands, as callbacks see it (``epoch`` counts completed epochs)."""

    max_epochs: int
    epoch: int = 0
    global_step: int = 0  # optimizer steps taken
    batches_per_epoch: int = 0  # training batches of an epoch (in each process), set before on_fit_start
    best_metric: float | None = None
    should_stop: bool = False


@dataclass
class FitResult:
    """What ``Trainer.fit`` achieved, for the caller to report and save."""

    best_metric: float | None
    best_epoch: int | None
    best_checkpoint: str | None
    epochs_completed: int
    global_step: int
    stopped_early: bool
    history: list[dict[str, float]] = field(default_factory=list)


class Callback:
    """Base class of training callbacks: every hook does nothing until overridden."""

    def on_fit_start(self, state: FitState) -> None:
        """Training is about to start (or continue, after a resume)."""

    def on_batch_end(self, state: FitState, loss: Any) -> None:
        """A training batch finished; ``loss`` is a detached device tensor or ``None``."""

    def on_validation_end(self, state: FitState, metrics: dict[str, float]) -> None:
        """The epoch's validation finished; ``metrics`` includes ``loss``."""

    def on_epoch_end(self, state: FitState, record: dict[str, float]) -> None:
        """The epoch finished; ``record`` is its line of ``history.json``."""

    def on_fit_end(self, state: FitState, result: FitResult) -> None:
        """Training finished normally."""

    def close(self) -> None:
        """Release resources (files, writers); called even when training failed."""


def overrides(callback: object, hook: str) -> bool:
    """Whether ``callback`` implements ``hook`` itself (per-batch hooks are called only on those
    that do, so callbacks that only watch epochs add nothing to a training step)."""
    method = getattr(type(callback), hook, None)
    return method is not None and method is not getattr(Callback, hook)
