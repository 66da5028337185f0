"""Request, response and error bodies shared by every modality.

The schema of one instance is modality-specific (``instances.py``); this module wraps it
into the request body, and describes predictions and errors, so that the OpenAPI document
(``/docs``) names every field with an example.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, create_model

CLASSIFICATION = "classification"


class InstanceError(ValueError):
    """An instance that passed the schema but cannot be encoded (e.g. an undecodable image).

    ``location`` is the path of the offending field inside the request body, such as
    ``("instances", 3, "image")``, so the client learns which instance to fix.
    """

    def __init__(self, location: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.location = location
        self.message = message


@dataclass(frozen=True)
class Codec:
    """How one modality's instances are described and turned into the model's input tensor.

    ``encode`` applies exactly the preprocessing of training and evaluation and raises
    :class:`InstanceError` for content the schema cannot check, including numbers that the
    preprocessing cannot represent (they would reach the model as inf or NaN). ``encode_files``
    exists for modalities whose instances are files (images), which also accept multipart uploads.
    ``describe_outlier`` names the field of one encoded instance that lies furthest from the
    training data, and how far, for the answer to an instance whose model output is not finite.
    """

    instance_model: type[BaseModel]
    encode: Callable[[Sequence[Any]], np.ndarray]
    example: dict[str, Any]
    encode_files: Callable[[Sequence[bytes]], np.ndarray] | None = None
    describe_outlier: Callable[[np.ndarray], tuple[str, str]] | None = None


class FieldError(BaseModel):
    """Why one field of the request was refused."""

    loc: list[str | int] = Field(
        description="Path of the field in the body", examples=[["body", "instances", 0]]
    )
    msg: str = Field(description="What is wrong with it", examples=["Field required"])
    type: str = Field(description="Machine-readable error type", examples=["missing"])


class ErrorResponse(BaseModel):
    """Every error answer: a reason and the request id to quote when reporting it."""

    detail: str | list[FieldError] = Field(
        description="The reason, or one entry per refused field",
        examples=["at most 64 instances per request (serve.limits.max_instances); split the request"],
    )
    request_id: str = Field(description="Also in the X-Request-ID header", examples=["3f2b8c0e9d4a4b6f"])


class ClassPrediction(BaseModel):
    """One classification: the most probable label and every class's probability."""

    label: str = Field(description="The most probable class", examples=["yes"])
    probabilities: dict[str, float] = Field(
        description="Softmax probability of every class; they sum to 1", examples=[{"no": 0.2, "yes": 0.8}]
    )


class ValuePrediction(BaseModel):
    """One regression prediction, in the target's own units."""

    value: float = Field(description="The predicted value", examples=[12.5])


class NoopResponse(BaseModel):
    """Answer of the no-op route: the payload was parsed, validated and preprocessed."""

    instances: int = Field(description="Number of instances accepted", examples=[1])


def request_model(
    instance_model: type[BaseModel], example: dict[str, Any], max_instances: int
) -> type[BaseModel]:
    """The body of ``POST /v1/predict``: one to ``max_instances`` instances."""
    return create_model(
        "PredictRequest",
        __config__=ConfigDict(extra="forbid"),
        __doc__="One or more instances to predict, answered in the same order.",
        instances=(
            list[instance_model],  # type: ignore[valid-type]
            Field(
                min_length=1,
                max_length=max_instances,
                description=f"1 to {max_instances} instances (serve.limits.max_instances); more are answered 413",
                examples=[[example]],
            ),
        ),
    )


def response_model(task: str, class_names: Sequence[str]) -> type[BaseModel]:
    """The body of a prediction answer, with an example built from the model's classes."""
    prediction: type[BaseModel]
    if task == CLASSIFICATION:
        share = round(1.0 / len(class_names), 4)
        example = {"label": class_names[0], "probabilities": dict.fromkeys(class_names, share)}
        prediction = ClassPrediction
    else:
        example, prediction = {"value": 0.0}, ValuePrediction
    return create_model(
        "PredictResponse",
        __doc__="Predictions in the order of the request's instances.",
        model_version=(
            str,
            Field(description="Content hash of the served model file", examples=["best-3f2b8c0e9d4a"]),
        ),
        predictions=(
            list[prediction],  # type: ignore[valid-type]
            Field(description="One prediction per instance, in the request's order", examples=[[example]]),
        ),
    )


def strict_json(body: Any) -> bytes:
    """``body`` as standard JSON, refusing NaN and infinities (``ValueError``).

    Python's ``json`` writes them as the literals ``NaN`` and ``Infinity`` by default, which
    are not JSON: strict clients fail to parse the answer, and they break the response schema.
    The server checks what it answers, so a ``ValueError`` here is a bug it answers with a 500.
    """
    return json.dumps(body, allow_nan=False).encode()
