"""Training stage: the Trainer loop, its callbacks, optimizer and schedule (checkpoint I/O is
``core/checkpoint.py``, shared with every stage that loads the model)."""

from .callbacks import Callback, FitResult, FitState
from .trainer import Trainer, TrainerSettings

__all__ = ["Callback", "FitResult", "FitState", "Trainer", "TrainerSettings"]
