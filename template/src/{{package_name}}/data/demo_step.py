"""The demo-data step's command line, shared by every modality's ``data/demo.py``.

Generating the demo data is a pipeline step of its own, not part of training: the step
writes it under ``data.demo_dir`` in the format of a user's files, and every stage reads it
through the same code as those files. The step composes training's own config
(``configs/train.yaml``) from the same overrides, so ``make demo-data ARGS="data.demo_size=600"``
writes what ``make train ARGS="data.demo_size=600"`` reads; ``-m`` sweeps (``seed=1,2``) write
the data of every job. Data that already exists is left alone, so ``make train`` runs the step
first at the cost of one config composition.
"""

import os
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import OmegaConf

from ..core.config import CONFIG_DIR
from ..core.errors import DataError, exit_on_user_error

MULTIRUN_FLAGS = ("-m", "--multirun")


def write_once(path: Path, write: Callable[[Path], object]) -> bool:
    """Write the file or folder ``path`` through ``write`` unless it exists; ``False`` if it did.

    ``write`` fills a temporary name beside ``path``, renamed when complete, so a killed step
    never leaves partial data that training would read; of two steps racing, the first wins.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    write(staging)
    try:
        staging.rename(path)
    except OSError:  # another step finished the same folder first: keep theirs
        shutil.rmtree(staging, ignore_errors=True)
        if not path.exists():
            raise
    return True


def job_overrides(arguments: list[str]) -> list[list[str]]:
    """The overrides of each job the arguments describe: one, or one per job of a sweep.

    Expanded by the sweeper that `python -m <package>.training -m` runs (Hydra exports no public
    expansion), so the step writes exactly the data of the jobs training will run.
    """
    overrides = [argument for argument in arguments if argument not in MULTIRUN_FLAGS]
    parsed = OverridesParser.create().parse_overrides(overrides)
    [jobs] = BasicSweeper.split_arguments(parsed, max_batch_size=None)
    return jobs


def training_data(overrides: list[str]) -> tuple[dict[str, Any], int]:
    """The ``data`` settings and seed of training's config composed with ``overrides``."""
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR), job_name="demo_data"):
        config = compose("train", overrides=overrides)
    data = OmegaConf.to_container(config.data, resolve=True)
    assert isinstance(data, dict)
    return {str(key): value for key, value in data.items()}, int(config.seed)


def write_demo_data_for(
    arguments: list[str], load_settings: Callable[[Mapping[str, Any]], Any], write: Callable[[Any, int], Path]
) -> None:
    """Write the demo data of each job ``arguments`` (training's overrides) describe, and say where."""
    try:
        jobs = [training_data(overrides) for overrides in job_overrides(arguments)]
    except HydraException as error:
        message = " ".join(str(error).split())  # one line, as every user error
        raise DataError(f"cannot compose configs/train.yaml: {message}") from error
    for data, seed in jobs:
        settings = load_settings(data)
        if settings.source != "demo":
            print(f"data.source={settings.source}: training reads {settings.path}; no demo data to write")
            continue
        path = write(settings, seed)
        print(f"demo data (data.demo_size={settings.demo_size}, seed={seed}): {path}")


def run_demo_step(
    load_settings: Callable[[Mapping[str, Any]], Any],
    write: Callable[[Any, int], Path],
    argv: list[str] | None = None,
) -> None:
    """``python -m <package>.data.demo [overrides...]``: a user error ends with one line (status 1)."""
    arguments = sys.argv[1:] if argv is None else argv
    exit_on_user_error(lambda: write_demo_data_for(arguments, load_settings, write))
