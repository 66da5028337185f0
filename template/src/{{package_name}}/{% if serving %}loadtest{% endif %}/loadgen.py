"""The load generator of ``make loadtest``: a closed loop of aiohttp clients, bounded in count and time.

Closed loop: each of ``concurrency`` clients sends a request, waits for the answer, and
sends the next, so the offered load adapts to the server and the latency figures are those
a fixed number of callers would see. A level stops at ``max_requests`` or ``duration_s``,
whichever comes first. Only loopback addresses are accepted, so the load test cannot be
pointed at someone else's service.

:func:`client_ceiling` measures the generator itself against a server that answers
instantly (a canned response from a minimal asyncio HTTP server in another process): no
server figure above it can be trusted, since it is what the client can produce.
"""

import asyncio
import gc
import multiprocessing
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

import numpy as np

try:
    import aiohttp
except ImportError as error:  # a dev dependency: the server itself does not need it
    raise ImportError("the load test needs aiohttp: pip install -e '.[dev]'") from error

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class LevelResult:
    """One concurrency level: throughput and latency of the requests it completed."""

    concurrency: int
    requests: int
    errors: int
    seconds: float
    requests_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    # Every completed request's latency, for the latency histogram; not part of the report.
    latencies_ms: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        values = {item.name: getattr(self, item.name) for item in fields(self) if item.name != "latencies_ms"}
        return {key: round(value, 3) if isinstance(value, float) else value for key, value in values.items()}


def require_loopback(url: str) -> None:
    """Refuse any target that is not this machine."""
    host = urlsplit(url).hostname
    if host not in LOOPBACK_HOSTS:
        raise ValueError(f"the load test only targets loopback addresses, not {host!r}")


