"""Artifact paths: the files through which stages hand work to each other.

configs/paths/ names every artifact path once; stages take the paths they need from the
composed config (``paths.<name>``), and training builds :class:`ArtifactPaths` from it.
Each training run writes into its own folder (``paths.run_dir``, see runs.py), and the
release stages read and write inside the run they are pointed at, so runs never overwrite
each other.

``export`` writes a self-contained folder (``paths.export_dir``: the ONNX model(s) and the
fitted preprocessing) that serving loads and that can be copied to a device as a whole;
the names of the files inside it are the export format's, below.
"""

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ArtifactPaths:
    """What one training run writes, with the paths configs/paths/ gives them (no names here)."""

    run_dir: Path
    checkpoint_dir: Path
    """PyTorch: ``best.pt`` and ``last.pt``, each with its ``.sha256`` (see core/checkpoint.py);
    Hugging Face: the Trainer's ``checkpoint-<step>/`` folders, each with its ``checksums.json``."""
    checkpoint: Path
    """The trained model the release stages load: ``best.pt``, or the Hugging Face model folder
    (weights, processor, config, ``checksums.json``)."""
    resolved_config: Path
    preprocessor: Path
    history: Path
    metrics: Path

    @classmethod
    def from_config(cls, paths: Mapping[str, Any]) -> "ArtifactPaths":
        """The paths of the resolved ``paths`` config (a missing key is a config error, by name)."""
        missing = [item.name for item in fields(cls) if item.name not in paths]
        if missing:
            raise KeyError(f"configs/paths/ has no {', '.join(missing)}")
        return cls(**{item.name: Path(paths[item.name]) for item in fields(cls)})

    def create(self) -> "ArtifactPaths":
        """Create the folders (idempotent) and return ``self`` for chaining."""
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        return self


@dataclass(frozen=True)
class ExportFiles:
    """The files of one export folder (``paths.export_dir``).

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
