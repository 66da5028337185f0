"""The forward pass behind one interface: a batch of encoded inputs in, raw model outputs out.

Both backends take the single input tensor of the PyTorch model (tabular float32
``(batch, features)``, image float32 ``(batch, 3, H, W)``, text int64 ``(batch, max_length)``)
as a NumPy array and return float32 outputs ``(batch, outputs)``. The ONNX file follows the
export contract: input ``inputs``, output ``logits``, a dynamic batch dimension.

A backend is called from one thread only (the server's inference thread, see
``serving/batching.py``, or batch scoring's loop), so neither needs locking; its own intra-op
threads (``serve.threads``, ``predict.threads``) parallelise each forward pass.
"""

from typing import TYPE_CHECKING, Protocol

import numpy as np
import torch
from torch import nn

from ..devices import resolve_device
from ..errors import ProjectError
from ..inference import load_trained_model
from .model import ModelSource, Runtime

if TYPE_CHECKING:
    import onnxruntime

ONNX_INPUT = "inputs"
ONNX_OUTPUT = "logits"


class Backend(Protocol):
    """A loaded model that maps an input batch to its outputs."""

    name: str

    def predict(self, inputs: np.ndarray) -> np.ndarray: ...


class TorchBackend:
    """The PyTorch model of a checkpoint, in eval mode, without autograd."""

    name = "torch"

    def __init__(self, model: nn.Module, device: torch.device) -> None:
        self.model = model
        self.device = device

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            outputs = self.model(torch.from_numpy(inputs).to(self.device, non_blocking=True))
        return outputs.float().cpu().numpy()


class OnnxRuntimeBackend:
    """An ONNX Runtime session over the exported model (CUDA when allowed and available)."""

    name = "onnxruntime"

    def __init__(self, session: "onnxruntime.InferenceSession") -> None:
        inputs = [item.name for item in session.get_inputs()]
        outputs = [item.name for item in session.get_outputs()]
        if inputs != [ONNX_INPUT] or ONNX_OUTPUT not in outputs:
            raise ProjectError(
                f"the ONNX model has inputs {inputs} and outputs {outputs}; the server expects one input "
                f"'{ONNX_INPUT}' and an output '{ONNX_OUTPUT}'. Re-export it with `make export`."
            )
        self.session = session

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        (outputs,) = self.session.run([ONNX_OUTPUT], {ONNX_INPUT: inputs})
        return np.asarray(outputs, dtype=np.float32)


def open_backend(source: ModelSource, runtime: Runtime) -> Backend:
    """Load the weights of ``source`` for ``runtime`` (the slow part of start-up)."""
    if source.backend == "torch":
        if runtime.threads is not None:
            torch.set_num_threads(runtime.threads)
        device = resolve_device(runtime.accelerator)
        return TorchBackend(load_trained_model(source.path, device).model, device)
    return OnnxRuntimeBackend(_onnx_session(source, runtime))


def _onnx_session(source: ModelSource, runtime: Runtime) -> "onnxruntime.InferenceSession":
    """A session tuned for one caller thread; onnxruntime is imported only when this backend is chosen."""
    try:
        import onnxruntime
    except ImportError as error:
        raise ProjectError(
            f"{runtime.group}.backend=onnxruntime needs the onnxruntime package: pip install onnxruntime "
            f"(or onnxruntime-gpu), or use {runtime.group}.backend=torch."
        ) from error
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.inter_op_num_threads = 1  # one batch at a time (see serving/batching.py)
    if runtime.threads is not None:
        options.intra_op_num_threads = runtime.threads
    # Idle pool threads would otherwise spin, taking CPU from the event loop between batches.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = ["CPUExecutionProvider"]
    if runtime.accelerator != "cpu" and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    try:
        return onnxruntime.InferenceSession(str(source.path), options, providers=providers)
    except Exception as error:  # onnxruntime raises its own exception types for bad files
        raise ProjectError(
            f"cannot load {source.path} with onnxruntime: {error}. Re-export it with `make export`."
        ) from error
