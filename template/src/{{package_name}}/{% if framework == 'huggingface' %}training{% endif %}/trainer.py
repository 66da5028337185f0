"""Training with ``transformers.Trainer``, wrapped in the project's training interface.

``Trainer(model, settings, ...).fit(train_data, val_data) -> FitResult`` and the callbacks of
``training/callbacks.py`` (adapted onto ``TrainerCallback``; native ones pass through) are
the PyTorch variant's. Batches are mappings of model inputs, labels included. The optimizer
and schedule are the ``trainer`` config targets, handed to the Trainer (so
``TrainingArguments``' learning rate, decay and schedule are unused); every checkpoint gets
``checksums.json`` once saved, and resuming or loading the best epoch refuses one whose
files changed or whose save was interrupted (``core/checkpoint.py``).
"""

import logging
import math
from collections.abc import Callable, Mapping, Sequence
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
from transformers.integrations import get_reporting_integration_callbacks
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from ..core.checkpoint import (
    check_weights_readable,
    folder_save_state,
    quiet_progress_bars,
    record_folder_checksums,
    verify_folder,
)
from ..core.devices import resolve_device
from ..core.errors import CheckpointError, NonFiniteLossError, ProjectError
from ..core.metrics import metric_direction
from ..core.runs import is_resume
from .callbacks import Callback, FitResult, FitState
from .optimization import build_optimizer, build_scheduler
from .settings import TrainerSettings

log = logging.getLogger(__name__)

MetricFunction = Callable[[np.ndarray, np.ndarray], Mapping[str, Any]]
TRAINER_STATE = "trainer_state.json"  # written by the Trainer after every other file of a checkpoint
TIMINGS = ("_runtime", "_per_second")  # suffixes of the Trainer's timing entries, not metrics


def save_weights_as_loaded(model: PreTrainedModel) -> None:
    """Make every save of ``model`` keep its in-memory weight names.

    Transformers 5 renames some weights on load (ViT: ``vit.encoder.layer.N`` becomes
    ``vit.layers.N``) and back on save, and the Trainer reloads its checkpoints non-strictly,
    silently skipping renamed weights; ``from_pretrained`` reads both namings.
    """
    model.save_pretrained = partial(model.save_pretrained, save_original_format=False)  # type: ignore[method-assign]


def checkpoint_is_usable(folder: Path) -> bool:
    """Whether a save of ``folder`` finished: its manifest is complete, or (no manifest: an
    earlier version of the project) the Trainer got as far as ``trainer_state.json``, which
    it writes after the weights, optimizer, scheduler and RNG states."""
    state = folder_save_state(folder)
    return state == "complete" or (state == "unrecorded" and (folder / TRAINER_STATE).is_file())


def resume_checkpoint(resume: bool | str, checkpoint_dir: Path) -> str | None:
    """The checkpoint ``trainer.resume`` asks for (none, the newest complete one, or a path),
    verified; ``trainer.resume=true`` skips (and logs) checkpoints whose save was interrupted."""
    if resume is False or str(resume).lower() == "false":
        return None
    if is_resume(resume):
        prefix = f"{PREFIX_CHECKPOINT_DIR}-"
        steps = {
            path: int(path.name.removeprefix(prefix))
            for path in checkpoint_dir.glob(f"{prefix}*")
            if path.name.removeprefix(prefix).isdecimal() and path.is_dir()
        }
        folders = sorted(steps, key=steps.__getitem__, reverse=True)  # the newest first
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


def validation_metrics(logs: Mapping[str, Any]) -> dict[str, float]:
    """The ``eval_*`` metrics of a Trainer log entry, without the prefix and the timings."""
    return {
        name.removeprefix("eval_"): float(value)
        for name, value in logs.items()
        if name.startswith("eval_") and isinstance(value, (int, float)) and not name.endswith(TIMINGS)
    }


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
    """One ``history.json`` record per evaluation, shaped like the PyTorch variant's (``train_loss``
    is the mean of the epoch's logged losses), from ``log_history``, which a resume restores."""
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
        record.update({f"val_{name}": value for name, value in validation_metrics(entry).items()})
        records.append(record)
        losses = []
    return records


