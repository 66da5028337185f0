"""The train/val/test split every modality shares, and the checks of its settings.

The split depends only on the data and the seed, so evaluation, export and serving
recompute exactly the split of training instead of storing indices.
"""

import pandas as pd
from sklearn.model_selection import train_test_split

from ..core.config import SPLITS
from ..core.errors import DataError


def check_split_fractions(val_fraction: float, test_fraction: float) -> None:
    """Refuse fractions that leave no validation, test or (enough) training examples."""
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1):
        raise DataError("data.val_fraction and data.test_fraction must each lie between 0 and 1.")
    if val_fraction + test_fraction >= 0.9:
        raise DataError("data.val_fraction + data.test_fraction must leave at least 10% for training.")


def split_examples(
    frame: pd.DataFrame,
    stratify_by: pd.Series | None,
    *,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    source_name: str,
    unit: str = "rows",
) -> dict[str, pd.DataFrame]:
    """Deterministic train/val/test split of ``frame``, stratified by ``stratify_by`` if given.

    The split depends only on the data and the seed, so evaluation and later stages can
    recompute it instead of storing indices.
    """
    held_out = val_fraction + test_fraction
    try:
        train, rest = train_test_split(frame, test_size=held_out, random_state=seed, stratify=stratify_by)
        rest_stratify = stratify_by.loc[rest.index] if stratify_by is not None else None
        val, test = train_test_split(
            rest, test_size=test_fraction / held_out, random_state=seed, stratify=rest_stratify
        )
    except ValueError as error:
        raise DataError(
            f"cannot split {source_name} ({len(frame)} {unit}) into train/val/test: {error}. "
            f"Add {unit} (each class needs several), or drop classes with very few {unit}."
        ) from error
    return {name: part.reset_index(drop=True) for name, part in zip(SPLITS, (train, val, test), strict=True)}
