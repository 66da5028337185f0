"""The training loop: AdamW, warm-up + cosine schedule, clipping, AMP, early stopping,
checkpoints and exact resume.

The loop is deliberately lean. On every step it does only what training needs: no
``loss.item()``, no metric computation, no logging unless ``log_every_n_steps`` asks for
it. Each of those forces the host to wait for the device, and on a small model that wait
costs more than the step itself. Losses are collected on the device and inspected every
``finite_check_interval`` steps, which is when a NaN/Inf loss is caught and reported with
the exact step it first appeared.
"""

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from ..core.checkpoint import (
    BEST_CHECKPOINT,
    LAST_CHECKPOINT,
    capture_rng_state,
    load_checkpoint,
    remove_interrupted_saves,
    restore_rng_state,
    save_checkpoint,
)
from ..core.config import settings_from_mapping
from ..core.devices import check_run_settings, resolve_device
from ..core.errors import CheckpointError, NonFiniteLossError, ProjectError
from ..core.metrics import is_better, metric_direction
from ..core.predict import collect_outputs
from .schedule import WarmupCosineSchedule

log = logging.getLogger(__name__)

MetricFunction = Callable[[np.ndarray, np.ndarray], Mapping[str, Any]]
EpochCallback = Callable[[dict[str, float]], None]


@dataclass(frozen=True)
class TrainerSettings:
    """The ``trainer`` config group; see ``configs/trainer/default.yaml`` for each field."""

    max_epochs: int = 30
    learning_rate: float = 3e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.05
    min_lr_ratio: float = 0.01
    grad_clip_norm: float | None = 1.0
    monitor: str = "loss"
    early_stopping_patience: int | None = 5
    accelerator: str = "auto"
    mixed_precision: str = "no"
    finite_check_interval: int = 50
    log_every_n_steps: int = 0
    limit_train_batches: int | None = None
    limit_val_batches: int | None = None
    resume: bool | str = False

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "TrainerSettings":
        settings: TrainerSettings = settings_from_mapping(cls, values, group="trainer", error=ProjectError)
        check_run_settings(
            max_epochs=settings.max_epochs,
            accelerator=settings.accelerator,
            mixed_precision=settings.mixed_precision,
        )
        if settings.finite_check_interval < 1:
            raise ProjectError("trainer.finite_check_interval must be at least 1.")
        return settings


@dataclass
class FitResult:
    """What :meth:`Trainer.fit` achieved, for the caller to report and save."""

    best_metric: float | None
    best_epoch: int | None
    epochs_completed: int
    global_step: int
    stopped_early: bool
    history: list[dict[str, float]] = field(default_factory=list)


LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def regression_loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean squared error between ``(N, 1)`` outputs and ``(N,)`` standardised targets."""
    return nn.functional.mse_loss(outputs.squeeze(-1).float(), targets)


def loss_for_task(task: str) -> LossFunction:
    """Cross-entropy for classification, MSE for regression (plain functions: calling an
    ``nn.Module`` loss adds hook bookkeeping to every step)."""
    return nn.functional.cross_entropy if task == "classification" else regression_loss


def clip_gradients(gradients: list[torch.Tensor], max_norm: float) -> None:
    """Scale ``gradients`` in place so their global L2 norm is at most ``max_norm``.

    The same arithmetic as ``torch.nn.utils.clip_grad_norm_(foreach=True)`` in four
    foreach operations, without its per-call regrouping of tensors by device and dtype,
    which on a small model costs more than the clipping itself. The scale is computed on
    the device and never read by the host, so clipping adds no synchronisation.
    """
    norms = torch._foreach_norm(gradients)
    total_norm = torch.linalg.vector_norm(torch.stack(norms))
    scale = torch.clamp(max_norm / (total_norm + 1e-6), max=1.0)
    torch._foreach_mul_(gradients, scale)


class Trainer:
    """Fits a model, validating every epoch and keeping ``best.pt`` and ``last.pt``.

    ``metadata`` (the fitted preprocessor, the resolved config) is stored in every
    checkpoint, so a checkpoint alone is enough to evaluate or serve the model.
    ``epoch_callbacks`` receive each epoch's record (losses, validation metrics, learning
    rate), e.g. an experiment tracker; they run once per epoch, never per step.
    """

    def __init__(
        self,
        model: nn.Module,
        settings: TrainerSettings,
        *,
        loss_fn: LossFunction,
        metric_fn: MetricFunction,
        checkpoint_dir: Path,
        seed: int,
        metadata: Mapping[str, Any] | None = None,
        epoch_callbacks: Sequence[EpochCallback] = (),
    ) -> None:
        self.settings = settings
        self.device = resolve_device(settings.accelerator)
        self.model = model.to(self.device)
        self.loss_fn = loss_fn
        self.metric_fn = metric_fn
        self.checkpoint_dir = Path(checkpoint_dir)
        self.seed = seed
        self.metadata = dict(metadata or {})
        self.epoch_callbacks = list(epoch_callbacks)
        self.optimizer = self._build_optimizer()
        self.amp_dtype = self._resolve_amp_dtype()
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.scheduler: WarmupCosineSchedule | None = None
        self.epoch = 0
        self.global_step = 0
        self.best_metric: float | None = None
        self.best_epoch: int | None = None
        self.epochs_without_improvement = 0
        self.stopped_early = False
        self.history: list[dict[str, float]] = []
        self._trainable = [p for p in self.model.parameters() if p.requires_grad]
        self._single_device = len({(p.device, p.dtype) for p in self._trainable}) <= 1

    @property
    def best_checkpoint(self) -> Path:
        return self.checkpoint_dir / BEST_CHECKPOINT

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoint_dir / LAST_CHECKPOINT

    # ------------------------------------------------------------------ set-up
    def _build_optimizer(self) -> torch.optim.Optimizer:
        """AdamW (fused where available) with weight decay on weight matrices only."""
        decay = [p for p in self.model.parameters() if p.requires_grad and p.ndim >= 2]
        no_decay = [p for p in self.model.parameters() if p.requires_grad and p.ndim < 2]
        groups = [
            {"params": decay, "weight_decay": self.settings.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        # The fused kernel updates all parameters in one pass instead of one tensor at a
        # time; it exists for floating-point parameters on CPU and CUDA.
        fused = all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in decay + no_decay)
        return torch.optim.AdamW(groups, lr=self.settings.learning_rate, fused=fused or None)

    def _resolve_amp_dtype(self) -> torch.dtype | None:
        """The autocast dtype, or ``None`` when AMP is off (always on CPU)."""
        if self.device.type != "cuda" or self.settings.mixed_precision == "no":
            return None
        if self.settings.mixed_precision == "bf16" and not torch.cuda.is_bf16_supported():
            log.warning("this GPU does not support bf16; using fp16 with gradient scaling instead")
            return torch.float16
        return torch.bfloat16 if self.settings.mixed_precision == "bf16" else torch.float16

    def _autocast(self) -> AbstractContextManager:
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def _steps_per_epoch(self, loader: DataLoader) -> int:
        limit = self.settings.limit_train_batches
        return len(loader) if limit is None else min(len(loader), limit)

    def _build_scheduler(self, steps_per_epoch: int) -> WarmupCosineSchedule:
        total_steps = steps_per_epoch * self.settings.max_epochs
        return WarmupCosineSchedule(
            self.optimizer,
            warmup_steps=int(self.settings.warmup_fraction * total_steps),
            total_steps=total_steps,
            min_lr_ratio=self.settings.min_lr_ratio,
        )

    # ------------------------------------------------------------------ loop
    def fit(self, train_loader: DataLoader, val_loader: DataLoader) -> FitResult:
        """Train until ``max_epochs`` or early stopping; resume first if configured."""
        remove_interrupted_saves(self.checkpoint_dir)
        steps_per_epoch = self._steps_per_epoch(train_loader)
        if steps_per_epoch == 0:
            raise ProjectError("the training split yields no batches; add data or lower data.batch_size.")
        self.scheduler = self._build_scheduler(steps_per_epoch)
        if self.settings.resume:
            self._resume_from(self._resume_path())
        while self.epoch < self.settings.max_epochs and not self.stopped_early:
            train_loss = self._train_one_epoch(train_loader, steps_per_epoch)
            validation = self._validate(val_loader)
            self._end_epoch(train_loss, validation)
        return FitResult(
            best_metric=self.best_metric,
            best_epoch=self.best_epoch,
            epochs_completed=self.epoch,
            global_step=self.global_step,
            stopped_early=self.stopped_early,
            history=list(self.history),
        )

    def _train_one_epoch(self, loader: DataLoader, steps: int) -> float:
        """One pass over the training data; returns the epoch's mean loss."""
        self.model.train()
        if loader.generator is not None:
            # Re-seeding per epoch makes the shuffle order a function of (seed, epoch) only,
            # which is what lets a resumed run replay exactly the same batches.
            loader.generator.manual_seed(self.seed + self.epoch)
        losses: list[torch.Tensor] = []  # detached scalars, still on the device
        check_every = self.settings.finite_check_interval
        log_every = self.settings.log_every_n_steps
        transfer = self.device.type != "cpu"
        assert self.scheduler is not None
        for batch_index, (features, targets) in enumerate(loader):
            if batch_index >= steps:
                break
            if transfer:
                features = features.to(self.device, non_blocking=True)
                targets = targets.to(self.device, non_blocking=True)
            with self._autocast():
                loss = self.loss_fn(self.model(features), targets)
            self.optimizer.zero_grad(set_to_none=True)
            self._backward_and_step(loss)
            self.scheduler.step()
            losses.append(loss.detach())
            self.global_step += 1
            if len(losses) % check_every == 0:
                self._raise_if_non_finite(losses, len(losses) - check_every)
            if log_every and self.global_step % log_every == 0:
                log.info("step %d loss %.4f", self.global_step, loss.item())
        remainder = len(losses) % check_every
        if remainder:
            self._raise_if_non_finite(losses, len(losses) - remainder)
        return float(torch.stack(losses).mean())

    def _backward_and_step(self, loss: torch.Tensor) -> None:
        clip = self.settings.grad_clip_norm
        if self.scaler.is_enabled():
            self.scaler.scale(loss).backward()
            if clip:
                self.scaler.unscale_(self.optimizer)
                self._clip()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            return
        loss.backward()
        if clip:
            self._clip()
        self.optimizer.step()

    def _clip(self) -> None:
        gradients = [p.grad for p in self._trainable if p.grad is not None]
        assert self.settings.grad_clip_norm is not None
        if self._single_device:
            clip_gradients(gradients, self.settings.grad_clip_norm)
        else:  # parameters spread over devices: let torch group them
            nn.utils.clip_grad_norm_(self._trainable, self.settings.grad_clip_norm, foreach=True)

    def _raise_if_non_finite(self, losses: list[torch.Tensor], start: int) -> None:
        """Check ``losses[start:]`` with one host sync; name the first non-finite step."""
        window = torch.stack(losses[start:])
        finite = torch.isfinite(window)
        if bool(finite.all()):
            return
        first_bad = start + int((~finite).nonzero()[0])
        # ``global_step`` already counts the ``len(losses)`` steps of this epoch.
        step = self.global_step - len(losses) + first_bad + 1
        raise NonFiniteLossError(
            f"training loss became {float(losses[first_bad])} at step {step} "
            f"(epoch {self.epoch + 1}, batch {first_bad + 1}). Nothing after the last good "
            f"checkpoint was saved ({self.last_checkpoint}). Lower trainer.learning_rate, "
            "keep trainer.grad_clip_norm set, or look for extreme or non-finite values in the data."
        )

    def _validate(self, loader: DataLoader) -> dict[str, float]:
        outputs, targets = collect_outputs(
            self.model,
            loader,
            self.device,
            autocast=self._autocast(),
            limit_batches=self.settings.limit_val_batches,
        )
        metrics = {
            name: float(value)
            for name, value in self.metric_fn(targets.numpy(), outputs.numpy()).items()
            if isinstance(value, (int, float))
        }
        metrics["loss"] = float(self.loss_fn(outputs, targets))
        if self.settings.monitor not in metrics:
            raise ProjectError(
                f"trainer.monitor='{self.settings.monitor}' is not a validation metric; "
                f"choose one of {', '.join(sorted(metrics))}."
            )
        return metrics

    def _end_epoch(self, train_loss: float, validation: dict[str, float]) -> None:
        monitor = self.settings.monitor
        value = validation[monitor]
        improved = is_better(value, self.best_metric, monitor)
        if improved:
            self.best_metric, self.best_epoch = value, self.epoch + 1
            self.epochs_without_improvement = 0
        else:
            self.epochs_without_improvement += 1
        self.epoch += 1
        patience = self.settings.early_stopping_patience
        self.stopped_early = bool(patience) and self.epochs_without_improvement >= patience
        record = {"epoch": self.epoch, "train_loss": train_loss, "lr": self.optimizer.param_groups[0]["lr"]}
        record.update({f"val_{name}": metric for name, metric in validation.items()})
        self.history.append(record)
        for callback in self.epoch_callbacks:
            callback(record)
        state = self.state_dict()
        if improved:
            save_checkpoint(state, self.best_checkpoint)
        save_checkpoint(state, self.last_checkpoint)
        log.info(
            "epoch %d/%d train_loss=%.4f val_loss=%.4f val_%s=%.4f%s",
            self.epoch,
            self.settings.max_epochs,
            train_loss,
            validation["loss"],
            monitor,
            value,
            " (best)" if improved else "",
        )
        if self.stopped_early:
            log.info(
                "early stopping: val_%s has not improved (%s) for %d epochs; best %.4f at epoch %s",
                monitor,
                metric_direction(monitor),
                patience,
                self.best_metric if self.best_metric is not None else math.nan,
                self.best_epoch,
            )

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this run exactly, as ``weights_only``-safe data."""
        assert self.scheduler is not None
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "epoch": self.epoch,
            "global_step": self.global_step,
            "best_metric": self.best_metric,
            "best_epoch": self.best_epoch,
            "monitor": self.settings.monitor,
            "epochs_without_improvement": self.epochs_without_improvement,
            "stopped_early": self.stopped_early,
            "history": self.history,
            "rng": capture_rng_state(),
            **self.metadata,
        }

    def _resume_path(self) -> Path:
        resume = self.settings.resume
        if resume is True or (isinstance(resume, str) and resume.lower() in ("true", "last")):
            return self.last_checkpoint
        return Path(str(resume))

    def _resume_from(self, path: Path) -> None:
        """Load a checkpoint written by :meth:`state_dict` and continue from its epoch."""
        if not path.is_file():
            raise CheckpointError(
                f"trainer.resume is set but there is no checkpoint at {path}. "
                "Start a new run without trainer.resume, or pass trainer.resume=<path to a .pt file>."
            )
        state = load_checkpoint(path, map_location=self.device)
        assert self.scheduler is not None
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as error:
            raise CheckpointError(
                f"checkpoint {path} does not fit the configured model or optimizer ({error}). "
                "Resume with the config the run was started with."
            ) from error
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.epoch = int(state["epoch"])
        self.global_step = int(state["global_step"])
        self.best_metric = state["best_metric"]
        self.best_epoch = state["best_epoch"]
        self.epochs_without_improvement = int(state["epochs_without_improvement"])
        self.stopped_early = bool(state["stopped_early"])
        self.history = list(state["history"])
        restore_rng_state(state["rng"])
        log.info("resumed from %s at epoch %d (step %d)", path, self.epoch, self.global_step)
