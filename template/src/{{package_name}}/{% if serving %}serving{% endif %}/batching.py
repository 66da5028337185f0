"""Running the work of prediction requests off the event loop, with or without dynamic batching.

A request submits its validated instances; everything after that (preprocessing, the
forward pass, post-processing, the answer's JSON) runs once per batch on one dedicated
inference thread (``predictor.py``), so the event loop keeps accepting and validating
requests while the model computes, and the model never sees two batches at once (it
parallelises each pass with its own intra-op threads instead).

:class:`DynamicBatcher` gathers the instances of concurrent requests into one forward pass.
A batch runs as soon as it holds ``max_batch_size`` instances, or its oldest request has
waited ``max_wait_ms``, or no other prediction request is on its way (being validated or
preprocessed by this worker): waiting then would only add latency, since nothing could
join. A request is never split across passes. Under load the wait is rarely spent: the
requests that arrive while one pass runs form the next batch as soon as it ends.
:class:`DirectRunner` (batching off) runs each request's instances as their own pass.

``submit`` queues a request's work at once and returns a future of its result (its answer,
or the error that refuses it). Both runners answer every request already queued before
they stop (``close``), which is what lets the server shut down gracefully.
"""

import asyncio
import time
from collections import deque
from collections.abc import Callable, MutableMapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Protocol

from .metrics import VersionMetrics

# One batch of requests' work -> one result per request, in order: its answer or the
# exception that refuses it (a failure of the whole batch raises instead).
BatchFunction = Callable[[list[Any]], list[Any]]


class ShuttingDownError(RuntimeError):
    """The server is stopping and accepts no new work."""


class InferenceRunner(Protocol):
    """Runs one request's work (``size`` instances) and resolves to its result."""

    def submit(self, work: Any, size: int) -> "asyncio.Future[Any]": ...

    async def close(self) -> None: ...


def timed_batches(
    run_batch: BatchFunction, metrics: VersionMetrics
) -> Callable[[list[Any], Sequence[float]], list[Any]]:
    """``run_batch`` with each request's queue wait observed (on the inference thread);
    ``enqueued`` holds the ``perf_counter`` time at which each request was submitted."""

    def run(works: list[Any], enqueued: Sequence[float]) -> list[Any]:
        started = time.perf_counter()
        for submitted in enqueued:
            metrics.queue_wait.observe(started - submitted)
        return run_batch(works)

    return run


def settle(futures: Sequence["asyncio.Future[Any]"], results: Sequence[Any]) -> None:
    """Give each future its result, or its exception (a future already done was cancelled)."""
    for future, result in zip(futures, results, strict=True):
        if future.done():
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)


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
    """Batching off: each request's work is a batch of its own on the inference thread."""

    def __init__(self, run_batch: BatchFunction, executor: Executor, metrics: VersionMetrics) -> None:
        self._run = timed_batches(run_batch, metrics)
        self._executor = executor
        self._closing = False

    def submit(self, work: Any, size: int) -> "asyncio.Future[Any]":
        del size  # always a batch of its own
        if self._closing:
            raise ShuttingDownError("the server is shutting down")
        return asyncio.ensure_future(self._answer(work))

    async def _answer(self, work: Any) -> Any:
        loop = asyncio.get_running_loop()
        (result,) = await loop.run_in_executor(self._executor, self._run, [work], [time.perf_counter()])
        if isinstance(result, BaseException):
            raise result
        return result

    async def close(self) -> None:
        # Requests already submitted hold their executor future; uvicorn waits for them.
        self._closing = True


@dataclass
class _Pending:
    work: Any
    size: int
    future: "asyncio.Future[Any]"
    enqueued: float = field(default_factory=time.perf_counter)


class DynamicBatcher:
    """Concurrent requests share forward passes (see the module docstring).

    ``arriving`` counts the prediction requests of this worker that are still being
    validated or preprocessed, i.e. that may join the next batch soon.
    """

    def __init__(
        self,
        run_batch: BatchFunction,
        executor: Executor,
        metrics: VersionMetrics,
        *,
        max_batch_size: int,
        max_wait_ms: float,
        arriving: Callable[[], int],
    ) -> None:
        self._run = timed_batches(run_batch, metrics)
        self._executor = executor
        self._max_batch_size = max_batch_size
        self._max_wait_s = max_wait_ms / 1000.0
        self._arriving = arriving
        self._pending: deque[_Pending] = deque()
        self._pending_instances = 0
        self._wake = asyncio.Event()
        self._closing = False
        self._worker = asyncio.get_running_loop().create_task(self._serve_batches(), name="dynamic-batcher")

    def submit(self, work: Any, size: int) -> "asyncio.Future[Any]":
        if self._closing:
            raise ShuttingDownError("the server is shutting down")
        pending = _Pending(work, size, asyncio.get_running_loop().create_future())
        self._pending.append(pending)
        self._pending_instances += size
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
        while self._pending and (not batch or size + self._pending[0].size <= self._max_batch_size):
            pending = self._pending.popleft()
            batch.append(pending)
            size += pending.size
        self._pending_instances -= size
        return batch

    async def _execute(self, batch: list[_Pending]) -> None:
        """One run of the batch function; each request gets its result, or the batch's error."""
        loop = asyncio.get_running_loop()
        futures = [item.future for item in batch]
        try:
            results = await loop.run_in_executor(
                self._executor, self._run, [item.work for item in batch], [item.enqueued for item in batch]
            )
        except Exception as error:  # the batch failed as a whole: every request of it fails with it
            settle(futures, [error] * len(batch))
            return
        settle(futures, results)
