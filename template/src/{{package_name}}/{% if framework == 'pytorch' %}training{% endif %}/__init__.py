"""Training: the Trainer loop, its callbacks, optimizer and schedule, and checkpoint I/O."""

from .callbacks import Callback, FitResult, FitState
from .checkpoint import load_checkpoint, save_checkpoint
from .trainer import Trainer, TrainerSettings

__all__ = [
    "Callback",
    "FitResult",
    "FitState",
    "Trainer",
    "TrainerSettings",
    "load_checkpoint",
    "save_checkpoint",
]
