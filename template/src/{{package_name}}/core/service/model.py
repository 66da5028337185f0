"""What is served or batch-scored: the model file, its preprocessing and version, and its outputs
as predictions.

The server (``serve``) and batch scoring (``predict``) both choose and load the model here, so a
file scored in batch predicts exactly what the server answers. Two backends run the same trained
model:

* ``torch``: the chosen run's trained model (``paths.checkpoint``),
  with the preprocessor stored inside it;
* ``onnxruntime``: the file written by ``make export`` (``<paths.export_dir>/<onnx_model>``),
  with the ``preprocessor.json`` written beside it.

Either way the preprocessing is the one fitted in training, so a prediction over HTTP
equals ``evaluate``'s for the same input. Reading the preprocessor is cheap and happens
before the server binds its port (the request schema depends on it); loading the weights
happens after, while ``/readyz`` answers 503.
"""

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from ...data.preprocessing import load_preprocessor
from ..config import to_plain
from ..errors import ProjectError
from ..fingerprints import weights_sha256
from ..inference import saved_preprocessor
from ..registry import CHAMPION, RegistryError, check_intact, resolve
from .schemas import CLASSIFICATION

PACKAGE = __name__.split(".")[0]
PREPROCESSOR_FILE = "preprocessor.json"
# serve.model: the run paths.run names, outside the registry.
UNREGISTERED_RUN = "run"
BACKENDS = ("torch", "onnxruntime")
ACCELERATORS = ("auto", "cpu", "cuda")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSource:
    """The model file to serve and what describes it."""

    backend: str
    path: Path
    preprocessor: Any
    version: str

    @property
    def task(self) -> str:
        return str(self.preprocessor.task)

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(getattr(self.preprocessor, "class_names", ()))


@dataclass(frozen=True)
class Runtime:
    """How the model runs, whichever stage runs it: ``group`` (``serve`` or ``predict``) names the
    config keys in messages, so an error names the key the user actually set.

    ``threads``: intra-op threads of the forward pass; ``None`` leaves the library's default.
    """

    group: str
    backend: str
    onnx_model: str
    accelerator: str
    threads: int | None

    def __post_init__(self) -> None:
        for key, value, choices in (
            ("backend", self.backend, BACKENDS),
            ("accelerator", self.accelerator, ACCELERATORS),
        ):
            if value not in choices:
                raise ProjectError(f"{self.group}.{key} must be one of {', '.join(choices)}, got '{value}'.")
        if self.threads is not None and self.threads < 1:
            raise ProjectError(
                f"{self.group}.threads must be at least 1 or null (library default), got {self.threads}."
            )


@dataclass(frozen=True)
class ModelChoice:
    """A model ``serve.model``, ``serve.rollout.challenger`` or ``predict.model`` names: the config whose paths are
    its files, and its registry version (``None``: a run served outside the registry)."""

    config: dict[str, Any]
    registered: str | None


def choose_model(cfg: DictConfig, reference: str) -> ModelChoice:
    """The files of the model ``reference`` names: ``run``, an alias or a registered version.

    A registered version's folder has the layout of a run's (it is a copy of one), so its
    files are found by pointing ``paths.run_dir`` at it; its weights are checked against the
    registry first. ``champion`` before any promotion serves ``paths.run``, with a warning.
    """
    if reference == UNREGISTERED_RUN:
        return ModelChoice(to_plain(cfg), None)
    registry_dir = Path(str(cfg.paths.registry_dir))
    served = resolve(registry_dir, reference)
    if served is None:
        if reference != CHAMPION:
            raise RegistryError(
                f"no {reference} in the registry {registry_dir}: register one with `make register RUN=<name>`."
            )
        log.warning(
            "no champion in %s yet: serving the unregistered run paths.run=%s; release one with "
            "`make promote RUN=<name>`",
            registry_dir,
            cfg.paths.run,
        )
        return ModelChoice(to_plain(cfg), None)
    chosen = OmegaConf.merge(cfg, dict(paths=dict(run_dir=str(served.folder))))
    assert isinstance(chosen, DictConfig)
    config = to_plain(chosen)
    check_intact(served, Path(config["paths"]["checkpoint"]))
    return ModelChoice(config, served.version)


def resolve_model_source(
    config: dict[str, Any], runtime: Runtime, registered: str | None = None
) -> ModelSource:
    """Find the model file of ``runtime.backend`` and read its preprocessor, or say what to run first.

    ``registered``: the model's registry version, which names it in answers and metrics;
    otherwise the hash of its weights does (:func:`model_version`).
    """
    group = runtime.group
    if runtime.backend == "torch":
        checkpoint = Path(config["paths"]["checkpoint"])
        # Loads nothing executable; a missing model names `make train`.
        version = registered or model_version(checkpoint)
        return ModelSource("torch", checkpoint, saved_preprocessor(checkpoint), version)
    export_dir = config["paths"].get("export_dir")
    if export_dir is None:
        raise ProjectError(
            f"{group}.backend=onnxruntime needs an ONNX export, and this project has no export stage "
            f"(onnx_export answer); use the checkpoint with {group}.backend=torch."
        )
    model = Path(export_dir) / runtime.onnx_model
    preprocessor_file = model.parent / PREPROCESSOR_FILE
    if not model.is_file():
        raise ProjectError(
            f"no ONNX model at {model}: run `make export` first (python -m {PACKAGE}.export), "
            f"or use the checkpoint with {group}.backend=torch."
        )
    if not preprocessor_file.is_file():
        raise ProjectError(
            f"{preprocessor_file} is missing beside {model.name}: run `make export` again so that the "
            "model and its preprocessing are written together."
        )
    preprocessor = load_preprocessor(json.loads(preprocessor_file.read_text(encoding="utf-8")))
    return ModelSource("onnxruntime", model, preprocessor, registered or model_version(model))


def model_version(path: Path) -> str:
    """``<name>-<first 12 hex digits of a SHA-256>`` of the weights: changes whenever they do.

    ``path`` is a weights file, or a model folder whose ``*.safetensors`` files are hashed.
    """
    return f"{path.stem}-{weights_sha256(path)[:12]}"


def prediction_numbers(outputs: np.ndarray, preprocessor: Any) -> np.ndarray:
    """Model outputs ``(batch, classes)`` -> softmax probabilities, or ``(batch, 1)`` -> regression values.

    Probabilities are the softmax of the logits, as ``evaluate`` computes them; regression
    outputs are mapped back from the standardised scale to the target's units. One call for a
    whole batch of the server's requests, not one per instance.
    """
    if preprocessor.task != CLASSIFICATION:
        return preprocessor.inverse_transform_regression(outputs[:, 0].astype(np.float64))
    logits = outputs.astype(np.float64)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def finite_rows(values: np.ndarray) -> np.ndarray:
    """Whether each row (instance) of ``values`` is free of NaN and infinities: the rows that have a
    prediction (the server answers the others with a 422, batch scoring rejects them)."""
    return np.isfinite(values.reshape(len(values), -1)).all(axis=1)


def to_predictions(numbers: np.ndarray, preprocessor: Any) -> list[dict[str, Any]]:
    """The answer's predictions for :func:`prediction_numbers`: a label and its probabilities, or a value."""
    if preprocessor.task != CLASSIFICATION:
        return [{"value": value} for value in numbers.tolist()]
    class_names = list(preprocessor.class_names)
    return [
        {"label": class_names[best], "probabilities": dict(zip(class_names, row, strict=True))}
        for best, row in zip(numbers.argmax(axis=1).tolist(), numbers.tolist(), strict=True)
    ]
