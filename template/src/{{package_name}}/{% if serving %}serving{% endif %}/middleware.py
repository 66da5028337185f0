"""ASGI middleware: request ids, access logs and request metrics; API-key checks; body-size limit.

Both are plain ASGI callables (no ``BaseHTTPMiddleware``), which keeps per-request overhead
small and lets the request context wrap everything, including answers that the API-key
check or the body-size limit give before a route runs.
"""

import hmac
import json
import logging
import random
import time
from collections.abc import Collection
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .batching import Arrivals
from .logs import REQUEST_ID_HEADER, choose_request_id, request_id_var
from .metrics import ServingMetrics

log = logging.getLogger(__name__)
access_log = logging.getLogger(f"{__package__}.access")

API_KEY_HEADER = "x-api-key"
PROTECTED_PREFIX = "/v1/"
UNKNOWN_ROUTE = "other"  # label of paths that match no route, so scanners cannot explode label sets
REQUEST_ID_BYTES = REQUEST_ID_HEADER.encode()
QUIET_ROUTES = frozenset(
    {"/healthz", "/readyz", "/metrics"}
)  # probes and scrapes: access-logged at debug level


async def send_json(
    send: Send, status: int, body: dict, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Send a complete JSON response from middleware (before or instead of the app)."""
    content = json.dumps(body, allow_nan=False).encode()
    start_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": start_headers + (headers or [])})
    await send({"type": "http.response.body", "body": content})


class RequestContextMiddleware:
    """Request id in and out, one access-log line, request count, latency and in-flight metrics.

    It also counts prediction requests on their way to the batcher (see ``batching.Arrivals``).

        An exception that escapes the app is logged with the request id and answered 500 with
        it, so the client can quote the id and the server keeps serving.
    """

    def __init__(
        self,
        app: ASGIApp,
        metrics: ServingMetrics,
        routes: Collection[str],
        arrivals: Arrivals,
        access_log_sample: float = 1.0,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = frozenset(routes)
        self.arrivals = arrivals
        self.access_log_sample = access_log_sample
        # Labelled children by (route, method, status): looking one up is most of a counter's cost.
        self._counters: dict[tuple[str, str, str], Any] = {}
        self._durations: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next((value for name, value in scope["headers"] if name == REQUEST_ID_BYTES), None)
        request_id = choose_request_id(header.decode("latin-1") if header else None)
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_BYTES, request_id.encode()),
                ]
            await send(message)

        self.metrics.in_flight.inc()
        self.arrivals.enter(scope)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error while answering %s %s", scope["method"], scope["path"])
            if response_started:
                raise
            await send_json(
                send_with_id,
                500,
                {
                    "detail": "internal server error; quote the request id when reporting it",
                    "request_id": request_id,
                },
            )
        finally:
            self.arrivals.leave(scope)
            self.metrics.in_flight.dec()
            self._record(scope, status, time.perf_counter() - started)
            request_id_var.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        """Count and time every request; write its access-log line if it failed (4xx/5xx) or was
        drawn into the ``serve.access_log_sample`` share of the others (the metrics count all)."""
        path, method = scope["path"], scope["method"]
        route = path if path in self.routes else UNKNOWN_ROUTE
        counter = self._counters.get((route, method, str(status)))
        if counter is None:
            counter = self.metrics.requests.labels(route=route, method=method, status=str(status))
            self._counters[(route, method, str(status))] = counter
        counter.inc()
        duration = self._durations.get((route, method))
        if duration is None:
            duration = self._durations[(route, method)] = self.metrics.request_duration.labels(
                route=route, method=method
            )
        duration.observe(seconds)
        if route in QUIET_ROUTES:
            level = logging.DEBUG  # probes and scrapes: only when debugging
        elif status >= 400 or random.random() < self.access_log_sample:
            level = logging.INFO
        else:
            return
        access_log.log(
            level,
            "%s %s %d",
            method,
            path,
            status,
            extra={"method": method, "path": path, "status": status, "duration_ms": round(seconds * 1000, 3)},
        )


class ApiKeyMiddleware:
    """Require ``X-API-Key`` on ``/v1/`` routes; health probes, metrics and docs stay open.

    Checked before the body is read, so an unauthenticated client cannot make the server
    parse anything. Keys are compared with :func:`hmac.compare_digest` (constant time).
    """

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self.api_key = api_key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PROTECTED_PREFIX):
            provided = next(
                (value for name, value in scope["headers"] if name == API_KEY_HEADER.encode()), b""
            )
            if not hmac.compare_digest(provided, self.api_key):
                body = {
                    "detail": "missing or invalid API key: send it in the X-API-Key header",
                    "request_id": scope.get("state", {}).get("request_id", ""),
                }
                await send_json(send, 401, body, [(b"www-authenticate", b"ApiKey")])
                return
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Answer 413 to bodies larger than ``max_bytes``, without reading more than that.

    A declared ``Content-Length`` above the limit is refused before reading; a streamed
    (chunked) body is counted as it arrives and refused as soon as it passes the limit,
    through the app's error handler so the answer carries the request id.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> str:
        return f"request body larger than {self.max_bytes} bytes (serve.limits.max_body_bytes)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((value for name, value in scope["headers"] if name == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            request_id = scope.get("state", {}).get("request_id", "")
            await send_json(send, 413, {"detail": self._too_large(), "request_id": request_id})
            return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, self._too_large())
            return message

        await self.app(scope, counted_receive, send)
