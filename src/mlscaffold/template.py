"""Finding the bundled template and reading its questions.

The wheel ships ``copier.yml`` and ``template/`` under ``mlscaffold/_template/`` so an
installed mlscaffold renders with no checkout around it. In a source checkout (editable
install) the same files live at the repository root, two folders above this module.
"""

from pathlib import Path
from typing import Any

import yaml

PACKAGED_TEMPLATE = Path(__file__).parent / "_template"
CHECKOUT_ROOT = Path(__file__).resolve().parents[2]


def bundled_template() -> Path:
    """The template shipped with this installation of mlscaffold."""
    for candidate in (PACKAGED_TEMPLATE, CHECKOUT_ROOT):
        if (candidate / "copier.yml").is_file() and (candidate / "template").is_dir():
            return candidate
    raise FileNotFoundError(
        "the bundled template is missing from this installation; reinstall mlscaffold "
        "or pass --template <path or git URL>"
    )


def answerable_questions(questions: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The questions a user may answer: computed values (``when: false``) are not questions."""
    return {name: details for name, details in questions.items() if details.get("when", True) is not False}


def read_config(root: Path) -> dict[str, Any]:
    """The parsed ``copier.yml`` of the template folder ``root`` (empty when the file is)."""
    return yaml.safe_load((root / "copier.yml").read_text(encoding="utf-8")) or {}


def config_questions(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The answerable questions of a parsed ``copier.yml``, in order; ``name: value`` is a
    question with that default (Copier's short form), ``_`` keys are settings."""
    questions = {k: v if isinstance(v, dict) else {"default": v} for k, v in config.items() if not k.startswith("_")}
    return answerable_questions(questions)
