"""Feature and target preprocessing, fitted on the training split only.

Fitting scalers or label vocabularies on all rows leaks test information into training
and inflates the reported metrics. :class:`TabularPreprocessor` is fitted once on the
training rows, saved (as JSON, inside every checkpoint and in the artifacts folder), and
reused unchanged by evaluation and serving, so a row is transformed the same way everywhere.
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError

CLASSIFICATION = "classification"
REGRESSION = "regression"


@dataclass(frozen=True)
class TabularPreprocessor:
    """Standardise numeric columns, one-hot encode categorical ones, encode the target.

    Categories never seen in training encode as all zeros (the model has no evidence for
    them); target labels never seen in training are an error, because no output unit
    exists for them.
    """

    task: str
    numeric_columns: tuple[str, ...]
    categorical_columns: tuple[str, ...]
    target_column: str
    numeric_means: tuple[float, ...]
    numeric_stds: tuple[float, ...]
    categories: tuple[tuple[str, ...], ...]
    class_names: tuple[str, ...] = ()
    target_mean: float = 0.0
    target_std: float = 1.0

    @classmethod
    def fit(
        cls,
        train: pd.DataFrame,
        *,
        task: str,
        numeric_columns: Sequence[str],
        categorical_columns: Sequence[str],
        target_column: str,
    ) -> "TabularPreprocessor":
        """Learn scaling, vocabularies and the target encoding from the training rows."""
        numeric = train[list(numeric_columns)].astype("float64")
        stds = numeric.std(ddof=0).replace(0.0, 1.0)  # constant columns: avoid dividing by 0
        categories = tuple(
            tuple(sorted(train[column].astype(str).unique())) for column in categorical_columns
        )
        features = {
            "task": task,
            "numeric_columns": tuple(numeric_columns),
            "categorical_columns": tuple(categorical_columns),
            "target_column": target_column,
            "numeric_means": tuple(numeric.mean().tolist()),
            "numeric_stds": tuple(stds.tolist()),
            "categories": categories,
        }
        return cls(**features, **_fit_target(train[target_column], task, target_column))

    @property
    def num_features(self) -> int:
        return len(self.numeric_columns) + sum(len(values) for values in self.categories)

    @property
    def output_dim(self) -> int:
        """Number of model outputs: one logit per class, or one value for regression."""
        return len(self.class_names) if self.task == CLASSIFICATION else 1

    def transform_features(self, frame: pd.DataFrame) -> np.ndarray:
        """Return the float32 model input matrix for ``frame``'s rows."""
        numeric = frame[list(self.numeric_columns)].to_numpy(dtype="float64")
        scaled = (numeric - np.asarray(self.numeric_means)) / np.asarray(self.numeric_stds)
        blocks = [scaled]
        for column, vocabulary in zip(self.categorical_columns, self.categories, strict=True):
            values = frame[column].astype(str).to_numpy()
            blocks.append(values[:, None] == np.asarray(vocabulary)[None, :])
        return np.concatenate(blocks, axis=1).astype("float32")

    def transform_target(self, frame: pd.DataFrame, source: str) -> np.ndarray:
        """Encode the target: class indices (int64) or standardised values (float32)."""
        target = frame[self.target_column]
        if self.task == CLASSIFICATION:
            labels = target.astype(str)
            unknown = sorted(set(labels) - set(self.class_names))
            if unknown:
                raise DataError(
                    f"{source} has label(s) {', '.join(map(repr, unknown[:5]))} in "
                    f"'{self.target_column}' that the model was not trained on "
                    f"(known: {', '.join(self.class_names)}). Retrain with data containing "
                    "them, or remove those rows."
                )
            index = {name: position for position, name in enumerate(self.class_names)}
            return labels.map(index).to_numpy(dtype="int64")
        values = _numeric_target(target, self.target_column)
        return ((values - self.target_mean) / self.target_std).astype("float32")

    def inverse_transform_regression(self, values: np.ndarray) -> np.ndarray:
        """Map standardised regression outputs back to the target's own units."""
        return values * self.target_std + self.target_mean

    def to_dict(self) -> dict[str, Any]:
        """A JSON- and ``weights_only``-safe representation (plain lists and numbers)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> "TabularPreprocessor":
        tuple_fields = {
            "numeric_columns",
            "categorical_columns",
            "numeric_means",
            "numeric_stds",
            "class_names",
        }
        values = {key: tuple(value) if key in tuple_fields else value for key, value in state.items()}
        values["categories"] = tuple(tuple(vocabulary) for vocabulary in state["categories"])
        return cls(**values)


def _fit_target(target: pd.Series, task: str, target_column: str) -> dict[str, Any]:
    """The target encoding: sorted class names, or the mean and std of a numeric target."""
    if task == CLASSIFICATION:
        class_names = tuple(sorted(target.astype(str).unique()))
        if len(class_names) < 2:
            raise DataError(
                f"target column '{target_column}' has a single class "
                f"({class_names[0]!r}) in the training split; classification needs "
                "at least two classes. Check the file, or set task=regression for a numeric target."
            )
        return {"class_names": class_names}
    if task != REGRESSION:
        raise DataError(f"task must be '{CLASSIFICATION}' or '{REGRESSION}', got '{task}'.")
    values = _numeric_target(target, target_column)
    return {"target_mean": float(values.mean()), "target_std": float(values.std()) or 1.0}


def _numeric_target(target: pd.Series, target_column: str) -> np.ndarray:
    try:
        return target.to_numpy(dtype="float64")
    except (TypeError, ValueError) as error:
        raise DataError(
            f"regression needs a numeric target, but '{target_column}' holds values such as "
            f"{target.iloc[0]!r}. Choose a numeric column or set task=classification."
        ) from error