class ProjectCallbacks(TrainerCallback):
    """The project's part of the Trainer's events: its callbacks (batch end on each (sub-)step,
    the loss not exposed: ``None``; validation end on each evaluation; epoch end on the save that
    follows, so the checkpoint is written first as in the PyTorch variant), the loss logged every
    ``log_every_n_steps`` steps (at the first step the Trainer logs), the NaN/Inf check, and the
    checksums of each checkpoint once saved (the manifest comes last, so a kill mid-save leaves
    none) and of the best one, verified when it is loaded at the end."""

    def __init__(
        self, callbacks: Sequence[Callback], settings: TrainerSettings, checkpoint_dir: Path
    ) -> None:
        self.callbacks = list(callbacks)
        self.state = FitState(max_epochs=settings.max_epochs)
        self.log_every_n_steps, self.last_logged = settings.log_every_n_steps, 0
        self.checkpoint_dir = checkpoint_dir

    def _sync(self, state: TrainerState) -> FitState:
        self.state.epoch = math.floor((state.epoch or 0) + 1e-6)
        self.state.global_step = state.global_step
        self.state.best_metric = state.best_metric
        return self.state

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        self.state.batches_per_epoch = len(kwargs["train_dataloader"])  # this process's
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

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        loss, every = (logs or {}).get("loss"), self.log_every_n_steps
        if loss is not None and not math.isfinite(
            loss
        ):  # read only when logged: every finite_check_interval steps
            raise NonFiniteLossError(
                f"training loss became {loss} by step {state.global_step} (epoch {state.epoch or 0:.2f}; "
                f"losses are averaged over {args.logging_steps} steps). Checkpoints in {self.checkpoint_dir} "
                "hold the last good epochs. Lower trainer.optimizer.lr, keep trainer.grad_clip_norm set, "
                "or look for extreme values in the data."
            )
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
        validation = validation_metrics(metrics or {})
        shown = ", ".join(f"{name}={value:.4f}" for name, value in validation.items())
        log.info("epoch %.0f (step %d): val %s", state.epoch or 0, state.global_step, shown)
        for callback in self.callbacks:
            callback.on_validation_end(self._sync(state), validation)

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        folder = Path(args.output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"
        if args.should_save and folder.is_dir():
            record_folder_checksums(folder)
        records = epoch_records(state.log_history)
        for callback in self.callbacks:
            callback.on_epoch_end(self._sync(state), records[-1] if records else {})
        if self.state.should_stop:
            control.should_training_stop = True
        return control

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if args.load_best_model_at_end and state.best_model_checkpoint:
            verify_folder(Path(state.best_model_checkpoint), "best checkpoint")


def limited(dataset: Any, batches: int | None, batch_size: int) -> Any:
    """The first ``batches * batch_size`` examples of ``dataset`` (all when ``batches`` is None)."""
    if batches is None or batches * batch_size >= len(dataset):
        return dataset
    rows = range(batches * batch_size)
    return dataset.select(rows) if hasattr(dataset, "select") else Subset(dataset, list(rows))


class Trainer:
    """Fits a model on datasets that ``data_collator`` batches; after ``fit`` the model holds the
    best epoch's weights, which :meth:`save_model` writes."""

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
        self.arguments = self._arguments(num_workers=num_workers, seed=seed, deterministic=deterministic)
        if self.arguments.world_size > 1:
            self._join_ranks()
        self.native_callbacks = [callback for callback in callbacks if isinstance(callback, TrainerCallback)]
        self.callbacks = [callback for callback in callbacks if not isinstance(callback, TrainerCallback)]
        self.hf_trainer: HuggingFaceTrainer | None = None

    def _arguments(self, *, num_workers: int, seed: int, deterministic: bool) -> TrainingArguments:
        """``TrainingArguments`` for the project's settings (one epoch = one evaluation + checkpoint)."""
        on_cuda = resolve_device(self.settings.accelerator).type == "cuda"
        precision = self.settings.mixed_precision
        bf16 = on_cuda and precision == "bf16" and torch.cuda.is_bf16_supported()
        fp16 = on_cuda and (precision == "fp16" or (precision == "bf16" and not bf16))
        # Several processes (trainer=ddp): the backend (auto: nccl on GPUs, gloo on CPUs) and how
        # long a rank waits for the others, from configs/trainer/ddp.yaml.
        ddp_arguments: dict[str, Any] = {}
        if ddp := self.settings.distributed:
            ddp_arguments["ddp_backend"] = None if ddp["backend"] == "auto" else ddp["backend"]
            ddp_arguments["ddp_timeout"] = int(ddp["timeout_minutes"] * 60)
        return TrainingArguments(
            output_dir=str(self.checkpoint_dir),
            num_train_epochs=self.settings.max_epochs,
            # learning rate, weight decay and schedule: the trainer.optimizer/scheduler targets
            gradient_accumulation_steps=self.settings.accumulate_grad_batches,
            max_grad_norm=self.settings.grad_clip_norm or 0.0,
            per_device_train_batch_size=self.batch_size,
            per_device_eval_batch_size=self.eval_batch_size,
            eval_strategy="epoch",
            save_strategy="epoch",
            save_total_limit=2,  # the newest and (kept apart by load_best_model_at_end) the best
            load_best_model_at_end=True,
            metric_for_best_model=self.settings.monitor,
            greater_is_better=metric_direction(self.settings.monitor) == "max",
            logging_strategy="steps",
            logging_steps=self.settings.finite_check_interval,
            logging_nan_inf_filter=False,  # a NaN loss must be seen, not averaged away
            seed=seed,
            data_seed=seed,
            full_determinism=deterministic,
            use_cpu=not on_cuda,
            bf16=bf16,
            fp16=fp16,
            dataloader_num_workers=num_workers,
            dataloader_pin_memory=on_cuda,
            **ddp_arguments,
            ddp_find_unused_parameters=False,
            # No doubled losses across processes: a token-count average these models' mean losses do not use.
            average_tokens_across_devices=False,
            report_to="none",  # trackers are project callbacks, with integrations they ask for (_integrations)
            disable_tqdm=True,
            # The datasets hold only model inputs, or decode images on access from a path
            # column that the Trainer must not drop before the transform runs.
            remove_unused_columns=False,
        )

    def _join_ranks(self) -> None:
        """Under torchrun or ``accelerate launch`` (the Trainer's DDP): every rank checkpoints into
        rank 0's run folder, where the Trainer saves from rank 0 only and every rank resumes and
        loads the best model from; the ranks other than 0 log only warnings (core/runs.py)."""
        folder = [str(self.checkpoint_dir)]
        torch.distributed.broadcast_object_list(folder, src=0)
        self.checkpoint_dir, self.arguments.output_dir = Path(folder[0]), folder[0]
        if self.arguments.process_index != 0:
            logging.getLogger().setLevel(logging.WARNING)

    def _optimizers(self, train_rows: int) -> tuple[torch.optim.Optimizer, Any]:
        """The configured optimizer and schedule, over as many steps as the Trainer will take."""
        self.model.to(resolve_device(self.settings.accelerator))  # the optimizer holds the placed weights
        optimizer = build_optimizer(self.settings.optimizer, self.model)
        batches = math.ceil(train_rows / (self.batch_size * self.arguments.world_size))  # per process
        steps_per_epoch = max(1, math.ceil(batches / self.settings.accumulate_grad_batches))
        scheduler = build_scheduler(
            self.settings.scheduler, optimizer, steps_per_epoch * self.settings.max_epochs
        )
        if scheduler is None:  # the Trainer would otherwise add its own (linear) schedule
            scheduler = torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
        return optimizer, scheduler

    def _integrations(self) -> list[type[TrainerCallback]]:
        """The Trainer's own reporting integrations that project trackers ask for (their
        ``huggingface_integration``, a name ``report_to`` accepts): they log into the tracker's run."""
        names = {getattr(callback, "huggingface_integration", None) for callback in self.callbacks}
        return list(get_reporting_integration_callbacks(sorted(name for name in names if name)))

    def fit(self, train_data: Any, val_data: Any) -> FitResult:
        """Train (resuming if configured) and load the best epoch's weights into the model; every
        project callback's ``close`` runs at the end, also when training fails."""
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
        project_callbacks = ProjectCallbacks(self.callbacks, settings, self.checkpoint_dir)
        all_callbacks: list[TrainerCallback] = [
            project_callbacks,  # first: a tracker opens its run before the Trainer's integration logs to it
            *(integration() for integration in self._integrations()),
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
        trainer.remove_callback(PrinterCallback)  # ProjectCallbacks logs instead
        self.hf_trainer = trainer
        if resume:
            log.info("resuming from %s", resume)
        trainer.train(resume_from_checkpoint=resume)
        state = trainer.state
        history = epoch_records(state.log_history)
        best = [
            record["epoch"]
            for record in history
            if record.get(f"val_{settings.monitor}") == state.best_metric
        ]
        epochs_completed = round(state.epoch or 0)
        result = FitResult(
            best_metric=state.best_metric,
            best_epoch=int(best[0]) if best and state.best_metric is not None else None,
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
