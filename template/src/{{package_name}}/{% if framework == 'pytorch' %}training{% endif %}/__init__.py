"""Training stage: the Trainer loop and its learning-rate schedule (checkpoint I/O is
``core/checkpoint.py``, shared with every stage that loads the model)."""

from .trainer import FitResult, Trainer, TrainerSettings

__all__ = ["FitResult", "Trainer", "TrainerSettings"]
