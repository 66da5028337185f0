"""Running a model over a DataLoader and collecting its raw outputs."""

from contextlib import AbstractContextManager, nullcontext

import torch
from torch import nn
from torch.utils.data import DataLoader


def collect_outputs(
    model: nn.Module,
    loader: DataLoader,
    device: torch.device,
    *,
    autocast: AbstractContextManager | None = None,
    limit_batches: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(outputs, targets)`` for every batch of ``loader``, as float32 CPU tensors.

    Outputs stay on the device until the end so the loop never waits for the host; the one
    copy back happens after the last batch.
    """
    model.eval()
    outputs: list[torch.Tensor] = []
    targets: list[torch.Tensor] = []
    with torch.inference_mode():
        for batch_index, (features, batch_targets) in enumerate(loader):
            if limit_batches is not None and batch_index >= limit_batches:
                break
            with autocast if autocast is not None else nullcontext():
                batch_outputs = model(features.to(device, non_blocking=True))
            outputs.append(batch_outputs.float())
            targets.append(batch_targets)
    if not outputs:
        raise ValueError("the loader yielded no batches")
    return torch.cat(outputs).cpu(), torch.cat(targets).cpu()
