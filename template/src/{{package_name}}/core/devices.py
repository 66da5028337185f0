"""Where a stage runs, and the settings every trainer shares, checked once for both trainers."""

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


def check_run_settings(*, max_epochs: int, accelerator: str, mixed_precision: str) -> None:
    """Refuse the ``trainer`` values no trainer can run with, naming the allowed ones."""
    if max_epochs < 1:
        raise ProjectError("trainer.max_epochs must be at least 1.")
    if accelerator not in ACCELERATORS:
        raise ProjectError(f"trainer.accelerator must be auto, cpu or cuda, got '{accelerator}'.")
    if mixed_precision not in MIXED_PRECISION:
        raise ProjectError(f"trainer.mixed_precision must be no, fp16 or bf16, got '{mixed_precision}'.")
