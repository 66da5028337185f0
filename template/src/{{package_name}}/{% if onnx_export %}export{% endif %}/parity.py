"""Does onnxruntime compute what PyTorch computes? Sessions, outputs and the parity check.

The check feeds held-out examples to both, each example alone (batch size 1) and all of
them as one batch, so a graph that only works for the example batch size, or that mixes
examples within a batch, is caught as well as numerical drift.
"""

import math
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
    """Largest absolute difference between PyTorch and onnxruntime outputs, against the tolerance.

    ``max_abs_diff`` is NaN when an output is not finite and infinite when the shapes differ
    (both are written as null in ``export.json``); ``non_finite`` counts the NaN and infinite
    output values of each runtime, summed over the batches compared.
    """

    max_abs_diff: float
    tolerance: float
    passed: bool
    num_examples: int
    batch_sizes: tuple[int, ...]
    non_finite: dict[str, int]

    def failure(self) -> str:
        """Why the check failed, in a few words (empty when it passed)."""
        if self.passed:
            return ""
        if any(self.non_finite.values()):
            counts = ", ".join(f"{runtime} {count}" for runtime, count in self.non_finite.items())
            return f"outputs that are not finite numbers (NaN or inf): {counts}"
        if math.isinf(self.max_abs_diff):
            return "onnxruntime's outputs have another shape than PyTorch's"
        return f"onnxruntime's outputs differ from PyTorch's by up to {self.max_abs_diff:.3g}"


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
    """Largest absolute difference; infinite when the shapes differ (e.g. a lost batch dimension),
    NaN when either holds a value that is not a finite number."""
    if actual.shape != expected.shape:
        return float("inf")
    if not (np.isfinite(actual).all() and np.isfinite(expected).all()):
        return float("nan")
    return float(np.abs(actual - expected).max(initial=0.0))


def count_non_finite(values: np.ndarray) -> int:
    """How many of ``values`` are NaN or infinite."""
    return int(np.size(values) - np.count_nonzero(np.isfinite(values)))


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
    """Compare ``model`` with ``session`` on ``examples``, one at a time and as one batch.

    Passes only when every output of both runtimes is finite and every difference is within
    ``tolerance``; the largest difference is NaN as soon as one of them is.
    """
    model.eval()
    differences: list[float] = []
    non_finite = {"pytorch": 0, "onnxruntime": 0}
    with torch.inference_mode():
        for batch in [*examples.split(1), examples]:
            expected = model(batch).float().cpu().numpy()
            actual = run_session(session, batch)
            non_finite["pytorch"] += count_non_finite(expected)
            non_finite["onnxruntime"] += count_non_finite(actual)
            differences.append(max_abs_diff(actual, expected))
    largest = float("nan") if any(math.isnan(value) for value in differences) else max(differences)
    return ParityResult(
        max_abs_diff=largest,
        tolerance=tolerance,
        passed=not any(non_finite.values()) and bool(largest <= tolerance),
        num_examples=len(examples),
        batch_sizes=(1, len(examples)),
        non_finite=non_finite,
    )
