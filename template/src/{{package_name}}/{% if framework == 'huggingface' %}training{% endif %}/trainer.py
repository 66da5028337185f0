"""Training with ``transformers.Trainer``, following the project's conventions.

The Hugging Face Trainer brings the fine-tuning machinery (mixed precision, gradient
accumulation, checkpoints with RNG state, distributed training). This module wraps it in
the project's training interface, the same as the PyTorch variant's:
``Trainer(model, settings, ...).fit(train_data, val_data) -> FitResult``, with the
callbacks of ``training/callbacks.py`` (adapted onto ``TrainerCallback``; native
``TrainerCallback`` objects are passed through unchanged). Batches are the Trainer's:
mappings of model inputs (``model(**batch)``, labels included), so models with several
inputs need nothing more. Configured so that it behaves like every other stage:

* settings come from the ``trainer`` config group, checked for typos;
* ``trainer.optimizer`` and ``trainer.scheduler`` are config targets (``_partial_``) built
  here over the same decay/no-decay parameter groups as the PyTorch variant and handed to
  the Trainer as ``optimizers=(optimizer, scheduler)``, so ``TrainingArguments``'
  ``learning_rate``, ``weight_decay``, ``optim`` and ``lr_scheduler_type`` are unused;
* ``trainer.accumulate_grad_batches`` is ``gradient_accumulation_steps``;
* one seed drives model initialisation, shuffling and dropout (``seed``/``data_seed``),
  and ``deterministic=true`` turns on ``full_determinism``;
* checkpoints go to ``<artifacts>/checkpoints`` (the newest and the best are kept), the
  best model is saved with its tokenizer or image processor to ``<artifacts>/model``
  (safetensors: no pickles), and ``trainer.resume=true`` continues the same run;
* every checkpoint gets ``checksums.json`` (the SHA-256 of each of its files) once the
  Trainer has saved it; resuming, and loading the best epoch at the end, refuse a
  checkpoint whose files changed since, and a resume skips a checkpoint whose save was
  interrupted (see ``integrity.py``);
* early stopping watches the same validation metric as model selection;
* a NaN or infinite loss stops training with a message naming the step.
"""

import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Subset
from transformers import (
    EarlyStoppingCallback,
    EvalPrediction,
    PreTrainedModel,
    PrinterCallback,
    TrainerCallback,
    TrainerControl,
    TrainerState,
    TrainingArguments,
)
from transformers import Trainer as HuggingFaceTrainer
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from ..core.checkpoint import (
    check_weights_readable,
    folder_save_state,
    quiet_progress_bars,
    record_folder_checksums,
    verify_folder,
)
from ..core.config import settings_from_mapping
from ..core.devices import check_run_settings, resolve_device
from ..core.errors import CheckpointError, NonFiniteLossError, ProjectError
from ..core.metrics import metric_direction
from .callbacks import Callback, FitResult, FitState
from .optimization import build_optimizer, build_scheduler

log = logging.getLogger(__name__)

MetricFunction = Callable[[np.ndarray, np.ndarray], Mapping[str, Any]]
TRAINER_STATE = "trainer_state.json"  # written by the Trainer after every other file of a checkpoint


@dataclass(frozen=True)
class TrainerSettings:
    """The ``trainer`` config group; ``configs/trainer/default.yaml`` documents each field.

    No field has a default: the YAML is the one place defaults live, so a value here could
    only ever disagree with it. The same fields as the PyTorch variant's settings.
    """

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

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "TrainerSettings":
        settings: TrainerSettings = settings_from_mapping(cls, values, group="trainer", error=ProjectError)
        check_run_settings(settings)
        return settings


class StopOnNonFiniteLoss(TrainerCallback):
    """Ends training when a logged training loss is NaN or infinite.

    The loss is read when the Trainer logs it (every ``trainer.finite_check_interval``
    steps, and at the end of each epoch): reading it on every step would make the host
    wait for the device each time.
    """

    def __init__(self, checkpoint_dir: Path) -> None:
        self.checkpoint_dir = checkpoint_dir

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            raise NonFiniteLossError(
                f"training loss became {loss} by step {state.global_step} (epoch {state.epoch or 0:.2f}; "
                f"losses are averaged over {args.logging_steps} steps). Checkpoints in {self.checkpoint_dir} "
                "hold the last good epochs. Lower trainer.learning_rate, keep trainer.grad_clip_norm set, "
                "or look for extreme values in the data."
            )


