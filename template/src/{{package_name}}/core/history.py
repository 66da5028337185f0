"""A training run's ``history.json`` as the stages that compare runs read it (sweeps, tuning).

Training writes the best validation value of its monitored metric as ``best_val_<monitor>``
(``training/__main__.py``); a run that failed before its first epoch ended has no history.
"""

import json
import math
from pathlib import Path
from typing import Any


def read_history(file: Path) -> dict[str, Any]:
    """The history of a run; empty when there is none yet or it cannot be read."""
    try:
        history = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return history if isinstance(history, dict) else {}


def best_validation(history: dict[str, Any], monitor: str) -> float | None:
    """The run's best validation ``monitor``, or ``None`` when it recorded no finite one."""
    value = history.get(f"best_val_{monitor}")
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
