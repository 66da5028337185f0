"""The artifacts folder: the one place where stages hand work to each other.

``train`` writes checkpoints, the resolved config, the fitted preprocessing and metrics
here; ``evaluate`` (and later stages) read them without the user copying paths around.
Hydra's dated output folders only keep run logs.

``export`` writes a self-contained folder (``export/``: the ONNX model(s) and the fitted
preprocessing) that serving loads and that can be copied to a device as a whole, and its
report ``export.json`` beside it.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .integrity import update_with_file


@dataclass(frozen=True)
class ArtifactPaths:
    """Well-known file locations inside one artifacts folder."""

    root: Path

    @property
    def checkpoint_dir(self) -> Path:
        """PyTorch: ``best.pt`` and ``last.pt``, each with its ``.sha256`` (see training/checkpoint.py);
        Hugging Face: the Trainer's ``checkpoint-<step>/`` folders, each with its ``checksums.json``."""
        return self.root / "checkpoints"

    @property
    def model_dir(self) -> Path:
        """The exported best model (Hugging Face projects: weights, processor, config, ``checksums.json``)."""
        return self.root / "model"

    @property
    def resolved_config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def preprocessor(self) -> Path:
        return self.root / "preprocessor.json"

    @property
    def history(self) -> Path:
        return self.root / "history.json"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def export_dir(self) -> Path:
        return self.root / "export"

    @property
    def export_files(self) -> "ExportFiles":
        return ExportFiles(self.export_dir)

    @property
    def onnx_model(self) -> Path:
        return self.export_files.onnx_model

    @property
    def onnx_int8_model(self) -> Path:
        return self.export_files.onnx_int8_model

    @property
    def export_report(self) -> Path:
        """``export.json``: parity, sizes against the budget, fp32 and INT8 test metrics."""
        return self.root / "export.json"

    def create(self) -> "ArtifactPaths":
        """Create the folders (idempotent) and return ``self`` for chaining."""
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        return self


@dataclass(frozen=True)
class ExportFiles:
    """The files of one export folder (``artifacts/export/`` unless configured otherwise).

    A model larger than the exporter's single-file limit keeps its weights in a side file
    named after it (``model.onnx.data``); ``export/onnx_model.py: model_files`` lists them.
    """

    root: Path

    @property
    def onnx_model(self) -> Path:
        """fp32 ONNX: input ``inputs`` (dynamic batch), output ``logits``."""
        return self.root / "model.onnx"

    @property
    def onnx_int8_model(self) -> Path:
        """The same graph with dynamically quantized INT8 weights (when quantization is on)."""
        return self.root / "model.int8.onnx"

    @property
    def preprocessor(self) -> Path:
        """The fitted preprocessing of the exported checkpoint, to turn raw inputs into ``inputs``."""
        return self.root / "preprocessor.json"


def weights_sha256(path: Path) -> str:
    """SHA-256 of a model's weights: a weights file, or a model folder's ``*.safetensors`` files.

    Reports and the server name the model by it, so a report can be matched to the weights
    it describes (paths stay the same when a model is retrained; the hash does not).
    """
    digest = hashlib.sha256()
    files = sorted(path.glob("*.safetensors")) if path.is_dir() else [path]
    for file in files:
        update_with_file(digest, file)
    return digest.hexdigest()


def code_sha256(folders: list[Path]) -> str:
    """SHA-256 of the Python files under ``folders`` (their paths and contents).

    ``make test-all`` records it in its result file, so the readiness gate can tell whether the
    tests ran on the code being released (modification times change on a checkout or a
    copy; the contents do not).
    """
    digest = hashlib.sha256()
    for folder in folders:
        for file in sorted(folder.rglob("*.py")):
            content = file.read_bytes()
            digest.update(f"{folder.name}/{file.relative_to(folder).as_posix()} {len(content)}\n".encode())
            digest.update(content)
    return digest.hexdigest()
