"""Training: ``transformers.Trainer``, wrapped to follow the project's conventions."""

from .trainer import FitResult, TrainerSettings, fit

__all__ = ["FitResult", "TrainerSettings", "fit"]
