"""The ``trainer`` settings, one class for both frameworks' trainers (``trainer.py``)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..core.config import settings_from_mapping
from ..core.devices import check_run_settings
from ..core.errors import ProjectError


@dataclass(frozen=True)
class TrainerSettings:
    """The ``trainer`` config group (``configs/trainer/default.yaml``, the one place defaults live)."""

    max_epochs: int
    optimizer: Mapping[str, Any]
    scheduler: Mapping[str, Any] | None
    accumulate_grad_batches: int
    grad_clip_norm: float | None
    monitor: str
    early_stopping_patience: int | None
    accelerator: str
    mixed_precision: str
    finite_check_interval: int
    log_every_n_steps: int
    limit_train_batches: int | None
    limit_val_batches: int | None
    resume: bool | str
    distributed: Mapping[str, Any] | None  # trainer=ddp's settings (configs/trainer/ddp.yaml)
    speed: Mapping[str, Any] | None  # the GPU speed paths (training/speed.py, a _target_ config)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "TrainerSettings":
        settings: TrainerSettings = settings_from_mapping(cls, values, group="trainer", error=ProjectError)
        check_run_settings(settings)
        return settings
