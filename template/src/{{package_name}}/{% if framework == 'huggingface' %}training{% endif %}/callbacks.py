"""The training callback protocol, the same for every framework the project supports.

A callback subclasses :class:`Callback`, whose hooks do nothing, and overrides only those
it needs. Pass callbacks to the ``Trainer`` (``Trainer(..., callbacks=[MyCallback()])``);
the trainer itself never changes.

Hooks, in the order they run::

    on_fit_start(state)                   once, after a resume has restored the state
    on_batch_end(state, loss)             after every training batch (micro-batch when
                                          gradients are accumulated)
    on_validation_end(state, metrics)     after each epoch's validation
    on_epoch_end(state, record)           after the epoch's checkpoint is written
    on_fit_end(state, result)             once, when training finished normally
    close()                               always last, also when training failed

``loss`` in ``on_batch_end`` is the batch's loss as a detached tensor on the device
(``None`` where the framework does not expose it: the Hugging Face Trainer). Reading its
value (``float(loss)``) makes the host wait for the device, so do it only every N steps.
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
    """Whether ``callback`` implements ``hook`` itself, rather than inheriting the no-op.

    The trainer calls per-batch hooks only on callbacks that define them, so callbacks
    that only watch epochs add nothing to a training step.
    """
    method = getattr(type(callback), hook, None)
    return method is not None and method is not getattr(Callback, hook)
