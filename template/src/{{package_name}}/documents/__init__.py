"""The model card and the datasheet: measured blocks re-rendered from the artifacts.

``measurements.py`` reads the artifacts, ``sections.py`` turns them into Markdown,
``markers.py`` and ``front_matter.py`` put it into the documents without touching the
owners' text, and ``placeholders.py`` lists what only people can fill. The command is
``python -m <package>.documents`` (``make model-card``).
"""

from ..core.markers import find_blocks, replace_blocks
from ..core.placeholders import PLACEHOLDER, unfilled_entries
from .measurements import ArtifactFiles, Measurements, read_measurements
from .sections import NOT_MEASURED, CardSettings, block_contents, model_index

__all__ = [
    "NOT_MEASURED",
    "PLACEHOLDER",
    "ArtifactFiles",
    "CardSettings",
    "Measurements",
    "block_contents",
    "find_blocks",
    "model_index",
    "read_measurements",
    "replace_blocks",
    "unfilled_entries",
]
