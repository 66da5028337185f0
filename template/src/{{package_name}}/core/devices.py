"""Where a stage runs, and the settings every trainer shares, checked once for both trainers."""

from typing import Any

import torch

from .errors import ProjectError

ACCELERATORS = ("auto", "cpu", "cuda")
MIXED_PRECISION = ("no", "fp16", "bf16")


def resolve_device(accelerator: str) -> torch.device:
    """``auto`` picks CUDA when a GPU is visible; asking for CUDA without one is an error."""
    if accelerator == "cuda" and not torch.cuda.is_available():
        raise ProjectError("trainer.accelerator=cuda but no CUDA device is visible; use auto or cpu.")
    if accelerator in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def check_run_settings(settings: Any) -> None:
    """Refuse the ``trainer`` settings no trainer can run with, naming the allowed values."""
    for name in ("max_epochs", "finite_check_interval", "accumulate_grad_batches"):
        if getattr(settings, name) < 1:
            raise ProjectError(f"trainer.{name} must be at least 1.")
    if settings.accelerator not in ACCELERATORS:
        raise ProjectError(f"trainer.accelerator must be auto, cpu or cuda, got '{settings.accelerator}'.")
    if settings.mixed_precision not in MIXED_PRECISION:
        raise ProjectError(
            f"trainer.mixed_precision must be no, fp16 or bf16, got '{settings.mixed_precision}'."
        )
