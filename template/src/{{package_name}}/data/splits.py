"""The train/val/test split every modality shares, and the checks of its settings.

The split depends only on the data and the seed, so evaluation, export and serving
recompute exactly the split of training instead of storing indices.
"""

from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split

from ..core.config import SPLITS
from ..core.errors import DataError

PACKAGE = __name__.split(".")[0]


def check_source_settings(settings: Any, file_kind: str) -> None:
    """Refuse an unknown ``data.source``, a file source without a path, an unknown
    ``data.missing_values`` policy, and split fractions that leave no validation, test or (enough)
    training examples."""
    if settings.source not in ("demo", "file"):
        raise DataError(f"data.source must be 'demo' or 'file', got '{settings.source}'.")
    if settings.source == "file" and not settings.path:
        raise DataError(f"data.source=file needs data.path=<{file_kind}>.")
    if getattr(settings, "missing_values", "error") not in ("error", "drop"):  # tables and texts have it
        raise DataError(f"data.missing_values must be 'error' or 'drop', got '{settings.missing_values}'.")
    val_fraction, test_fraction = settings.val_fraction, settings.test_fraction
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1):
        raise DataError("data.val_fraction and data.test_fraction must each lie between 0 and 1.")
    if val_fraction + test_fraction >= 0.9:
        raise DataError("data.val_fraction + data.test_fraction must leave at least 10% for training.")


def source_path(settings: Any, seed: int, demo_name: str) -> Path:
    """The file or folder to read: the user's ``data.path``, or the demo data of ``data.demo_size``
    and ``seed`` (``demo_name`` is the modality's file or folder pattern), which the demo-data step
    (data/demo.py) writes and this only reads, like a user's files."""
    if settings.source != "demo":
        return Path(settings.path or "")
    path = Path(settings.demo_dir) / demo_name.format(size=settings.demo_size, seed=seed)
    if not path.exists():
        raise DataError(
            f"no demo data at {path}: write it with `make demo-data` (python -m {PACKAGE}.data.demo, "
            "given the same overrides as this command, e.g. data.demo_size or seed); `make train` does."
        )
    return path


def split_examples(
    frame: pd.DataFrame, stratify_by: pd.Series | None, settings: Any, *, seed: int, unit: str
) -> dict[str, pd.DataFrame]:
    """Train/val/test split of ``frame`` by the ``data`` settings, stratified by ``stratify_by`` if given."""
    held_out, test_fraction = settings.val_fraction + settings.test_fraction, settings.test_fraction
    try:
        train, rest = train_test_split(frame, test_size=held_out, random_state=seed, stratify=stratify_by)
        rest_stratify = stratify_by.loc[rest.index] if stratify_by is not None else None
        val, test = train_test_split(
            rest, test_size=test_fraction / held_out, random_state=seed, stratify=rest_stratify
        )
    except ValueError as error:
        raise DataError(
            f"cannot split {settings.source_name} ({len(frame)} {unit}) into train/val/test: {error}. "
            f"Add {unit} (each class needs several), or drop classes with very few {unit}."
        ) from error
    return {name: part.reset_index(drop=True) for name, part in zip(SPLITS, (train, val, test), strict=True)}
