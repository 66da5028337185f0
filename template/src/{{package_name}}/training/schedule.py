"""Learning-rate schedule: linear warm-up, then cosine decay.

Warm-up keeps AdamW's early, poorly-estimated second moments from taking large steps;
cosine decay then anneals smoothly to ``min_lr_ratio`` of the peak rate by the last step.

The rate is a pure function of the step count, so the schedule's whole state is one
integer. Setting it directly costs a fraction of ``torch.optim.lr_scheduler.LambdaLR``'s
per-step bookkeeping, which matters when a step of a small model takes well under a
millisecond.

It is the ``trainer.scheduler`` config target (``_partial_: true``): the config gives
``warmup_fraction`` and ``min_lr_ratio``, the trainer adds the optimizer and the number of
optimizer steps the run will take. Any scheduler with that call signature and
``step``/``state_dict``/``load_state_dict`` (e.g. ``torch.optim.lr_scheduler.OneCycleLR``
with ``max_lr``) can take its place.
"""

import math
from typing import Any

from torch.optim import Optimizer


def warmup_cosine_factor(step: int, *, warmup_steps: int, total_steps: int, min_lr_ratio: float) -> float:
    """Multiplier of the peak learning rate for the ``step``-th optimizer step (0-based)."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return min_lr_ratio + (1.0 - min_lr_ratio) * cosine


class WarmupCosineSchedule:
    """Sets each parameter group's ``lr`` to its peak rate times the schedule factor."""

    def __init__(
        self, optimizer: Optimizer, *, total_steps: int, warmup_fraction: float, min_lr_ratio: float
    ) -> None:
        if not 0.0 <= warmup_fraction < 1.0 or not 0.0 <= min_lr_ratio <= 1.0:
            raise ValueError(
                f"warmup_fraction must lie in [0, 1) and min_lr_ratio in [0, 1]; got {warmup_fraction} "
                f"and {min_lr_ratio} (trainer.scheduler)."
            )
        self.optimizer = optimizer
        self.warmup_steps = int(warmup_fraction * total_steps)
        self.total_steps = total_steps
        self.min_lr_ratio = min_lr_ratio
        self.peak_lrs = [group["lr"] for group in optimizer.param_groups]
        self.steps_taken = 0
        self._apply()

    def _apply(self) -> None:
        factor = warmup_cosine_factor(
            self.steps_taken,
            warmup_steps=self.warmup_steps,
            total_steps=self.total_steps,
            min_lr_ratio=self.min_lr_ratio,
        )
        for group, peak in zip(self.optimizer.param_groups, self.peak_lrs, strict=True):
            group["lr"] = peak * factor

    def step(self) -> None:
        """Advance one optimizer step (call after ``optimizer.step()``)."""
        self.steps_taken += 1
        self._apply()

    def get_last_lr(self) -> list[float]:
        """The current rate of each parameter group (what ``LRScheduler.get_last_lr`` returns)."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        return {
            "steps_taken": self.steps_taken,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
            "min_lr_ratio": self.min_lr_ratio,
            "peak_lrs": list(self.peak_lrs),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps_taken = int(state["steps_taken"])
        self.warmup_steps = int(state["warmup_steps"])
        self.total_steps = int(state["total_steps"])
        self.min_lr_ratio = float(state["min_lr_ratio"])
        self.peak_lrs = [float(lr) for lr in state["peak_lrs"]]
        self._apply()
