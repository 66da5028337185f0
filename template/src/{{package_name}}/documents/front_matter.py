"""The model card's YAML front matter, as the Hugging Face Hub reads it.

The Hub (and ``huggingface_hub.ModelCard``) reads metadata from a YAML block between two
``---`` lines at the top of the card. ``make model-card`` owns one key of it,
``model-index`` (the measured results); every other key (license, tags, datasets, ...)
belongs to the owners and is kept. The block is only rewritten when its data changes, and
then as plain YAML: comments inside the front matter are not kept.
"""

from typing import Any

import yaml

from ..core.errors import ProjectError

DELIMITER = "---"
MODEL_INDEX = "model-index"


def split_front_matter(text: str, source: str) -> tuple[dict[str, Any], str]:
    """``(metadata, body)``; a text without front matter gives ``({}, text)``."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != DELIMITER:
        return {}, text
    closing = next((index for index in range(1, len(lines)) if lines[index].rstrip() == DELIMITER), None)
    if closing is None:
        raise ProjectError(f"{source}: the front matter opened on line 1 has no closing `---` line.")
    try:
        metadata = yaml.safe_load("".join(lines[1:closing])) or {}
    except yaml.YAMLError as error:
        raise ProjectError(
            f"{source}: the front matter is not valid YAML ({error}); fix it by hand."
        ) from None
    if not isinstance(metadata, dict):
        raise ProjectError(f"{source}: the front matter must be a YAML mapping (key: value lines).")
    return metadata, "".join(lines[closing + 1 :])


def with_model_index(text: str, model_index: list[dict[str, Any]] | None, source: str) -> str:
    """``text`` whose front matter holds ``model_index`` (or no ``model-index`` when ``None``)."""
    metadata, body = split_front_matter(text, source)
    updated = {key: value for key, value in metadata.items() if key != MODEL_INDEX}
    if model_index is not None:
        updated[MODEL_INDEX] = model_index
    if updated == metadata:
        return text
    dumped = yaml.safe_dump(updated, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return f"{DELIMITER}\n{dumped}{DELIMITER}\n{body}"
