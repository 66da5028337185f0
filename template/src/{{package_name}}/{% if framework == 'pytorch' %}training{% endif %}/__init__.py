"""Training: the Trainer loop, its learning-rate schedule and checkpoint I/O."""

from .checkpoint import load_checkpoint, save_checkpoint
from .trainer import FitResult, Trainer, TrainerSettings

__all__ = ["FitResult", "Trainer", "TrainerSettings", "load_checkpoint", "save_checkpoint"]
