"""Where the Hydra configs live, and turning them into plain data.

The ``configs/`` folder sits at the project root (next to ``src/``), so commands work from
an editable install (``make setup``) without copying configs into the package.
"""

from collections.abc import Callable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from .errors import ProjectError

# The three splits every stage uses; a split is a deterministic function of the data and seed.
SPLITS = ("train", "val", "test")

PROJECT_ROOT = Path(__file__).resolve().parents[3]
CONFIG_DIR = PROJECT_ROOT / "configs"


def to_plain(config: DictConfig) -> dict[str, Any]:
    """The resolved config as plain dicts and lists (JSON-, YAML- and checkpoint-safe)."""
    container = OmegaConf.to_container(config, resolve=True, throw_on_missing=True)
    assert isinstance(container, dict)
    return {str(key): value for key, value in container.items()}


def settings_from_mapping(
    settings_class: Callable[..., Any],
    values: Mapping[str, Any],
    *,
    group: str,
    error: type[ProjectError],
) -> Any:
    """Build a frozen settings dataclass from a config group, refusing unknown keys.

    A typo such as ``trainer.max_epoch=5`` would otherwise be silently ignored and the run
    would train with the default; naming the key and the valid ones turns it into a fix.
    """
    known = {item.name for item in fields(settings_class)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise error(f"unknown {group} setting(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}.")
    return settings_class(**values)