async def _closed_loop(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    concurrency: int,
    duration_s: float,
    max_requests: int,
) -> LevelResult:
    latencies: list[float] = []
    errors = 0
    issued = 0
    request_headers = {"Content-Type": "application/json", **headers}
    started = time.perf_counter()
    deadline = started + duration_s

    async def client() -> None:
        nonlocal errors, issued
        while issued < max_requests and time.perf_counter() < deadline:
            issued += 1
            sent = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=request_headers) as response:
                    await response.read()
                    ok = response.status == 200
            except Exception:  # refused, reset, timed out: every failed request counts as an error
                ok = False
            latencies.append(time.perf_counter() - sent)
            errors += not ok

    await asyncio.gather(*(client() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    milliseconds = np.array(latencies) * 1000.0 if latencies else np.zeros(1)
    p50, p95, p99 = np.percentile(milliseconds, [50, 95, 99]).tolist()
    return LevelResult(
        concurrency,
        len(latencies),
        errors,
        seconds,
        len(latencies) / seconds,
        p50,
        p95,
        p99,
        float(milliseconds.max()),
        milliseconds if latencies else np.zeros(0),
    )


def run_level(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    concurrency: int,
    duration_s: float,
    max_requests: int,
    warmup_requests: int = 0,
) -> LevelResult:
    """Warm up (not recorded; it also opens the connections), then one measured closed-loop level."""
    require_loopback(url)
    # The generator's own garbage collection (its process may hold torch) must not pose as server latency.
    gc.collect()
    gc.freeze()

    async def warm_then_measure() -> LevelResult:
        connector = aiohttp.TCPConnector(limit=concurrency)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            loop_settings = {"concurrency": concurrency, "duration_s": duration_s}
            if warmup_requests:
                await _closed_loop(session, url, body, headers, **loop_settings, max_requests=warmup_requests)
            return await _closed_loop(session, url, body, headers, **loop_settings, max_requests=max_requests)

    return asyncio.run(warm_then_measure())


def repeated_level(
    url: str, body: bytes, headers: Mapping[str, str], *, repeats: int, **level: Any
) -> dict[str, Any]:
    """``run_level`` ``repeats`` times: the repetition of median throughput (its latencies), with
    every repetition's requests/s, their spread and the errors of all of them."""
    return summarise_repeats(repeated_runs(url, body, headers, repeats=repeats, **level))


def repeated_runs(
    url: str, body: bytes, headers: Mapping[str, str], *, repeats: int, **level: Any
) -> list[LevelResult]:
    """``run_level`` ``repeats`` times, slowest first: the median one is ``[len // 2]``."""
    return sorted(
        (run_level(url, body, headers, **level) for _ in range(repeats)),
        key=lambda result: result.requests_per_s,
    )


def summarise_repeats(results: list[LevelResult]) -> dict[str, Any]:
    """The report of repeated runs (slowest first): see :func:`repeated_level`."""
    median = results[len(results) // 2].as_dict()
    rates = [round(result.requests_per_s, 3) for result in results]  # as as_dict rounds it
    median.update(
        repeats=len(results),
        requests_per_s_runs=rates,
        requests_per_s_min=rates[0],
        requests_per_s_max=rates[-1],
        errors=sum(result.errors for result in results),
    )
    return median


class _CannedResponse(asyncio.Protocol):
    """HTTP/1.1 keep-alive server that answers every request with the same response."""

    def __init__(self, response: bytes) -> None:
        self.response = response
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].lower()
            length = 0
            for line in head.split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            assert self.transport is not None
            self.transport.write(self.response)


def _serve_canned(port: int, body: bytes, ready: Any) -> None:
    response = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(body)}\r\n\r\n".encode()
        + body
    )

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(
            lambda: _CannedResponse(response), "127.0.0.1", port
        )
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def client_ceiling(
    body: bytes, response_body: bytes, *, port: int, repeats: int, **level: Any
) -> dict[str, Any]:
    """The generator's own limit: the same requests against an instant canned-response server."""
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    server = context.Process(target=_serve_canned, args=(port, response_body, ready), daemon=True)
    server.start()
    try:
        if not ready.wait(30):
            raise RuntimeError("the canned-response server did not start")
        return repeated_level(f"http://127.0.0.1:{port}/", body, {}, repeats=repeats, **level)
    finally:
        server.terminate()
        server.join(10)


@dataclass(frozen=True)
class Histogram:
    """A Prometheus histogram at one scrape: cumulative bucket counts, sum and count."""

    buckets: tuple[tuple[float, float], ...]  # (upper bound, cumulative count), +Inf last
    total: float
    count: float

    def minus(self, earlier: "Histogram") -> "Histogram":
        """The observations made between ``earlier`` and this scrape."""
        buckets = tuple((le, count - dict(earlier.buckets).get(le, 0.0)) for le, count in self.buckets)
        return Histogram(buckets, self.total - earlier.total, self.count - earlier.count)

    def quantile(self, q: float) -> float | None:
        """Like PromQL's ``histogram_quantile``: linear interpolation inside the bucket."""
        if self.count <= 0:
            return None
        rank = q * self.count
        lower, below = 0.0, 0.0
        for upper, cumulative in self.buckets:
            if cumulative >= rank:
                if upper == float("inf"):
                    return lower
                inside = cumulative - below
                return lower + (upper - lower) * ((rank - below) / inside if inside else 0.0)
            lower, below = upper, cumulative
        return lower

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count > 0 else None


def read_histogram(metrics_text: str, name: str) -> Histogram:
    """Histogram ``name`` (summed over label sets) from Prometheus exposition text."""
    from prometheus_client.parser import text_string_to_metric_families

    buckets: dict[float, float] = {}
    total = count = 0.0
    for family in text_string_to_metric_families(metrics_text):
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name == f"{name}_bucket":
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
            elif sample.name == f"{name}_sum":
                total += sample.value
            elif sample.name == f"{name}_count":
                count += sample.value
    return Histogram(tuple(sorted(buckets.items())), total, count)
