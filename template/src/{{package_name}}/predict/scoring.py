"""One chunk of input rows -> its predictions and its rejected rows, exactly as the server answers them.

Each instance is checked by the server's instance schema (``codec.instance_model``, one row at a
time so that one bad row never takes its neighbours with it), encoded by the server's codec
(``instances.py``: the preprocessing fitted in training), run through the backend, and turned
into predictions by ``core/service/model.py``. A row that fails any step is rejected with its
row number and the reason, never dropped: a missing or invalid field (the schema), content the
codec cannot encode (an undecodable image, a number the float32 input cannot hold), or a
model output that is not finite.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from ..core.service.backends import Backend
from ..core.service.model import ModelSource, finite_rows, prediction_numbers, to_predictions
from ..core.service.schemas import CLASSIFICATION, Codec, InstanceError

TEXT = "string"  # pandas' string type: Parquet columns stay strings even when a part has no rows


@dataclass(frozen=True)
class Chunk:
    """Rows of the input read together: their row numbers, instances, and columns to copy out.

    ``problems[i]`` says why row ``i`` could not even be read (its instance is then ``None``);
    ``described`` holds columns that identify a row besides its number (an image's path).
    """

    rows: np.ndarray
    instances: list[Any]
    problems: list[str | None]
    described: dict[str, list[Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Encoder:
    """The server's steps for one modality: check one instance, then encode checked instances."""

    validate: Callable[[Any], Any]
    encode: Callable[[Sequence[Any]], np.ndarray]


@dataclass(frozen=True)
class Scored:
    """A chunk's predictions and rejected rows, as frames of the output's columns."""

    predictions: pd.DataFrame
    rejects: pd.DataFrame


def score_chunks(
    chunks: Iterator[Chunk], encoder: Encoder, codec: Codec, backend: Backend, source: ModelSource
) -> Iterator[Scored]:
    """:func:`score_chunk` of each chunk, in order."""
    for chunk in chunks:
        yield score_chunk(chunk, encoder, codec, backend, source)


def score_chunk(
    chunk: Chunk, encoder: Encoder, codec: Codec, backend: Backend, source: ModelSource
) -> Scored:
    """Predictions of the rows of ``chunk`` that pass every step; the others with their reasons."""
    reasons: dict[int, str] = {index: problem for index, problem in enumerate(chunk.problems) if problem}
    positions, checked = validate(chunk.instances, reasons, encoder)
    positions, inputs = encode(positions, checked, reasons, encoder)
    if positions:
        outputs = backend.predict(inputs)
        finite = finite_rows(outputs)
        for position, row_inputs in zip(np.array(positions)[~finite].tolist(), inputs[~finite], strict=True):
            reasons[position] = non_finite_reason(codec, row_inputs)
        positions = np.array(positions)[finite].tolist()
        numbers = prediction_numbers(outputs[finite], source.preprocessor)
    else:
        numbers = no_numbers(source)
    predictions = prediction_frame(source, take(chunk, positions), numbers)
    rejected = sorted(reasons)
    rejects = pd.DataFrame(
        {**take(chunk, rejected), "reason": pd.Series([reasons[i] for i in rejected], dtype=TEXT)}
    )
    return Scored(predictions, rejects)


def validate(instances: list[Any], reasons: dict[int, str], encoder: Encoder) -> tuple[list[int], list[Any]]:
    """The positions and checked instances of the rows the schema accepts; the others' reasons."""
    positions, checked = [], []
    for position, instance in enumerate(instances):
        if position in reasons:
            continue
        try:
            checked.append(encoder.validate(instance))
        except ValidationError as error:
            reasons[position] = schema_reason(error)
            continue
        positions.append(position)
    return positions, checked


def encode(
    positions: list[int], checked: list[Any], reasons: dict[int, str], encoder: Encoder
) -> tuple[list[int], np.ndarray]:
    """The model inputs of the checked rows, in one call of the codec; a row the codec refuses
    (``InstanceError`` names its index) is rejected and the call made again without it."""
    while positions:
        try:
            return positions, encoder.encode(checked)
        except InstanceError as error:
            index = int(error.location[1])
            reasons[positions[index]] = error.message
            del positions[index], checked[index]
    return positions, np.zeros((0,), np.float32)


def schema_reason(error: ValidationError) -> str:
    """Every refused field of one row, as ``field: why``."""
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'row'}: {item['msg']}" for item in error.errors()
    )


def non_finite_reason(codec: Codec, inputs: np.ndarray) -> str:
    """Why a row has no prediction although its inputs were finite (the server's 422 says the same)."""
    why = "its inputs lie far outside the training data"
    if codec.describe_outlier is not None:
        why = codec.describe_outlier(inputs)[1]
    return f"the model's output is not finite, so it has no prediction: {why}"


def take(chunk: Chunk, positions: list[int]) -> dict[str, Any]:
    """The ``row`` number and described columns of the rows at ``positions`` of ``chunk``."""
    columns: dict[str, Any] = {"row": pd.Series(chunk.rows[positions], dtype="int64")}
    for name, values in chunk.described.items():
        columns[name] = pd.Series([values[position] for position in positions], dtype=TEXT)
    return columns


def prediction_frame(source: ModelSource, described: dict[str, Any], numbers: np.ndarray) -> pd.DataFrame:
    """Output rows: row number, described columns, model version, and the server's prediction of
    each (``label`` and ``probability_<class>`` columns, or ``value``)."""
    predictions = to_predictions(numbers, source.preprocessor)
    frame = pd.DataFrame(described)
    frame["model_version"] = pd.Series([source.version] * len(frame), dtype=TEXT)
    if source.task != CLASSIFICATION:
        frame["value"] = pd.Series([item["value"] for item in predictions], dtype="float64")
        return frame
    frame["label"] = pd.Series([item["label"] for item in predictions], dtype=TEXT)
    for name in source.class_names:
        frame[f"probability_{name}"] = pd.Series(
            [item["probabilities"][name] for item in predictions], dtype="float64"
        )
    return frame


def empty_outputs(source: ModelSource, described: Sequence[str]) -> Scored:
    """Frames without rows of the output's and the rejects' columns and types."""
    chunk = Chunk(np.zeros(0, np.int64), [], [], {name: [] for name in described})
    return Scored(
        prediction_frame(source, take(chunk, []), no_numbers(source)),
        pd.DataFrame({**take(chunk, []), "reason": pd.Series([], dtype=TEXT)}),
    )


def no_numbers(source: ModelSource) -> np.ndarray:
    """:func:`prediction_numbers` of no rows, shaped as the model's (classes, or one value)."""
    outputs = np.zeros((0, max(1, len(source.class_names))), np.float32)
    return prediction_numbers(outputs, source.preprocessor)
