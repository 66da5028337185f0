"""The artifacts folder: the one place where stages hand work to each other.

``train`` writes checkpoints, the resolved config, the fitted preprocessing and metrics
here; ``evaluate`` (and later stages) read them without the user copying paths around.
Hydra's dated output folders only keep run logs.
"""

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ArtifactPaths:
    """Well-known file locations inside one artifacts folder."""

    root: Path

    @property
    def checkpoint_dir(self) -> Path:
        """``best.pt`` and ``last.pt``, written by the Trainer (see training/checkpoint.py)."""
        return self.root / "checkpoints"

    @property
    def model_dir(self) -> Path:
        """The exported best model (Hugging Face projects: weights, processor, config)."""
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

    def create(self) -> "ArtifactPaths":
        """Create the folders (idempotent) and return ``self`` for chaining."""
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        return self
