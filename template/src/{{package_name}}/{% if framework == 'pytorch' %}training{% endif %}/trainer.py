"""The training loop: ``Trainer(model, settings, ...).fit(train_loader, val_loader) -> FitResult``,
the same interface and callbacks as the Hugging Face variant; batches follow ``core/predict.py``.

The loop is deliberately lean: no ``loss.item()``, metrics or logging on a step unless
asked, because each makes the host wait for the device, which on a small model costs more
than the step. Losses stay on the device and are checked for NaN/Inf every
``finite_check_interval`` steps, naming the step where the first one appeared.
"""

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
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
from ..core.devices import resolve_device
from ..core.errors import CheckpointError, NonFiniteLossError, ProjectError
from ..core.metrics import is_better
from ..core.predict import collect_outputs, forward, move_to_device
from ..core.runs import is_resume
from .callbacks import Callback, FitResult, FitState, overrides
from .optimization import build_optimizer, build_scheduler
from .settings import TrainerSettings

log = logging.getLogger(__name__)

MetricFunction = Callable[[np.ndarray, np.ndarray], Mapping[str, Any]]
# The run's progress, saved in every checkpoint and restored by a resume.
PROGRESS = (
    "epoch",
    "global_step",
    "best_metric",
    "best_epoch",
    "epochs_without_improvement",
    "stopped_early",
    "history",
)


LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def regression_loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean squared error between ``(N, 1)`` outputs and ``(N,)`` standardised targets."""
    return nn.functional.mse_loss(outputs.squeeze(-1).float(), targets)


def loss_for_task(task: str) -> LossFunction:
    """Cross-entropy or MSE, as plain functions (an ``nn.Module`` loss adds hook bookkeeping per step)."""
    return nn.functional.cross_entropy if task == "classification" else regression_loss


class Trainer:
    """Fits a model, validating every epoch and keeping ``best.pt`` and ``last.pt``; ``metadata``
    (preprocessor, config) goes into every checkpoint, so one is enough to evaluate or serve."""

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
        callbacks: Sequence[Callback] = (),
    ) -> None:
        self.settings = settings
        self.device = resolve_device(settings.accelerator)
        self.model = model.to(self.device)
        self.loss_fn = loss_fn
        self.metric_fn = metric_fn
        self.checkpoint_dir = Path(checkpoint_dir)
        self.seed = seed
        self.metadata = dict(metadata or {})
        self.callbacks = list(callbacks)
        self._batch_callbacks = [
            callback for callback in self.callbacks if overrides(callback, "on_batch_end")
        ]
        self.optimizer = build_optimizer(settings.optimizer, self.model)
        self.amp_dtype = self._resolve_amp_dtype()
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.scheduler: Any = None
        self.epoch = self.global_step = self.epochs_without_improvement = 0
        self.best_metric: float | None = None
        self.best_epoch: int | None = None
        self.stopped_early = False
        self.history: list[dict[str, float]] = []
        self._trainable = [p for p in self.model.parameters() if p.requires_grad]
        # foreach=True is the fast path on GPUs; None lets torch fall back on devices without it.
        self._foreach = True if all(p.device.type in ("cpu", "cuda") for p in self._trainable) else None
        self.state = FitState(max_epochs=settings.max_epochs)
        self._epoch_start_step = 0  # global_step when the current epoch began
        self.best_checkpoint = self.checkpoint_dir / BEST_CHECKPOINT
        self.last_checkpoint = self.checkpoint_dir / LAST_CHECKPOINT

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

    def _sync_state(self) -> FitState:
        """The callbacks' view of the run, brought up to date."""
        self.state.epoch, self.state.global_step = self.epoch, self.global_step
        self.state.best_metric = self.best_metric
        return self.state

    def fit(self, train_loader: DataLoader, val_loader: DataLoader) -> FitResult:
        """Train until ``max_epochs`` or early stopping, resuming first if configured; every
        callback's ``close`` runs at the end, also when training fails."""
        try:
            return self._fit(train_loader, val_loader)
        finally:
            for callback in self.callbacks:
                callback.close()

    def _fit(self, train_loader: DataLoader, val_loader: DataLoader) -> FitResult:
        remove_interrupted_saves(self.checkpoint_dir)
        limit = self.settings.limit_train_batches
        batches = len(train_loader) if limit is None else min(len(train_loader), limit)
        if batches == 0:
            raise ProjectError("the training split yields no batches; add data or lower data.batch_size.")
        steps_per_epoch = math.ceil(batches / self.settings.accumulate_grad_batches)
        self.scheduler = build_scheduler(
            self.settings.scheduler, self.optimizer, steps_per_epoch * self.settings.max_epochs
        )
        if resume := self.settings.resume:  # true/last: this run's last.pt; otherwise a path
            self._resume_from(self.last_checkpoint if is_resume(resume) else Path(str(resume)))
        for callback in self.callbacks:
            callback.on_fit_start(self._sync_state())
        while self.epoch < self.settings.max_epochs and not self.stopped_early:
            train_loss = self._train_one_epoch(train_loader, batches)
            validation = self._validate(val_loader)
            for callback in self.callbacks:
                callback.on_validation_end(self._sync_state(), validation)
            self._end_epoch(train_loss, validation)
        result = FitResult(
            best_metric=self.best_metric,
            best_epoch=self.best_epoch,
            best_checkpoint=str(self.best_checkpoint) if self.best_epoch is not None else None,
            epochs_completed=self.epoch,
            global_step=self.global_step,
            stopped_early=self.stopped_early,
            history=list(self.history),
        )
        for callback in self.callbacks:
            callback.on_fit_end(self._sync_state(), result)
        return result

    def _train_one_epoch(self, loader: DataLoader, steps: int) -> float:
        """One pass over ``steps`` batches; returns their mean loss. With gradient accumulation
        each loss is divided by the size of its group (a last, shorter group by its own), so a
        group's step is the update of one batch that large."""
        self.model.train()
        if loader.generator is not None:
            # the shuffle order depends on (seed, epoch) only, so a resumed run replays the same batches
            loader.generator.manual_seed(self.seed + self.epoch)
        losses: list[torch.Tensor] = []  # detached scalars, still on the device
        check_every = self.settings.finite_check_interval
        log_every = self.settings.log_every_n_steps
        accumulate = self.settings.accumulate_grad_batches
        transfer = self.device.type != "cpu"
        batch_callbacks = self._batch_callbacks
        self._epoch_start_step = self.global_step
        group_size = 1
        for batch_index, (inputs, targets) in enumerate(loader):
            if batch_index >= steps:
                break
            if transfer:
                inputs, targets = move_to_device((inputs, targets), self.device)
            with self._autocast():
                loss = self.loss_fn(forward(self.model, inputs), targets)
            position = batch_index % accumulate
            if position == 0:
                self.optimizer.zero_grad(set_to_none=True)
                group_size = min(accumulate, steps - batch_index)
            last_of_group = position == group_size - 1
            self.scaler.scale(loss if group_size == 1 else loss / group_size).backward()
            if last_of_group:
                self._step()
                self.global_step += 1
            losses.append(loss.detach())
            if len(losses) % check_every == 0:
                self._raise_if_non_finite(losses, len(losses) - check_every)
            if log_every and last_of_group and self.global_step % log_every == 0:
                log.info("step %d loss %.4f", self.global_step, loss.item())
            if batch_callbacks:
                state = self._sync_state()
                for callback in batch_callbacks:
                    callback.on_batch_end(state, losses[-1])
        remainder = len(losses) % check_every
        if remainder:
            self._raise_if_non_finite(losses, len(losses) - remainder)
        return float(torch.stack(losses).mean())

    def _step(self) -> None:
        """Clip (on the device: the host never reads the norm), step, schedule (a disabled
        scaler passes each call straight through)."""
        if self.settings.grad_clip_norm:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self._trainable, self.settings.grad_clip_norm, foreach=self._foreach)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.scheduler is not None:
            self.scheduler.step()

    def _raise_if_non_finite(self, losses: list[torch.Tensor], start: int) -> None:
        """Check ``losses[start:]`` with one host sync; name the first non-finite step."""
        window = torch.stack(losses[start:])
        finite = torch.isfinite(window)
        if bool(finite.all()):
            return
        first_bad = start + int((~finite).nonzero()[0])
        step = self._epoch_start_step + first_bad // self.settings.accumulate_grad_batches + 1
        raise NonFiniteLossError(
            f"training loss became {float(losses[first_bad])} at step {step} "
            f"(epoch {self.epoch + 1}, batch {first_bad + 1}). Nothing after the last good "
            f"checkpoint was saved ({self.last_checkpoint}). Lower trainer.learning_rate, "
            "keep trainer.grad_clip_norm set, or look for extreme or non-finite values in the data."
        )

    def _validate(self, loader: DataLoader) -> dict[str, float]:
        limit = self.settings.limit_val_batches
        outputs, targets = collect_outputs(
            self.model, loader, self.device, autocast=self._autocast(), limit_batches=limit
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
        monitor, patience = self.settings.monitor, self.settings.early_stopping_patience
        value = validation[monitor]
        improved = is_better(value, self.best_metric, monitor)
        if improved:
            self.best_metric, self.best_epoch = value, self.epoch + 1
        self.epochs_without_improvement = 0 if improved else self.epochs_without_improvement + 1
        self.epoch += 1
        out_of_patience = bool(patience) and self.epochs_without_improvement >= patience
        self.stopped_early = self.state.should_stop or out_of_patience
        record = {"epoch": self.epoch, "train_loss": train_loss, "lr": self.optimizer.param_groups[0]["lr"]}
        record.update({f"val_{name}": metric for name, metric in validation.items()})
        self.history.append(record)
        state = self.state_dict()
        if improved:
            save_checkpoint(state, self.best_checkpoint)
        save_checkpoint(state, self.last_checkpoint)
        for callback in self.callbacks:
            callback.on_epoch_end(self._sync_state(), record)
        self.stopped_early = self.stopped_early or self.state.should_stop
        losses = f"train_loss={train_loss:.4f} val_loss={validation['loss']:.4f}"
        best = " (best)" if improved else ""
        log.info(
            "epoch %d/%d %s val_%s=%.4f%s", self.epoch, self.settings.max_epochs, losses, monitor, value, best
        )
        if self.state.should_stop:
            log.info("stopping: a callback asked to (state.should_stop)")
        elif self.stopped_early:
            log.info("early stopping: val_%s has not improved for %s epochs", monitor, patience)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this run exactly, as ``weights_only``-safe data."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scaler": self.scaler.state_dict(),
            **{name: getattr(self, name) for name in PROGRESS},
            "monitor": self.settings.monitor,
            "rng": capture_rng_state(),
            **self.metadata,
        }

    def _resume_from(self, path: Path) -> None:
        """Load a checkpoint written by :meth:`state_dict` and continue from its epoch."""
        if not path.is_file():
            raise CheckpointError(
                f"trainer.resume is set but there is no checkpoint at {path}. "
                "Start a new run without trainer.resume, or pass trainer.resume=<path to a .pt file>."
            )
        state = load_checkpoint(path, map_location=self.device)
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as error:
            raise CheckpointError(
                f"checkpoint {path} does not fit the configured model or optimizer ({error}). "
                "Resume with the config the run was started with."
            ) from error
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        for name in PROGRESS:
            setattr(self, name, state[name])
        restore_rng_state(state["rng"])
        log.info("resumed from %s at epoch %d (step %d)", path, self.epoch, self.global_step)