class LogEpochMetrics(TrainerCallback):
    """One log line per evaluation through the project's logger, instead of printed dicts,
    and the training loss every ``trainer.log_every_n_steps`` steps when that is not 0 (the
    Trainer logs it every ``finite_check_interval`` steps, so lines come at the first logged
    step of each interval)."""

    def __init__(self, log_every_n_steps: int) -> None:
        self.log_every_n_steps = log_every_n_steps
        self.last_logged = 0

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        loss = (logs or {}).get("loss")
        every = self.log_every_n_steps
        if every and loss is not None and state.global_step // every > self.last_logged // every:
            log.info("step %d loss %.4f", state.global_step, loss)
            self.last_logged = state.global_step

    def on_evaluate(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        metrics: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        shown = ", ".join(
            f"{name.removeprefix('eval_')}={value:.4f}"
            for name, value in (metrics or {}).items()
            if name.startswith("eval_") and "runtime" not in name and "per_second" not in name
        )
        log.info("epoch %.0f (step %d): val %s", state.epoch or 0, state.global_step, shown)


class RecordCheckpointChecksums(TrainerCallback):
    """Hashes every file of each checkpoint right after the Trainer saves it (``checksums.json``).

    The Trainer writes a checkpoint's files in place, one after the other; the manifest is
    written last, so a checkpoint without one was either saved by an earlier version of the
    project or cut short by a kill (see :func:`checkpoint_is_usable`). At the end of
    training the best checkpoint, whose weights the Trainer has just loaded into the model
    that ``train`` saves, is verified against its manifest.
    """

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        folder = Path(args.output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"
        if args.should_save and folder.is_dir():
            record_folder_checksums(folder)

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if args.load_best_model_at_end and state.best_model_checkpoint:
            verify_folder(Path(state.best_model_checkpoint), "best checkpoint")


def save_weights_as_loaded(model: PreTrainedModel) -> None:
    """Make every save of ``model`` keep the weight names it has in memory.

    Transformers 5 renames some architectures' weights when loading (ViT:
    ``vit.encoder.layer.N.*`` becomes ``vit.layers.N.*``) and renames them back when saving.
    The Trainer reloads its own checkpoints (resume, best model) with a non-strict
    ``load_state_dict``, which silently skips every renamed weight, so a resumed run or the
    "best" model would mix trained and stale layers. Saving under the in-memory names makes
    those reloads exact; ``from_pretrained`` reads both namings.
    """
    model.save_pretrained = partial(model.save_pretrained, save_original_format=False)  # type: ignore[method-assign]


def training_arguments(
    settings: TrainerSettings,
    *,
    checkpoint_dir: Path,
    batch_size: int,
    eval_batch_size: int,
    num_workers: int,
    seed: int,
    deterministic: bool,
) -> TrainingArguments:
    """``TrainingArguments`` for the project's settings (one epoch = one evaluation + checkpoint)."""
    on_cuda = resolve_device(settings.accelerator).type == "cuda"
    bf16 = on_cuda and settings.mixed_precision == "bf16" and torch.cuda.is_bf16_supported()
    fp16 = on_cuda and (
        settings.mixed_precision == "fp16" or (settings.mixed_precision == "bf16" and not bf16)
    )
    return TrainingArguments(
        output_dir=str(checkpoint_dir),
        num_train_epochs=settings.max_epochs,
        # learning rate, weight decay and schedule: the trainer.optimizer/scheduler targets
        gradient_accumulation_steps=settings.accumulate_grad_batches,
        max_grad_norm=settings.grad_clip_norm or 0.0,
        per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=eval_batch_size,
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=2,  # the newest and (kept apart by load_best_model_at_end) the best
        load_best_model_at_end=True,
        metric_for_best_model=settings.monitor,
        greater_is_better=metric_direction(settings.monitor) == "max",
        logging_strategy="steps",
        logging_steps=settings.finite_check_interval,
        logging_nan_inf_filter=False,  # a NaN loss must be seen, not averaged away
        seed=seed,
        data_seed=seed,
        full_determinism=deterministic,
        use_cpu=not on_cuda,
        bf16=bf16,
        fp16=fp16,
        dataloader_num_workers=num_workers,
        dataloader_pin_memory=on_cuda,
        report_to="none",  # trackers are explicit callbacks (see training/tracking.py)
        disable_tqdm=True,
        # The datasets hold only model inputs, or decode images on access from a path
        # column that the Trainer must not drop before the transform runs.
        remove_unused_columns=False,
    )


def checkpoint_folders(checkpoint_dir: Path) -> list[Path]:
    """The Trainer's ``checkpoint-<step>`` folders in ``checkpoint_dir``, newest (highest step) first."""
    if not checkpoint_dir.is_dir():
        return []
    folders = [
        path
        for path in checkpoint_dir.iterdir()
        if path.is_dir() and re.fullmatch(rf"{PREFIX_CHECKPOINT_DIR}-\d+", path.name)
    ]
    return sorted(folders, key=lambda path: int(path.name.rsplit("-", 1)[1]), reverse=True)


def checkpoint_is_usable(folder: Path) -> bool:
    """Whether a save of ``folder`` finished: its manifest is complete, or (no manifest: an
    earlier version of the project) the Trainer got as far as ``trainer_state.json``, which
    it writes after the weights, optimizer, scheduler and RNG states."""
    state = folder_save_state(folder)
    return state == "complete" or (state == "unrecorded" and (folder / TRAINER_STATE).is_file())


def resume_checkpoint(resume: bool | str, checkpoint_dir: Path) -> str | None:
    """The checkpoint ``trainer.resume`` asks for (none, the newest complete one, or a path), verified.

    A checkpoint whose files no longer match their checksums is refused by name; with
    ``trainer.resume=true``, checkpoints whose save was interrupted are skipped (logged).
    """
    if resume is False or (isinstance(resume, str) and resume.lower() == "false"):
        return None
    if resume is True or (isinstance(resume, str) and resume.lower() in ("true", "last")):
        folders = checkpoint_folders(checkpoint_dir)
        usable = [folder for folder in folders if checkpoint_is_usable(folder)]
        if not usable:
            raise CheckpointError(
                f"trainer.resume is set but there is no {'complete ' if folders else ''}checkpoint in "
                f"{checkpoint_dir}. Start a new run without trainer.resume, or pass "
                "trainer.resume=<checkpoint folder>."
            )
        for skipped in folders[: folders.index(usable[0])]:
            log.warning("skipping %s: its save was interrupted before it finished", skipped)
        chosen = usable[0]
    else:
        chosen = Path(str(resume))
        if not chosen.is_dir():
            raise CheckpointError(
                f"trainer.resume={resume} is not a checkpoint folder; pass one of {checkpoint_dir}/checkpoint-*."
            )
        if not checkpoint_is_usable(chosen):
            raise CheckpointError(
                f"checkpoint {chosen} is incomplete: its save was interrupted. Pass an earlier "
                f"checkpoint (trainer.resume={checkpoint_dir}/checkpoint-<step>), or start a new run."
            )
    verify_folder(chosen, "checkpoint")
    if folder_save_state(chosen) == "unrecorded":
        check_weights_readable(chosen, "checkpoint")
    return str(chosen)


def huggingface_metrics(metric_fn: MetricFunction) -> Callable[[EvalPrediction], dict[str, float]]:
    """Adapt the project's metric function to the Trainer (scalars only)."""

    def compute(prediction: EvalPrediction) -> dict[str, float]:
        logits = (
            prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
        )
        labels = np.asarray(prediction.label_ids)
        metrics = metric_fn(labels, np.asarray(logits))
        return {name: float(value) for name, value in metrics.items() if isinstance(value, (int, float))}

    return compute


def epoch_records(log_history: Sequence[Mapping[str, Any]]) -> list[dict[str, float]]:
    """One ``history.json`` record per evaluation, shaped like the PyTorch variant's:
    ``epoch``, ``train_loss`` (the mean of the losses logged during the epoch), ``lr`` and
    ``val_<metric>``. Built from the Trainer's ``log_history``, which a resume restores."""
    records: list[dict[str, float]] = []
    losses: list[float] = []
    lr = math.nan
    for entry in log_history:
        if "loss" in entry:
            losses.append(float(entry["loss"]))
            lr = float(entry.get("learning_rate", lr))
        if not any(key.startswith("eval_") for key in entry):
            continue
        record = {
            "epoch": round(float(entry.get("epoch", len(records) + 1))),
            "train_loss": sum(losses) / len(losses) if losses else math.nan,
            "lr": lr,
        }
        record.update(
            {
                f"val_{name.removeprefix('eval_')}": float(value)
                for name, value in entry.items()
                if name.startswith("eval_")
                and isinstance(value, (int, float))
                and "runtime" not in name
                and "per_second" not in name
            }
        )
        records.append(record)
        losses = []
    return records


class ProjectCallbacks(TrainerCallback):
    """Runs the project's callbacks (``training/callbacks.py``) from the Trainer's events.

    Batch end is the Trainer's step end and sub-step end (one call per batch, also when
    gradients are accumulated; the loss is not exposed there, so it is ``None``). At the end
    of an epoch the Trainer logs, evaluates and saves, in that order: validation end is its
    evaluation, epoch end its save, so ``on_epoch_end`` runs after the checkpoint is
    written as in the PyTorch variant. ``state.should_stop`` ends training after the epoch.
    """

    def __init__(self, callbacks: Sequence[Callback], max_epochs: int) -> None:
        self.callbacks = list(callbacks)
        self.state = FitState(max_epochs=max_epochs)

    def _sync(self, state: TrainerState) -> FitState:
        self.state.epoch = math.floor((state.epoch or 0) + 1e-6)
        self.state.global_step = state.global_step
        self.state.best_metric = state.best_metric
        return self.state

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        for callback in self.callbacks:
            callback.on_fit_start(self._sync(state))

    def on_substep_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        for callback in self.callbacks:
            callback.on_batch_end(self._sync(state), None)

    on_step_end = on_substep_end

    def on_epoch_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        control.should_log = True  # the epoch's last losses reach the record and the NaN check
        return control

    def on_evaluate(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        metrics: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        validation = {
            name.removeprefix("eval_"): float(value)
            for name, value in (metrics or {}).items()
            if name.startswith("eval_") and "runtime" not in name and "per_second" not in name
        }
        for callback in self.callbacks:
            callback.on_validation_end(self._sync(state), validation)

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        records = epoch_records(state.log_history)
        for callback in self.callbacks:
            callback.on_epoch_end(self._sync(state), records[-1] if records else {})
        if self.state.should_stop:
            control.should_training_stop = True
        return control


def limited(dataset: Any, batches: int | None, batch_size: int) -> Any:
    """The first ``batches * batch_size`` examples of ``dataset`` (all when ``batches`` is None)."""
    if batches is None or batches * batch_size >= len(dataset):
        return dataset
    rows = range(batches * batch_size)
    return dataset.select(rows) if hasattr(dataset, "select") else Subset(dataset, list(rows))


class Trainer:
    """Fits a model with ``transformers.Trainer``; the same interface as the PyTorch variant.

    ``Trainer(model, settings, ...).fit(train_data, val_data) -> FitResult``, where the data
    are datasets the ``data_collator`` batches. After ``fit`` the model holds the best
    epoch's weights; :meth:`save_model` writes them.
    """

    def __init__(
        self,
        model: PreTrainedModel,
        settings: TrainerSettings,
        *,
        metric_fn: MetricFunction,
        checkpoint_dir: Path,
        seed: int,
        deterministic: bool,
        batch_size: int,
        eval_batch_size: int,
        num_workers: int,
        data_collator: Any,
        processing_class: Any = None,
        callbacks: Sequence[Callback | TrainerCallback] = (),
    ) -> None:
        self.model = model
        self.settings = settings
        self.metric_fn = metric_fn
        self.checkpoint_dir = Path(checkpoint_dir)
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.data_collator, self.processing_class = data_collator, processing_class
        self.arguments = training_arguments(
            settings,
            checkpoint_dir=self.checkpoint_dir,
            batch_size=batch_size,
            eval_batch_size=eval_batch_size,
            num_workers=num_workers,
            seed=seed,
            deterministic=deterministic,
        )
        self.native_callbacks = [callback for callback in callbacks if isinstance(callback, TrainerCallback)]
        self.callbacks = [callback for callback in callbacks if not isinstance(callback, TrainerCallback)]
        self.hf_trainer: HuggingFaceTrainer | None = None

    def _optimizers(self, train_rows: int) -> tuple[torch.optim.Optimizer, Any]:
        """The configured optimizer and schedule, over as many steps as the Trainer will take."""
        self.model.to(resolve_device(self.settings.accelerator))  # the optimizer holds the placed weights
        optimizer = build_optimizer(self.settings.optimizer, self.model)
        batches = math.ceil(train_rows / self.batch_size)
        steps_per_epoch = max(1, math.ceil(batches / self.settings.accumulate_grad_batches))
        scheduler = build_scheduler(
            self.settings.scheduler, optimizer, steps_per_epoch * self.settings.max_epochs
        )
        if scheduler is None:  # the Trainer would otherwise add its own (linear) schedule
            scheduler = torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
        return optimizer, scheduler

    def fit(self, train_data: Any, val_data: Any) -> FitResult:
        """Train (resuming if configured) and load the best epoch's weights into the model.

        Every project callback's ``close`` runs at the end, also when training fails.
        """
        try:
            return self._fit(train_data, val_data)
        finally:
            for callback in self.callbacks:
                callback.close()

    def _fit(self, train_data: Any, val_data: Any) -> FitResult:
        settings = self.settings
        resume = resume_checkpoint(settings.resume, self.checkpoint_dir)
        quiet_progress_bars()
        if isinstance(self.model, PreTrainedModel):
            save_weights_as_loaded(self.model)
        train_data = limited(train_data, settings.limit_train_batches, self.batch_size)
        val_data = limited(val_data, settings.limit_val_batches, self.eval_batch_size)
        project_callbacks = ProjectCallbacks(self.callbacks, settings.max_epochs)
        all_callbacks: list[TrainerCallback] = [
            StopOnNonFiniteLoss(self.checkpoint_dir),
            LogEpochMetrics(settings.log_every_n_steps),
            RecordCheckpointChecksums(),
            project_callbacks,
            *self.native_callbacks,
        ]
        if settings.early_stopping_patience:
            all_callbacks.append(
                EarlyStoppingCallback(early_stopping_patience=settings.early_stopping_patience)
            )
        trainer = HuggingFaceTrainer(
            model=self.model,
            args=self.arguments,
            train_dataset=train_data,
            eval_dataset=val_data,
            data_collator=self.data_collator,
            processing_class=self.processing_class,
            compute_metrics=huggingface_metrics(self.metric_fn),
            callbacks=all_callbacks,
            optimizers=self._optimizers(len(train_data)),
        )
        trainer.remove_callback(PrinterCallback)  # LogEpochMetrics reports instead
        self.hf_trainer = trainer
        if resume:
            log.info("resuming from %s", resume)
        trainer.train(resume_from_checkpoint=resume)
        state = trainer.state
        history = epoch_records(state.log_history)
        best_epoch = next(
            (
                int(record["epoch"])
                for record in history
                if state.best_metric is not None
                and record.get(f"val_{settings.monitor}") == state.best_metric
            ),
            None,
        )
        epochs_completed = round(state.epoch or 0)
        result = FitResult(
            best_metric=state.best_metric,
            best_epoch=best_epoch,
            best_checkpoint=state.best_model_checkpoint,
            epochs_completed=epochs_completed,
            global_step=state.global_step,
            stopped_early=epochs_completed < settings.max_epochs,
            history=history,
        )
        for callback in self.callbacks:
            callback.on_fit_end(project_callbacks._sync(state), result)
        return result

    def save_model(self, output_dir: str) -> None:
        """Save the model (the best epoch's weights after :meth:`fit`) with its processor."""
        if self.hf_trainer is None:
            raise ProjectError("Trainer.save_model is called after fit.")
        self.hf_trainer.save_model(output_dir)
