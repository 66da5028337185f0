"""The work of a batch of prediction requests, on the inference thread: encode, forward, answer.

Each request submits its validated instances (:class:`Work`); the event loop only parses,
validates and sends. A batch of requests is preprocessed with one call of the codec
(vectorised over every instance of the batch), run through the model in one forward pass,
checked for finiteness once, turned into probabilities or values at once (one softmax over
the whole batch), counted once, and each request's answer serialised here with ``orjson`` (a
twentieth of ``json.dumps``'s cost per answer: this thread holds the GIL the event loop
needs). A request with an instance that cannot be encoded, or whose model output is not
finite, gets its own 422; the other requests of the batch are answered as usual. The numbers
of the others are finite by construction (the softmax of finite logits; an affine map of
finite values), so no answer holds ``NaN`` or ``Infinity``. A forward pass that fails fails
every request of its batch (a 500 each).
"""

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from ..core.service.model import ModelSource, finite_rows, prediction_numbers, to_predictions
from ..core.service.schemas import Codec, InstanceError
from .drift import DisabledMonitor, DriftMonitor
from .metrics import VersionMetrics

log = logging.getLogger(__name__)

Location = Callable[[int], tuple[str | int, ...]]


@dataclass(frozen=True)
class Work:
    """One request's instances, how to encode them, and where instance ``i`` is in the request."""

    instances: Sequence[Any]
    encode: Callable[[Sequence[Any]], np.ndarray]
    location: Location
    request_id: str


class BatchPredictor:
    """The batch function of the runners (``batching.py``): one answer (bytes) or error per request."""

    def __init__(
        self,
        forward: Callable[[np.ndarray], np.ndarray],
        source: ModelSource,
        codec: Codec,
        metrics: VersionMetrics,
        drift: DriftMonitor | DisabledMonitor,
    ) -> None:
        self.forward = forward
        self.source = source
        self.codec = codec
        self.metrics = metrics
        self.drift = drift

    def __call__(self, works: list[Work]) -> list[bytes | Exception]:
        results: list[bytes | Exception | None] = [None] * len(works)
        encoded = self._encode(works, results)
        if not encoded:
            return [result for result in results if result is not None]
        inputs = np.concatenate([rows for _, rows in encoded]) if len(encoded) > 1 else encoded[0][1]
        self.drift.observe(inputs)
        started = time.perf_counter()
        outputs = self.forward(inputs)
        self.metrics.inference_duration.observe(time.perf_counter() - started)
        self.metrics.batch_size.observe(len(inputs))
        finite = finite_rows(outputs)
        all_finite = bool(finite.all())
        numbers = prediction_numbers(outputs, self.source.preprocessor)
        predictions = to_predictions(numbers, self.source.preprocessor)
        answered = np.ones(len(inputs), dtype=bool)
        start = 0
        for index, rows in encoded:
            stop = start + len(rows)
            if all_finite or finite[start:stop].all():
                results[index] = self._answer(predictions[start:stop])
            else:
                results[index] = refuse_non_finite(finite[start:stop], rows, self.codec, works[index])
                answered[start:stop] = False
            start = stop
        self._count_predictions(numbers[answered])
        return results  # type: ignore[return-value]

    def _answer(self, predictions: list[dict[str, Any]]) -> bytes:
        """One request's answer. Serialised here rather than validated again by FastAPI: the shape
        is the response model's by construction, every number in it is finite (see the module
        docstring), and this is the hot path."""
        return orjson.dumps({"model_version": self.source.version, "predictions": predictions})

    def _count_predictions(self, numbers: np.ndarray) -> None:
        """Count the answered predictions by label, once per batch (regression has no labels)."""
        class_names = self.source.class_names
        if not class_names or not len(numbers):
            return
        counts = np.bincount(numbers.argmax(axis=1), minlength=len(class_names))
        for label, count in zip(class_names, counts.tolist(), strict=True):
            if count:
                self.metrics.count_predictions(label, count)

    def _encode(self, works: list[Work], results: list[Any]) -> list[tuple[int, np.ndarray]]:
        """The inputs of each request that encodes, by its index; the others get their error.

        Requests that share an encoder are encoded in one call; when that call refuses an
        instance, each of them is encoded alone, so that only the request that holds it is refused.
        """
        encoded: list[tuple[int, np.ndarray]] = []
        groups: dict[Any, list[int]] = {}
        for index, work in enumerate(works):
            groups.setdefault(work.encode, []).append(index)
        for encode, indices in groups.items():
            instances = [instance for index in indices for instance in works[index].instances]
            try:
                inputs = encode(instances)
            except InstanceError:
                encoded += self._encode_one_by_one(works, indices, results)
                continue
            start = 0
            for index in indices:
                stop = start + len(works[index].instances)
                encoded.append((index, inputs[start:stop]))
                start = stop
        return sorted(encoded, key=lambda item: item[0])

    def _encode_one_by_one(
        self, works: list[Work], indices: list[int], results: list[Any]
    ) -> list[tuple[int, np.ndarray]]:
        encoded = []
        for index in indices:
            work = works[index]
            try:
                encoded.append((index, work.encode(work.instances)))
            except InstanceError as error:  # its row in the batch -> its place in the request
                row = int(error.location[1]) if len(error.location) > 1 else 0
                results[index] = InstanceError((*work.location(row), *error.location[2:]), error.message)
        return encoded


def refuse_non_finite(finite: np.ndarray, inputs: np.ndarray, codec: Codec, work: Work) -> InstanceError:
    """The 422 of a request with an instance whose model output is not finite.

    Inputs reach the model finite (the codec refuses the others), yet a finite value far
    outside the training range can still overflow inside the model. Rows of a batch are
    independent, so the other requests of the same forward pass are answered as usual.
    """
    row = int(np.flatnonzero(~finite)[0])
    where, why = work.location(row), "its inputs lie far outside the training data"
    if codec.describe_outlier is not None:
        field, why = codec.describe_outlier(inputs[row])
        where = (*where, field) if field else where
    log.warning(
        "refused an instance whose model output is not finite",
        extra={"instance": row, "request_id": work.request_id},
    )
    return InstanceError(
        where,
        f"the model's output for this instance is not finite, so it has no prediction: {why}. "
        "Send values within the range seen in training",
    )
