"""Does onnxruntime compute what PyTorch computes? Sessions, outputs and the parity check.

The check feeds held-out examples to both, each example alone (batch size 1) and all of
them as one batch, so a graph that only works for the example batch size, or that mixes
examples within a batch, is caught as well as numerical drift.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn
from torch.utils.data import DataLoader

from .onnx_model import INPUT_NAME, OUTPUT_NAME

# Only onnxruntime's errors: its warnings about graph rewrites it cannot apply are noise here.
ORT_ERROR_LEVEL = 3


@dataclass(frozen=True)
class ParityResult:
    """Largest absolute difference between PyTorch and onnxruntime outputs, against the tolerance."""

    max_abs_diff: float
    tolerance: float
    passed: bool
    num_examples: int
    batch_sizes: tuple[int, ...]


def open_session(model_path: Path) -> ort.InferenceSession:
    """An onnxruntime CPU session of ``model_path`` (side files are found next to it)."""
    options = ort.SessionOptions()
    options.log_severity_level = ORT_ERROR_LEVEL
    return ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])


def run_session(session: ort.InferenceSession, inputs: torch.Tensor) -> np.ndarray:
    """The ``logits`` of one batch of model inputs."""
    return session.run([OUTPUT_NAME], {INPUT_NAME: inputs.cpu().numpy()})[0]


def session_outputs(session: ort.InferenceSession, loader: DataLoader) -> np.ndarray:
    """``logits`` for every batch of ``loader``, in order (the loader must not shuffle)."""
    return np.concatenate([run_session(session, inputs) for inputs, _ in loader])


def max_abs_diff(actual: np.ndarray, expected: np.ndarray) -> float:
    """Largest absolute difference; infinite when the shapes differ (e.g. a lost batch dimension)."""
    if actual.shape != expected.shape:
        return float("inf")
    return float(np.abs(actual - expected).max())


def first_inputs(loader: DataLoader, count: int) -> torch.Tensor:
    """The model inputs of the first ``count`` examples of ``loader`` (fewer if it has fewer)."""
    batches: list[torch.Tensor] = []
    collected = 0
    for inputs, _ in loader:
        batches.append(inputs[: count - collected])
        collected += len(batches[-1])
        if collected >= count:
            break
    return torch.cat(batches)


def check_parity(
    model: nn.Module, session: ort.InferenceSession, examples: torch.Tensor, tolerance: float
) -> ParityResult:
    """Compare ``model`` with ``session`` on ``examples``, one at a time and as one batch."""
    model.eval()
    differences: list[float] = []
    with torch.inference_mode():
        for batch in [*examples.split(1), examples]:
            expected = model(batch).float().cpu().numpy()
            differences.append(max_abs_diff(run_session(session, batch), expected))
    largest = max(differences)
    return ParityResult(
        max_abs_diff=largest,
        tolerance=tolerance,
        passed=bool(largest <= tolerance),
        num_examples=len(examples),
        batch_sizes=(1, len(examples)),
    )
