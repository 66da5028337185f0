"""Writing a PyTorch model as an ONNX file, and listing the files that make up an ONNX model.

The export uses ``torch.onnx.export(dynamo=True)``, which captures the model with
``torch.export``: the graph is what ``forward`` computes for an example batch, with the
batch dimension left symbolic and every other dimension fixed as in training (feature
count, image size, sequence length). Python control flow that depends on tensor *values*
cannot be captured; such a model fails here with the exporter's explanation.

Weights are stored inside the ``.onnx`` file while the model is below the exporter's
large-model threshold (1.5 GB, under protobuf's 2 GB limit); a larger model keeps them in
a side file next to it (``model.onnx.data``). :func:`model_files` lists the side files a
model refers to, so that measuring or copying a model never forgets them.

:class:`ExportFiles` names the files of an export folder (``paths.export_dir``): the ONNX
model(s) and the fitted preprocessing, a self-contained folder that serving loads and that
can be copied to a device as a whole.
"""

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import onnx
import torch
from onnx.external_data_helper import ExternalDataInfo, uses_external_data
from torch import nn
from torch.export import Dim

from ..core.errors import ExportError

INPUT_NAME = "inputs"
OUTPUT_NAME = "logits"
BATCH_DIM = "batch"
# The exporter's operator library targets opset 18; older opsets would need a lossy conversion.
MIN_OPSET = 18
BYTES_PER_MB = 1024 * 1024
# The exporter's graph passes log each step at INFO; the stage's own log says what matters.
EXPORTER_LOGGERS = ("onnx_ir", "onnxscript")
# Warnings torch raises from its own code while tracing nn.GRU, which no model code can act on.
TORCH_INTERNAL_WARNINGS = (
    r"_check_is_size will be removed",
    r"The tensor attributes .*_flat_weights.* were assigned during export",
)


@dataclass(frozen=True)
class ExportFiles:
    """The files of one export folder (``paths.export_dir``).

    A model larger than the exporter's single-file limit keeps its weights in a side file
    named after it (``model.onnx.data``); :func:`model_files` lists them.
    """

    root: Path

    @property
    def onnx_model(self) -> Path:
        """fp32 ONNX: input ``inputs`` (dynamic batch), output ``logits``."""
        return self.root / "model.onnx"

    @property
    def onnx_int8_model(self) -> Path:
        """The same graph quantized to INT8 (when quantization is on and the INT8 model ships)."""
        return self.root / "model.int8.onnx"

    @property
    def preprocessor(self) -> Path:
        """The fitted preprocessing of the exported checkpoint, to turn raw inputs into ``inputs``."""
        return self.root / "preprocessor.json"


def export_to_onnx(
    model: nn.Module, example_inputs: torch.Tensor, destination: Path, *, opset: int
) -> list[Path]:
    """Write ``model`` (in eval mode) to ``destination``; returns the files written.

    ``example_inputs`` is a batch of real inputs of more than one example: a batch of one
    would let ``torch.export`` specialise the batch dimension to 1.
    """
    if opset < MIN_OPSET:
        raise ExportError(f"opset must be at least {MIN_OPSET} for torch's ONNX exporter, got {opset}.")
    for name in EXPORTER_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            for message in TORCH_INTERNAL_WARNINGS:
                warnings.filterwarnings("ignore", message=message)
            program = torch.onnx.export(
                model,
                (example_inputs,),
                dynamo=True,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                opset_version=opset,
                dynamic_shapes=({0: Dim(BATCH_DIM)},),
                verbose=False,
            )
    except torch.onnx.errors.OnnxExporterError as error:
        raise ExportError(
            f"torch.onnx.export could not export {type(model).__name__} ({root_cause(error)}). Make "
            "forward() traceable by torch.export: no Python branches on tensor values, no packed "
            "sequences; the error names the operation that failed."
        ) from error
    assert program is not None  # dynamo=True always returns the program
    destination.parent.mkdir(parents=True, exist_ok=True)
    program.save(destination)  # external data only above the large-model threshold
    return model_files(destination)


def root_cause(error: BaseException) -> str:
    """The first line of the innermost exception: the exporter wraps the one that names the problem."""
    while error.__cause__ is not None:
        error = error.__cause__
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


def model_files(model_path: Path) -> list[Path]:
    """``model_path`` followed by the external-data files its weights are stored in, if any."""
    model = onnx.load(str(model_path), load_external_data=False)
    locations = {
        ExternalDataInfo(tensor).location for tensor in model.graph.initializer if uses_external_data(tensor)
    }
    return [model_path, *(model_path.parent / location for location in sorted(locations))]


def remove_model(model_path: Path) -> None:
    """Delete an ONNX model and its side files, so a new export never mixes with an old one."""
    if not model_path.is_file():
        return
    for path in model_files(model_path):
        path.unlink(missing_ok=True)


def files_entry(paths: list[Path]) -> dict[str, object]:
    """Location and total size of one exported artifact (a model with its side files)."""
    size = sum(path.stat().st_size for path in paths)
    return {
        "path": str(paths[0]),
        "files": [path.name for path in paths],
        "bytes": size,
        "mb": round(size / BYTES_PER_MB, 4),
    }
