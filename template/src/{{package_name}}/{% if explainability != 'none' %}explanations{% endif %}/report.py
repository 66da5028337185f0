"""The ``explanations.json`` contract: what was explained, with which model, and how well it adds up.

The stage (``explain.py``) writes one report per run::

    {
      "method": "shap" | "integrated_gradients",
      "modality": "tabular" | "image" | "text",
      "model": {"path": ..., "sha256": ...},   # the weights explained (changes when they do)
      "split": "test", "num_examples": 16, "task": ..., "class_names": [...],
      "explained_output": ...,                  # which number the attributions decompose
      "baseline": ...,                          # what "absent input" means for this method
      "completeness": {"max_abs_error": ..., "mean_abs_error": ..., "meaning": ...},
      "global_importance": {...},               # modality-specific, largest first
      "examples": [{"index": 0, "target": "yes", "target_index": 1, "output": ..., ...}],
      "plots": ["global_importance.png", ...],
      "seconds": ...
    }

The readiness gate reads ``model.sha256`` (a report of other weights than the current model's
fails) and ``completeness.max_abs_error`` (it fails above ``completeness_tolerance`` of
``configs/explain.yaml``).
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..artifacts import weights_sha256

REPORT_FILE = "explanations.json"


def model_identity(path: Path) -> dict[str, str]:
    """The explained weights: their path and a SHA-256 of the file (or a model folder's safetensors)."""
    return {"path": str(path), "sha256": weights_sha256(path)}


def completeness(errors: np.ndarray, meaning: str) -> dict[str, Any]:
    """Summary of per-example completeness errors: |sum of attributions - explained difference|."""
    errors = np.abs(np.asarray(errors, dtype=np.float64))
    return {
        "max_abs_error": float(errors.max(initial=0.0)),
        "mean_abs_error": float(errors.mean()) if errors.size else 0.0,
        "meaning": meaning,
    }


def class_label(class_names: Sequence[str], target_index: int) -> str | None:
    """The name of the explained class; None for regression (the single output)."""
    return str(class_names[target_index]) if class_names else None


def ranked(importance: dict[str, float]) -> dict[str, float]:
    """``importance`` sorted from the largest value down (how readers scan it)."""
    return dict(sorted(importance.items(), key=lambda item: item[1], reverse=True))
