"""Artifact paths: the files through which stages hand work to each other.

configs/paths/ names every artifact path once; stages take the paths they need from the
composed config (``paths.<name>``), and training builds :class:`ArtifactPaths` from it.
Each training run writes into its own folder (``paths.run_dir``, see runs.py), and the
release stages read and write inside the run they are pointed at, so runs never overwrite
each other.

The names of the files inside an export folder are the export format's (``export/onnx_model.py``).
"""

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

# The drift reference profile, written beside the trained model by evaluation (core/drift/).
PROFILE_FILE = "reference_profile.json"


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
