"""The batch contract shared by training and prediction, and collecting a model's outputs.

A batch is ``(inputs, targets)``; ``inputs`` is a tensor (``model(inputs)``), a tuple or list
(``model(*inputs)``) or a mapping (``model(**inputs)``), so a model with several inputs
trains, validates and evaluates without any change to the loop.
"""

from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch
from torch import nn


def move_to_device(data: Any, device: torch.device) -> Any:
    """``data`` with every tensor in it (nested in tuples, lists or mappings) on ``device``."""
    if isinstance(data, torch.Tensor):
        return data.to(device, non_blocking=True)
    if isinstance(data, Mapping):
        return {key: move_to_device(value, device) for key, value in data.items()}
    if isinstance(data, (tuple, list)):
        return type(data)(move_to_device(value, device) for value in data)
    return data


def forward(model: nn.Module, inputs: Any) -> torch.Tensor:
    """Call ``model`` on a batch's ``inputs`` following the batch contract (module docstring)."""
    if isinstance(inputs, torch.Tensor):  # the common case first: one check per step
        return model(inputs)
    if isinstance(inputs, Mapping):
        return model(**inputs)
    if isinstance(inputs, (tuple, list)):
        return model(*inputs)
    return model(inputs)


def collect_outputs(
    model: nn.Module,
    loader: Iterable[Any],
    device: torch.device,
    *,
    autocast: AbstractContextManager | None = None,
    limit_batches: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(outputs, targets)`` of every batch of ``loader`` (a ``DataLoader``, or one wrapped to show
    progress) as float32 CPU tensors, copied back once after the last batch: the loop never waits."""
    model.eval()
    outputs: list[torch.Tensor] = []
    targets: list[torch.Tensor] = []
    with torch.inference_mode():
        for batch_index, (inputs, batch_targets) in enumerate(loader):
            if limit_batches is not None and batch_index >= limit_batches:
                break
            with autocast if autocast is not None else nullcontext():
                batch_outputs = forward(model, move_to_device(inputs, device))
            outputs.append(batch_outputs.float())
            targets.append(batch_targets)
    if not outputs:
        raise ValueError("the loader yielded no batches")
    return torch.cat(outputs).cpu(), torch.cat(targets).cpu()
