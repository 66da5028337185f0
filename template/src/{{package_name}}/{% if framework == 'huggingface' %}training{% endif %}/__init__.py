"""Training: ``transformers.Trainer``, wrapped in the project's training interface."""

from .callbacks import Callback, FitResult, FitState
from .trainer import Trainer, TrainerSettings

__all__ = ["Callback", "FitResult", "FitState", "Trainer", "TrainerSettings"]
