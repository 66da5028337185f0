"""The GPU speed paths, applied to a built Trainer before it fits (``trainer.speed`` config).

Mixed precision (``trainer.mixed_precision``) and pinned memory with non-blocking copies are
the trainer's own (``trainer.py``); this module adds what only pays on a GPU, for both
frameworks (the Hugging Face Trainer takes compile and workers as its ``TrainingArguments``):

* ``channels_last``: the NHWC memory layout, which tensor-core convolutions run fastest in
  (models with convolutions only; others are left as they are);
* ``cudnn_benchmark``: cuDNN times its convolution algorithms once and keeps the fastest
  (off when ``deterministic=true``, which needs the same algorithm every run);
* ``compile``: ``torch.compile`` of the model the steps go through; checkpoints keep the
  plain model's weights, so every other stage loads them unchanged;
* ``loader_workers``: ``auto`` gives DataLoaders that have none one worker per spare CPU core
  (up to 8), so batches are prepared while the GPU computes.

On CPU each is skipped with one log line saying why. ``make gpu-check`` trains with these
off and on and compares samples/s and peak memory (training/gpu_check.py).
"""

import logging
import os
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from ..core.devices import resolve_device
from ..core.errors import ProjectError

log = logging.getLogger(__name__)
MAX_LOADER_WORKERS = 8
# Why each path is skipped when training runs on a CPU (one log line each).
CPU_SKIPS = {
    "mixed_precision": "autocast is used on CUDA only, where bf16/fp16 kernels pay",
    "pinned_memory": "there is no GPU to copy batches to",
    "channels_last": "the NHWC layout pays for tensor-core convolutions only",
    "cudnn_benchmark": "cuDNN is a CUDA library",
    "compile": "on a CPU its compile time outweighs the gain for models this size",
    "loader_workers": "worker processes would compete with the training threads for the same cores",
}


def spare_cpu_cores() -> int:
    """CPU cores this process may use, less one for the training loop itself."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(usable - 1, 0)


def has_convolutions(model: nn.Module) -> bool:
    """Whether ``model`` has 2-D convolutions, the layers the NHWC layout speeds up."""
    return any(isinstance(module, nn.Conv2d) for module in model.modules())


class SpeedPaths:
    """The ``trainer.speed`` settings; :meth:`apply` sets them up on a Trainer and its loaders."""

    def __init__(
        self,
        *,
        enabled: bool,
        compile: bool,
        channels_last: bool,
        cudnn_benchmark: bool,
        loader_workers: int | str,
        deterministic: bool,
    ) -> None:
        if not (loader_workers == "auto" or (isinstance(loader_workers, int) and loader_workers >= 0)):
            raise ProjectError(
                f"trainer.speed.loader_workers must be auto or a count of 0 or more, got {loader_workers!r}."
            )
        self.enabled = enabled
        self.compile, self.channels_last, self.cudnn_benchmark = compile, channels_last, cudnn_benchmark
        self.loader_workers, self.deterministic = loader_workers, deterministic

    def apply(self, trainer: Any, loaders: Sequence[DataLoader] = ()) -> None:
        """Switch on each enabled path that pays on the trainer's device, logging each one's fate.

        ``trainer``: either framework's Trainer (``trainer.py``); ``loaders``: the PyTorch
        trainer's DataLoaders (the Hugging Face Trainer builds its own from its arguments).
        """
        if not self.enabled:
            log.info("speed paths off (trainer.speed.enabled=false)")
            return
        device = resolve_device(trainer.settings.accelerator)
        if device.type != "cuda":
            for path, why in CPU_SKIPS.items():
                log.info("speed: %s skipped on %s: %s", path, device, why)
            return
        self._memory_layout(trainer.model)
        self._cudnn()
        arguments = getattr(trainer, "arguments", None)  # the Hugging Face Trainer's TrainingArguments
        self._compile(trainer, arguments)
        self._workers(arguments, loaders)

    def _compile(self, trainer: Any, arguments: Any) -> None:
        if not self.compile:
            log.info("speed: torch.compile off (trainer.speed.compile=false)")
            return
        if arguments is not None:
            arguments.torch_compile, arguments.torch_compile_backend = True, "inductor"
        else:  # the plain model stays trainer.model, whose weights the checkpoints hold
            trainer.training_model = torch.compile(trainer.training_model)
        log.info("speed: torch.compile on; the first steps compile the model")

    def _workers(self, arguments: Any, loaders: Sequence[DataLoader]) -> None:
        """``auto`` fills in loaders configured with no workers; a count replaces every loader's."""
        count = (
            min(spare_cpu_cores(), MAX_LOADER_WORKERS)
            if self.loader_workers == "auto"
            else int(self.loader_workers)
        )
        if arguments is not None and (self.loader_workers != "auto" or arguments.dataloader_num_workers == 0):
            arguments.dataloader_num_workers = count
        for loader in loaders:
            if self.loader_workers != "auto" or loader.num_workers == 0:
                loader.num_workers = count  # allowed until the loader is first iterated
        counts = [loader.num_workers for loader in loaders] or [arguments.dataloader_num_workers]
        log.info("speed: DataLoader workers %s", counts)

    def _memory_layout(self, model: nn.Module) -> None:
        if not self.channels_last:
            log.info("speed: channels_last off (trainer.speed.channels_last=false)")
        elif not has_convolutions(model):
            log.info("speed: channels_last skipped: the model has no 2-D convolutions")
        else:
            model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
            log.info("speed: channels_last on (NHWC convolutions)")

    def _cudnn(self) -> None:
        if self.deterministic:
            log.info("speed: cudnn_benchmark skipped: deterministic=true needs the same algorithms every run")
        else:
            torch.backends.cudnn.benchmark = self.cudnn_benchmark
            log.info("speed: cudnn_benchmark %s", "on" if self.cudnn_benchmark else "off")
