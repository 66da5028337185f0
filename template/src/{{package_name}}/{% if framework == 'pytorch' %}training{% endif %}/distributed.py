"""Data-parallel training under ``torchrun`` (``trainer=ddp``; ``make train-ddp NPROC=2``).

torchrun starts one process per device on each machine and gives each its ``RANK``,
``LOCAL_RANK`` and ``WORLD_SIZE``. :class:`DistributedTrainer` is the Trainer's loop in each
of them, with the model wrapped in ``DistributedDataParallel`` (gradients are averaged
across processes inside ``backward()``) and these differences:

- Each rank trains on its own shard of every epoch: a ``DistributedSampler`` shuffled from
  ``(seed, epoch)``, so a resumed run replays the shards an uninterrupted one would.
  ``data.batch_size`` is per process: the global batch is ``batch_size x WORLD_SIZE``.
- The training loss is averaged over the ranks. Validation runs on the whole split in every
  rank (metrics such as ROC AUC need all outputs at once) and rank 0's figures are sent to
  the others, so that all ranks take the same best-checkpoint and early-stopping decisions.
- Rank 0 alone writes checkpoints, history, tracking and artifacts, into the run folder; the
  other ranks run no callbacks and log only warnings, into a folder of their own
  (core/runs.py). A resume loads rank 0's ``last.pt`` in every rank.
- nccl between GPUs, gloo between CPUs (``backend: auto``).
"""

import logging
import os
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from ..core.devices import resolve_device
from ..core.errors import ProjectError
from .callbacks import Callback, FitResult
from .settings import TrainerSettings
from .trainer import Trainer

log = logging.getLogger(__name__)

Value = TypeVar("Value")
LAUNCH = "make train-ddp NPROC=2, or torchrun --nproc-per-node=2 -m <package>.training trainer=ddp"


class DistributedTrainer(Trainer):
    """The Trainer in one of torchrun's processes (see the module docstring)."""

    def __init__(
        self,
        model: nn.Module,
        settings: TrainerSettings,
        *,
        backend: str,
        timeout_minutes: float,
        callbacks: Sequence[Callback] = (),
        **options: Any,
    ) -> None:
        if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
            raise ProjectError(f"trainer=ddp runs in the processes torchrun starts: {LAUNCH}.")
        self.rank, self.world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.is_main = self.rank == 0
        if not self.is_main:  # rank 0's log is the run's log; the others speak up only about problems
            logging.getLogger().setLevel(logging.WARNING)
        on_gpu = resolve_device(settings.accelerator).type == "cuda"
        if on_gpu:
            torch.cuda.set_device(self.local_rank)  # "cuda" is this rank's GPU from here on
        if backend == "auto":
            backend = "nccl" if on_gpu else "gloo"
        if not dist.is_initialized():
            dist.init_process_group(backend, timeout=timedelta(minutes=timeout_minutes))
        super().__init__(model, settings, callbacks=callbacks if self.is_main else (), **options)
        device_ids = [self.local_rank] if on_gpu else None
        self.training_model = DistributedDataParallel(self.model, device_ids=device_ids)
        log.info("%d processes (%s); data.batch_size is per process", self.world_size, backend)

    def fit(self, train_loader: DataLoader, val_loader: DataLoader) -> FitResult:
        """Train on this rank's shards; leave the process group at the end, also on failure."""
        try:
            return super().fit(self.shard(train_loader), val_loader)
        finally:
            if dist.is_initialized():
                dist.destroy_process_group()

    def shard(self, loader: DataLoader) -> DataLoader:
        """``loader`` over this rank's shard of each epoch (:meth:`_train_one_epoch` sets the epoch)."""
        sampler = DistributedSampler(
            loader.dataset, num_replicas=self.world_size, rank=self.rank, seed=self.seed
        )
        return DataLoader(
            loader.dataset,
            batch_size=loader.batch_size,
            sampler=sampler,
            num_workers=loader.num_workers,
            pin_memory=loader.pin_memory,
            collate_fn=loader.collate_fn,
            worker_init_fn=loader.worker_init_fn,
        )

    def from_main(self, value: Value) -> Value:
        """Rank 0's ``value``, in every rank."""
        holder = [value]
        dist.broadcast_object_list(holder, src=0)
        return holder[0]

    def _train_one_epoch(self, loader: DataLoader, steps: int) -> float:
        """One epoch of this rank's shard; returns the mean loss over every rank's batches."""
        assert isinstance(loader.sampler, DistributedSampler)
        loader.sampler.set_epoch(self.epoch)
        loss = torch.tensor(super()._train_one_epoch(loader, steps), device=self.device)
        dist.all_reduce(loss, op=dist.ReduceOp.SUM)
        return float(loss) / self.world_size

    def _validate(self, loader: DataLoader) -> dict[str, float]:
        return self.from_main(super()._validate(loader))

    def _end_epoch(self, train_loss: float, validation: dict[str, float]) -> None:
        super()._end_epoch(train_loss, validation)
        self.stopped_early = self.from_main(self.stopped_early)  # a callback of rank 0 may have stopped it

    def _save_checkpoints(self, improved: bool) -> None:
        if self.is_main:
            super()._save_checkpoints(improved)

    def _resume_from(self, path: Path) -> None:
        super()._resume_from(self.from_main(path))
