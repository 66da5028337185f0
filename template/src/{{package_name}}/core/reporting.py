"""Writing JSON reports atomically (a killed stage leaves the previous file, not half a document
that breaks every later reader), valid even when a metric is undefined."""

import json
import math
from pathlib import Path
from typing import Any

from .atomic import write_text_atomically


def json_safe(value: Any) -> Any:
    """Replace NaN/Inf (not valid JSON) by ``None``, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as indented JSON, atomically, creating the folder if needed."""
    write_text_atomically(path, json.dumps(json_safe(payload), indent=2) + "\n")
