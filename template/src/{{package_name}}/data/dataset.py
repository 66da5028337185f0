"""The tabular ``Dataset``, the deterministic split and the DataLoaders.

The built-in demo data and the user's own files take the same path through this module:
``data.source`` only decides where the DataFrame comes from.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, Dataset

from ..config import settings_from_mapping
from ..errors import DataError
from ..reproducibility import seed_worker
from .demo import generate_demo_table
from .preprocessing import CLASSIFICATION, TabularPreprocessor
from .tables import handle_missing_values, read_table, require_columns

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class DataSettings:
    """The ``data`` config group, checked once so typos fail before training starts."""

    source: str = "demo"
    path: str | None = None
    format: str | None = None
    demo_rows: int = 4000
    target_column: str = "approved"
    numeric_columns: Sequence[str] | None = None
    categorical_columns: Sequence[str] | None = None
    sensitive_columns: Sequence[str] = ()
    missing_values: str = "error"
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    batch_size: int = 64
    eval_batch_size: int = 512
    num_workers: int = 0

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "DataSettings":
        settings: DataSettings = settings_from_mapping(cls, values, group="data", error=DataError)
        if settings.source not in ("demo", "file"):
            raise DataError(f"data.source must be 'demo' or 'file', got '{settings.source}'.")
        if settings.source == "file" and not settings.path:
            raise DataError("data.source=file needs data.path=<your CSV or Parquet file>.")
        if not (0 < settings.val_fraction < 1 and 0 < settings.test_fraction < 1):
            raise DataError("data.val_fraction and data.test_fraction must each lie between 0 and 1.")
        if settings.val_fraction + settings.test_fraction >= 0.9:
            raise DataError("data.val_fraction + data.test_fraction must leave at least 10% for training.")
        return settings

    @property
    def source_name(self) -> str:
        return "the built-in demo data" if self.source == "demo" else str(self.path)


class TabularDataset(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Preprocessed rows held as two tensors: features ``(N, F)`` and targets ``(N,)``.

    ``__getitems__`` returns a whole batch with one indexing operation; the default
    per-row fetch plus ``default_collate`` costs more than the forward pass of a small MLP.
    """

    def __init__(self, features: np.ndarray, targets: np.ndarray) -> None:
        if len(features) != len(targets):
            raise ValueError(f"{len(features)} feature rows but {len(targets)} targets")
        self.features = torch.from_numpy(np.array(features, dtype=np.float32))
        self.targets = torch.from_numpy(np.array(targets))

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.features[index], self.targets[index]

    def __getitems__(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        batch_index = torch.as_tensor(indices)
        return self.features[batch_index], self.targets[batch_index]


def keep_batch(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Collate function for :meth:`TabularDataset.__getitems__`, which already batches."""
    return batch


@dataclass(frozen=True)
class TabularData:
    """The three splits, their datasets and the fitted preprocessor, ready for loaders."""

    settings: DataSettings
    preprocessor: TabularPreprocessor
    frames: Mapping[str, pd.DataFrame]
    datasets: Mapping[str, TabularDataset]
    seed: int

    @property
    def num_features(self) -> int:
        return self.preprocessor.num_features

    @property
    def output_dim(self) -> int:
        return self.preprocessor.output_dim

    def loader(self, split: str, *, shuffle: bool | None = None) -> DataLoader:
        """A DataLoader over ``split``; only the training split is shuffled by default.

        Shuffling uses its own seeded generator, which the Trainer re-seeds every epoch so
        that a resumed run sees exactly the batches an uninterrupted run would have seen.
        """
        is_train = split == "train"
        generator = torch.Generator().manual_seed(self.seed)
        return DataLoader(
            self.datasets[split],
            batch_size=self.settings.batch_size if is_train else self.settings.eval_batch_size,
            shuffle=is_train if shuffle is None else shuffle,
            num_workers=self.settings.num_workers,
            pin_memory=torch.cuda.is_available(),
            collate_fn=keep_batch,
            worker_init_fn=seed_worker,
            generator=generator,
            persistent_workers=self.settings.num_workers > 0,
        )


def load_frame(settings: DataSettings, seed: int) -> pd.DataFrame:
    """The raw table: generated demo rows, or the user's file."""
    if settings.source == "demo":
        return generate_demo_table(num_rows=settings.demo_rows, seed=seed)
    return read_table(settings.path or "", settings.format)


def resolve_feature_columns(frame: pd.DataFrame, settings: DataSettings) -> tuple[list[str], list[str]]:
    """Numeric and categorical input columns: as configured, or inferred from dtypes.

    Inference uses every column except the target and the sensitive ones; sensitive
    columns are kept out of the inputs by default and only used to measure fairness.
    """
    excluded = {settings.target_column, *settings.sensitive_columns}
    if settings.numeric_columns is None:
        numeric = [
            str(c) for c in frame.columns if c not in excluded and pd.api.types.is_numeric_dtype(frame[c])
        ]
    else:
        numeric = list(settings.numeric_columns)
    if settings.categorical_columns is None:
        categorical = [str(c) for c in frame.columns if c not in excluded and c not in numeric]
    else:
        categorical = list(settings.categorical_columns)
    if not numeric and not categorical:
        raise DataError(
            f"{settings.source_name} has no input columns besides the target and sensitive "
            "columns; list them in data.numeric_columns / data.categorical_columns."
        )
    return numeric, categorical


def split_frame(
    frame: pd.DataFrame, settings: DataSettings, *, task: str, seed: int
) -> dict[str, pd.DataFrame]:
    """Deterministic train/val/test split; stratified by label for classification."""
    stratify = frame[settings.target_column].astype(str) if task == CLASSIFICATION else None
    held_out = settings.val_fraction + settings.test_fraction
    try:
        train, rest = train_test_split(frame, test_size=held_out, random_state=seed, stratify=stratify)
        rest_stratify = rest[settings.target_column].astype(str) if stratify is not None else None
        val, test = train_test_split(
            rest,
            test_size=settings.test_fraction / held_out,
            random_state=seed,
            stratify=rest_stratify,
        )
    except ValueError as error:
        raise DataError(
            f"cannot split {settings.source_name} ({len(frame)} rows) into train/val/test: "
            f"{error}. Add rows (each class needs several), or drop classes with very few rows."
        ) from error
    return {name: part.reset_index(drop=True) for name, part in zip(SPLITS, (train, val, test), strict=True)}


def build_tabular_data(
    settings: DataSettings | Mapping[str, Any],
    *,
    task: str,
    seed: int,
    preprocessor: TabularPreprocessor | None = None,
) -> TabularData:
    """Load, check, split and preprocess the table.

    Pass the ``preprocessor`` saved with a model (evaluation, serving) to transform rows
    exactly as in training; otherwise one is fitted on the training split.
    """
    if not isinstance(settings, DataSettings):
        settings = DataSettings.from_mapping(settings)
    frame = load_frame(settings, seed)
    if preprocessor is None:
        numeric, categorical = resolve_feature_columns(frame, settings)
    else:
        numeric, categorical = list(preprocessor.numeric_columns), list(preprocessor.categorical_columns)
    used_columns = [*numeric, *categorical, settings.target_column]
    require_columns(frame, [*used_columns, *settings.sensitive_columns], settings.source_name)
    frame = handle_missing_values(frame, used_columns, settings.missing_values, settings.source_name)
    _check_numeric(frame, numeric, settings.source_name)
    frames = split_frame(frame, settings, task=task, seed=seed)
    if preprocessor is None:
        preprocessor = TabularPreprocessor.fit(
            frames["train"],
            task=task,
            numeric_columns=numeric,
            categorical_columns=categorical,
            target_column=settings.target_column,
        )
    datasets = {
        name: TabularDataset(
            preprocessor.transform_features(part),
            preprocessor.transform_target(part, f"the {name} split of {settings.source_name}"),
        )
        for name, part in frames.items()
    }
    return TabularData(
        settings=settings, preprocessor=preprocessor, frames=frames, datasets=datasets, seed=seed
    )


def _check_numeric(frame: pd.DataFrame, columns: Sequence[str], source: str) -> None:
    for column in columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            example = frame[column].iloc[0]
            raise DataError(
                f"column '{column}' in {source} is configured as numeric but holds values such "
                f"as {example!r}; move it to data.categorical_columns or fix the file."
            )
        if not np.isfinite(frame[column].to_numpy(dtype="float64")).all():
            raise DataError(f"column '{column}' in {source} holds infinite values; fix or drop those rows.")
