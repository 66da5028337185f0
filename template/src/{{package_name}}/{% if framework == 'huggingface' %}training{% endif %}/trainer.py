"""Training with ``transformers.Trainer``, following the project's conventions.

The Hugging Face Trainer brings the fine-tuning machinery (optimizer, schedule, mixed
precision, checkpoints with RNG state, distributed training). This module configures it so
that it behaves like every other stage of the project:

* settings come from the ``trainer`` config group, checked for typos;
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
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import (
    EarlyStoppingCallback,
    EvalPrediction,
    PreTrainedModel,
    PrinterCallback,
    Trainer,
    TrainerCallback,
    TrainerControl,
    TrainerState,
    TrainingArguments,
)
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from ..core.config import settings_from_mapping
from ..core.devices import check_run_settings, resolve_device
from ..core.errors import CheckpointError, NonFiniteLossError, ProjectError
from ..core.inference import check_weights_readable, quiet_progress_bars
from ..core.integrity import folder_save_state, record_folder_checksums, verify_folder
from ..core.metrics import metric_direction

log = logging.getLogger(__name__)

MetricFunction = Callable[[np.ndarray, np.ndarray], Mapping[str, Any]]
TRAINER_STATE = "trainer_state.json"  # written by the Trainer after every other file of a checkpoint


@dataclass(frozen=True)
class TrainerSettings:
    """The ``trainer`` config group; see ``configs/trainer/default.yaml`` for each field."""

    max_epochs: int = 10
    learning_rate: float = 5e-4
    weight_decay: float = 0.01
    warmup_fraction: float = 0.05
    grad_clip_norm: float | None = 1.0
    monitor: str = "accuracy"
    early_stopping_patience: int | None = 3
    accelerator: str = "auto"
    mixed_precision: str = "no"
    log_every_n_steps: int = 10
    resume: bool | str = False

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "TrainerSettings":
        settings: TrainerSettings = settings_from_mapping(cls, values, group="trainer", error=ProjectError)
        check_run_settings(
            max_epochs=settings.max_epochs,
            accelerator=settings.accelerator,
            mixed_precision=settings.mixed_precision,
        )
        if settings.log_every_n_steps < 1:
            raise ProjectError("trainer.log_every_n_steps must be at least 1.")
        return settings


@dataclass
class FitResult:
    """What :func:`fit` achieved, for the caller to report and save."""

    best_metric: float | None
    best_checkpoint: str | None
    epochs_completed: float
    global_step: int
    stopped_early: bool
    history: list[dict[str, float]] = field(default_factory=list)


class StopOnNonFiniteLoss(TrainerCallback):
    """Ends training when a logged training loss is NaN or infinite.

    The loss is read when the Trainer logs it (every ``trainer.log_every_n_steps`` steps):
    reading it on every step would make the host wait for the device each time.
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
    """One log line per evaluation through the project's logger, instead of printed dicts."""

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
        learning_rate=settings.learning_rate,
        weight_decay=settings.weight_decay,
        warmup_steps=settings.warmup_fraction,  # a float below 1 is a fraction of all steps
        lr_scheduler_type="cosine",
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
        logging_steps=settings.log_every_n_steps,
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


def fit(
    model: PreTrainedModel,
    settings: TrainerSettings,
    *,
    train_dataset: Any,
    eval_dataset: Any,
    data_collator: Any,
    processing_class: Any,
    metric_fn: MetricFunction,
    arguments: TrainingArguments,
    callbacks: Sequence[TrainerCallback] = (),
) -> tuple[Trainer, FitResult]:
    """Train (resuming if configured) and load the best epoch's weights into ``model``."""
    checkpoint_dir = Path(arguments.output_dir)
    resume = resume_checkpoint(settings.resume, checkpoint_dir)
    quiet_progress_bars()
    save_weights_as_loaded(model)
    all_callbacks: list[TrainerCallback] = [
        StopOnNonFiniteLoss(checkpoint_dir),
        LogEpochMetrics(),
        RecordCheckpointChecksums(),
        *callbacks,
    ]
    early_stopping = None
    if settings.early_stopping_patience:
        early_stopping = EarlyStoppingCallback(early_stopping_patience=settings.early_stopping_patience)
        all_callbacks.append(early_stopping)
    trainer = Trainer(
        model=model,
        args=arguments,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        data_collator=data_collator,
        processing_class=processing_class,
        compute_metrics=huggingface_metrics(metric_fn),
        callbacks=all_callbacks,
    )
    trainer.remove_callback(PrinterCallback)  # LogEpochMetrics reports instead
    if resume:
        log.info("resuming from %s", resume)
    trainer.train(resume_from_checkpoint=resume)
    state = trainer.state
    history = [
        {key: float(value) for key, value in entry.items() if isinstance(value, (int, float))}
        for entry in state.log_history
        if any(key.startswith("eval_") for key in entry)
    ]
    stopped_early = state.epoch is not None and state.epoch < settings.max_epochs
    return trainer, FitResult(
        best_metric=state.best_metric,
        best_checkpoint=state.best_model_checkpoint,
        epochs_completed=float(state.epoch or 0),
        global_step=state.global_step,
        stopped_early=stopped_early,
        history=history,
    )
