"""Running forward passes off the event loop, with or without dynamic batching.

Every forward pass runs on one dedicated inference thread, so the event loop keeps
accepting and validating requests while the model computes, and the model never sees two
batches at once (it parallelises each pass with its own intra-op threads instead).

:class:`DynamicBatcher` gathers the instances of concurrent requests into one forward pass.
A batch runs as soon as it holds ``max_batch_size`` instances, or its oldest request has
waited ``max_wait_ms``, or no other prediction request is on its way (being validated or
preprocessed by this worker): waiting then would only add latency, since nothing could
join. A request is never split across passes. Under load the wait is rarely spent: the
requests that arrive while one pass runs form the next batch as soon as it ends.
:class:`DirectRunner` (batching off) runs each request's instances as their own pass.

``submit`` queues the inputs at once and returns a future of their outputs. Both runners
answer every request already queued before they stop (``close``), which is what lets the
server shut down gracefully.
"""

import asyncio
import time
from collections import deque
from collections.abc import Callable, MutableMapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from .metrics import ServingMetrics

Forward = Callable[[np.ndarray], np.ndarray]


class ShuttingDownError(RuntimeError):
    """The server is stopping and accepts no new work."""


class InferenceRunner(Protocol):
    """Turns one request's encoded inputs into the model's outputs for them."""

    def submit(self, inputs: np.ndarray) -> "asyncio.Future[np.ndarray]": ...

    async def close(self) -> None: ...


def timed_forward(
    forward: Forward, metrics: ServingMetrics
) -> Callable[[np.ndarray, Sequence[float]], np.ndarray]:
    """``forward`` instrumented: queue wait of each request, duration and size of the pass.

    Runs on the inference thread; ``enqueued`` holds the ``perf_counter`` time at which each
    request of the batch was submitted.
    """

    def run(inputs: np.ndarray, enqueued: Sequence[float]) -> np.ndarray:
        started = time.perf_counter()
        for submitted in enqueued:
            metrics.queue_wait.observe(started - submitted)
        outputs = forward(inputs)
        metrics.inference_duration.observe(time.perf_counter() - started)
        metrics.batch_size.observe(len(inputs))
        return outputs

    return run


class Arrivals:
    """Prediction requests of this worker that have not reached the batcher yet.

    A request counts from the moment it enters the app (before its body is read) until its
    inputs are queued, or until it ends without being queued (a refused request), so the
    batcher knows whether waiting could still fill a batch.
    """

    _SCOPE_KEY = "arrival_counted"

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = frozenset(paths)
        self.count = 0

    def enter(self, scope: MutableMapping[str, Any]) -> None:
        if scope["path"] in self.paths:
            self.count += 1
            scope.setdefault("state", {})[self._SCOPE_KEY] = True

    def leave(self, scope: MutableMapping[str, Any]) -> None:
        """Idempotent: the handler leaves when it queues, the middleware when the request ends."""
        if scope.get("state", {}).pop(self._SCOPE_KEY, False):
            self.count -= 1


class DirectRunner:
    """Batching off: each request is one forward pass on the inference thread."""

    def __init__(self, forward: Forward, executor: Executor, metrics: ServingMetrics) -> None:
        self._run = timed_forward(forward, metrics)
        self._executor = executor
        self._closing = False

    def submit(self, inputs: np.ndarray) -> "asyncio.Future[np.ndarray]":
        if self._closing:
            raise ShuttingDownError("the server is shutting down")
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._executor, self._run, inputs, [time.perf_counter()])

    async def close(self) -> None:
        # Requests already submitted hold their executor future; uvicorn waits for them.
        self._closing = True


@dataclass
class _Pending:
    inputs: np.ndarray
    future: "asyncio.Future[np.ndarray]"
    enqueued: float = field(default_factory=time.perf_counter)


class DynamicBatcher:
    """Concurrent requests share forward passes (see the module docstring).

    ``arriving`` counts the prediction requests of this worker that are still being
    validated or preprocessed, i.e. that may join the next batch soon.
    """

    def __init__(
        self,
        forward: Forward,
        executor: Executor,
        metrics: ServingMetrics,
        *,
        max_batch_size: int,
        max_wait_ms: float,
        arriving: Callable[[], int],
    ) -> None:
        self._run = timed_forward(forward, metrics)
        self._executor = executor
        self._max_batch_size = max_batch_size
        self._max_wait_s = max_wait_ms / 1000.0
        self._arriving = arriving
        self._pending: deque[_Pending] = deque()
        self._pending_instances = 0
        self._wake = asyncio.Event()
        self._closing = False
        self._worker = asyncio.get_running_loop().create_task(self._serve_batches(), name="dynamic-batcher")

    def submit(self, inputs: np.ndarray) -> "asyncio.Future[np.ndarray]":
        if self._closing:
            raise ShuttingDownError("the server is shutting down")
        pending = _Pending(inputs, asyncio.get_running_loop().create_future())
        self._pending.append(pending)
        self._pending_instances += len(inputs)
        self._wake.set()
        return pending.future

    async def close(self) -> None:
        """Stop accepting work, run every batch still queued, then stop the worker."""
        self._closing = True
        self._wake.set()
        await self._worker

    async def _serve_batches(self) -> None:
        while batch := await self._next_batch():
            await self._execute(batch)

    def _batch_is_complete(self) -> bool:
        return self._pending_instances >= self._max_batch_size or self._closing or self._arriving() == 0

    async def _next_batch(self) -> list[_Pending]:
        """Wait for a first request, then for more until the batch is complete or its wait is over."""
        while not self._pending:
            if self._closing:
                return []
            self._wake.clear()
            await self._wake.wait()
        deadline = self._pending[0].enqueued + self._max_wait_s
        loop = asyncio.get_running_loop()
        while not self._batch_is_complete():
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                break
            self._wake.clear()
            timer = loop.call_later(remaining, self._wake.set)
            await self._wake.wait()
            timer.cancel()
        return self._take_batch()

    def _take_batch(self) -> list[_Pending]:
        """The oldest requests whose instances fit in one batch (always at least one request)."""
        batch: list[_Pending] = []
        size = 0
        while self._pending and (not batch or size + len(self._pending[0].inputs) <= self._max_batch_size):
            pending = self._pending.popleft()
            batch.append(pending)
            size += len(pending.inputs)
        self._pending_instances -= size
        return batch

    async def _execute(self, batch: list[_Pending]) -> None:
        """One forward pass for ``batch``; each request gets its rows, or the pass's error."""
        inputs = batch[0].inputs if len(batch) == 1 else np.concatenate([item.inputs for item in batch])
        loop = asyncio.get_running_loop()
        try:
            outputs = await loop.run_in_executor(
                self._executor, self._run, inputs, [item.enqueued for item in batch]
            )
        except Exception as error:  # the forward pass failed: every request of the batch fails with it
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(error)
            return
        start = 0
        for item in batch:
            stop = start + len(item.inputs)
            if not item.future.done():  # done: the client went away and its task was cancelled
                item.future.set_result(outputs[start:stop])
            start = stop
