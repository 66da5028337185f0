"""Batch scoring: ``python -m <package>.predict INPUT OUTPUT [--shard i/n] [predict.<key>=...]``.

Also ``make predict INPUT=... OUTPUT=...``; ``python -m <package>.predict merge OUTPUT`` merges
the parts of a sharded run (``parts.py``). Hydra takes ``key=value`` overrides only, so the
positional arguments are rewritten before Hydra reads them (:func:`hydra_arguments`):
``INPUT OUTPUT`` become ``predict.input=... predict.output=...``, ``merge OUTPUT`` becomes
``predict.merge=true predict.output=...`` and ``--shard i/n`` becomes ``predict.shard=i/n``;
everything else is passed on as written. Under torchrun, each rank scores shard
``RANK/WORLD_SIZE`` unless ``--shard`` says otherwise.
"""

import logging
import sys
from typing import Any

import hydra
from omegaconf import DictConfig

from ..core.config import CONFIG_DIR, to_plain
from ..core.errors import exit_on_user_error
from ..core.run_lookup import register_run_dir_resolver
from .parts import merge_parts
from .run import score_input
from .settings import USAGE, PredictSettings

log = logging.getLogger(__name__)
MERGE = "merge"


def hydra_arguments(arguments: list[str]) -> list[str]:
    """``INPUT OUTPUT``, ``merge OUTPUT`` and ``--shard i/n`` as Hydra overrides (module docstring)."""
    overrides, positional = [], []
    items = iter(arguments)
    for item in items:
        if item == "--shard":
            overrides.append(f"predict.shard={next(items, '')}")
        elif item.startswith("--shard="):
            overrides.append(f"predict.shard={item.removeprefix('--shard=')}")
        elif "=" in item or item.startswith("-"):
            overrides.append(item)
        else:
            positional.append(item)
    if positional[:1] == [MERGE]:
        return ["predict.merge=true", *named(["output"], positional[1:]), *overrides]
    return [*named(["input", "output"], positional), *overrides]


def named(keys: list[str], values: list[str]) -> list[str]:
    """``predict.<key>='<value>'`` for each positional value, quoted for Hydra's grammar."""
    if len(values) > len(keys):
        raise SystemExit(f"error: too many arguments {values}: {USAGE}")
    return [f"predict.{key}='{quote(value)}'" for key, value in zip(keys, values, strict=False)]


def quote(value: str) -> str:
    """``value`` inside Hydra's single quotes (a quote or backslash is escaped)."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def run_predict(cfg: DictConfig) -> dict[str, Any]:
    """The stage as a function of its config: score (this shard of) the input, or merge the parts."""
    settings = PredictSettings.from_mapping(to_plain(cfg)["predict"])
    if settings.merge:
        return merge_parts(settings.output_path, settings.batch_size)
    return score_input(cfg, settings).as_dict()


register_run_dir_resolver()


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="predict")
def main(cfg: DictConfig) -> None:
    exit_on_user_error(lambda: run_predict(cfg))


if __name__ == "__main__":
    sys.argv[1:] = hydra_arguments(sys.argv[1:])
    main()
