"""Where the Hydra configs live, and turning them into plain data.

The ``configs/`` folder sits at the project root (next to ``src/``), so commands work from
an editable install (``make setup``) without copying configs into the package.
"""

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = PROJECT_ROOT / "configs"


def to_plain(config: DictConfig) -> dict[str, Any]:
    """The resolved config as plain dicts and lists (JSON-, YAML- and checkpoint-safe)."""
    container = OmegaConf.to_container(config, resolve=True, throw_on_missing=True)
    assert isinstance(container, dict)
    return {str(key): value for key, value in container.items()}
