"""The FastAPI application: prediction routes, health probes and metrics.

:func:`create_app` takes the settings and a :class:`ServedModel` (what is served, and a
function that loads its weights), so tests can serve any model; ``factory.py`` builds the
real one from the config. The weights load on the inference thread after the server has
started: ``/healthz`` answers at once, ``/readyz`` and the prediction routes answer 503
until the model is loaded and one warm-up prediction has run. If loading fails, both probes
answer 503 with the reason, so an orchestrator restarts the process rather than waiting.

Routes (``/docs`` shows the OpenAPI description of every field, with examples):

* ``POST /v1/predict``: JSON ``{"instances": [...]}`` -> labels and probabilities (or values);
* ``POST /v1/predict/upload``: the same for files sent as a multipart upload (images only);
* ``POST /v1/noop``: parse, validate and preprocess, but skip the model (``serve.noop_route``),
  the ceiling the load test compares the server with;
* ``GET /healthz``, ``GET /readyz``, ``GET /metrics`` (Prometheus).
"""

import asyncio
import gc
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from fastapi import Body, FastAPI, File, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..monitoring import ReferenceProfile
from .backends import Backend
from .batching import Arrivals, DirectRunner, DynamicBatcher, InferenceRunner, ShuttingDownError
from .drift import create_drift_monitor
from .logs import request_id_var
from .metrics import ServingMetrics
from .middleware import (
    API_KEY_HEADER,
    PROTECTED_PREFIX,
    ApiKeyMiddleware,
    BodyLimitMiddleware,
    RequestContextMiddleware,
)
from .model import ModelSource, to_predictions
from .schemas import Codec, ErrorResponse, InstanceError, NoopResponse, request_model, response_model
from .settings import ServeSettings

log = logging.getLogger(__name__)

PREDICTION_ROUTES = ("/v1/predict", "/v1/predict/upload")
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        400: "The body is not valid JSON",
        401: "Missing or invalid API key (when serve.api_key_env names a set variable)",
        413: "Body larger than serve.limits.max_body_bytes, or more instances than serve.limits.max_instances",
        422: "An instance failed validation; `detail` names each field and why",
        500: "The model failed on this request; quote the request id",
        503: "The model is still loading, or the server is shutting down",
    }.items()
}


@dataclass(frozen=True)
class ServedModel:
    """What the app serves: known at once (version, preprocessing, schema), and a loader of the weights.

    ``load`` is slow (reading weights, building an ONNX Runtime session); it runs on the
    inference thread after the server started accepting connections. ``profile``: the
    training inputs' reference profile, for input drift metrics (none: not monitored).
    """

    source: ModelSource
    codec: Codec
    load: Callable[[], Backend]
    profile: ReferenceProfile | None = None


class ModelState:
    """Loading, ready (with the runner that does the forward passes) or failed."""

    def __init__(self) -> None:
        self.status = "loading"
        self.reason = ""
        self.runner: InferenceRunner | None = None

    def require_runner(self) -> InferenceRunner:
        """The runner, or a 503 that tells the client when to come back."""
        if self.runner is None:
            reason = (
                "the model is still loading"
                if self.status == "loading"
                else f"the model failed to load: {self.reason}"
            )
            raise HTTPException(
                503, f"{reason}; retry when /readyz answers 200", headers={"Retry-After": "1"}
            )
        return self.runner


def create_app(settings: ServeSettings, served: ServedModel, *, api_key: str | None = None) -> FastAPI:
    """The application for ``served`` (``api_key``: required on /v1/ routes when given)."""
    source, codec = served.source, served.codec
    metrics = ServingMetrics(source.class_names)
    state = ModelState()
    arrivals = Arrivals(PREDICTION_ROUTES)
    drift = create_drift_monitor(settings.drift, source.preprocessor, served.profile, metrics.registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference")
        loading = asyncio.create_task(_load_model(served, settings, state, executor, metrics, arrivals))
        drift.start()
        try:
            yield
        finally:
            drift.close()
            # uvicorn has waited for the requests in progress; any batch still queued runs now.
            loading.cancel()
            if state.runner is not None:
                await state.runner.close()
            executor.shutdown(wait=False, cancel_futures=True)
            metrics.close()
            log.info("server stopped")

    app = FastAPI(
        title=f"{__package__.split('.')[0]} model server",
        version=__version__,
        description=(
            f"Predictions of the {source.task} model `{source.version}` ({source.backend} backend). "
            "Every error answer carries a `request_id`, also sent in the X-Request-ID header."
        ),
        lifespan=lifespan,
    )
    request_body = request_model(codec.instance_model, codec.example, settings.limits.max_instances)
    response_body = response_model(source.task, source.class_names)

    async def predict_inputs(request: Request, encode: Callable[[], Awaitable[np.ndarray]]) -> Response:
        """Encode, queue for a forward pass, answer with predictions; a failed pass becomes a 500."""
        runner = state.require_runner()
        try:
            inputs = await encode()
            drift.observe(inputs)
            outputs = runner.submit(inputs)
        except ShuttingDownError as error:
            raise HTTPException(503, "the server is shutting down; retry on another replica") from error
        finally:
            arrivals.leave(request.scope)
        try:
            predictions = to_predictions(await outputs, source.preprocessor)
        except Exception as error:
            extra = {"instances": len(inputs), "request_id": request_id_var.get()}
            log.exception("forward pass failed", extra=extra)
            raise HTTPException(
                500, "the model failed on this request; quote the request id when reporting it"
            ) from error
        if source.class_names:
            for prediction in predictions:
                metrics.predictions.labels(label=prediction["label"]).inc()
        # Serialised here rather than validated again by FastAPI: the shape is the response
        # model's by construction, and this is the hot path.
        body = {"model_version": source.version, "predictions": predictions}
        return Response(json.dumps(body).encode(), media_type="application/json")

    @app.post("/v1/predict", response_model=response_body, responses=ERROR_RESPONSES, tags=["predict"])
    async def predict(request: Request, body: Annotated[request_body, Body()]) -> Response:  # type: ignore[valid-type]
        """Predict one or more instances, in the order given."""
        instances = body.instances  # type: ignore[attr-defined]
        return await predict_inputs(request, lambda: run_in_threadpool(codec.encode, instances))

    if codec.encode_files is not None:
        encode_files = codec.encode_files

        @app.post(
            "/v1/predict/upload", response_model=response_body, responses=ERROR_RESPONSES, tags=["predict"]
        )
        async def predict_upload(
            request: Request,
            files: Annotated[list[UploadFile], File(description="One or more image files (PNG or JPEG)")],
        ) -> Response:
            """Predict files sent as a multipart upload (one part per file, field name `files`)."""
            if len(files) > settings.limits.max_instances:
                raise HTTPException(413, _too_many(settings.limits.max_instances))
            contents = [await upload.read() for upload in files]
            return await predict_inputs(request, lambda: run_in_threadpool(encode_files, contents))

    if settings.noop_route:

        @app.post("/v1/noop", responses=ERROR_RESPONSES, tags=["diagnostics"])
        async def noop(body: Annotated[request_body, Body()]) -> NoopResponse:  # type: ignore[valid-type]
            """Parse, validate and preprocess like /v1/predict, but skip the model (load-test ceiling)."""
            inputs = await run_in_threadpool(codec.encode, body.instances)  # type: ignore[attr-defined]
            return NoopResponse(instances=len(inputs))

    failed = {"description": "The model failed to load"}

    @app.get("/healthz", tags=["probes"], responses={503: failed})
    async def healthz() -> JSONResponse:
        """The process is up (liveness); 503 once loading the model has failed, so it gets restarted."""
        if state.status == "failed":
            return JSONResponse({"status": "failed", "reason": state.reason}, status_code=503)
        return JSONResponse({"status": "ok"})

    not_ready = {"description": "Loading, or loading failed"}

    @app.get("/readyz", tags=["probes"], responses={503: not_ready})
    async def readyz() -> JSONResponse:
        """The model is loaded and has answered a warm-up prediction (readiness)."""
        body = {"status": state.status, "model_version": source.version, "backend": source.backend}
        if state.reason:
            body["reason"] = state.reason
        return JSONResponse(body, status_code=200 if state.status == "ready" else 503)

    @app.get("/metrics", tags=["probes"], response_class=Response)
    async def prometheus_metrics() -> Response:
        """Prometheus exposition of the server's metrics."""
        content, content_type = metrics.render()
        return Response(content, media_type=content_type)

    _add_error_handlers(app, settings)
    # The last added runs first: request context, then the API key, then the body limit.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.limits.max_body_bytes)
    if api_key:
        app.add_middleware(ApiKeyMiddleware, api_key=api_key)
    app.add_middleware(
        RequestContextMiddleware,
        metrics=metrics,
        routes=[route.path for route in app.routes],
        arrivals=arrivals,
    )
    app.openapi = lambda: _openapi(app, secured=bool(api_key))  # type: ignore[method-assign]
    return app


async def _load_model(
    served: ServedModel,
    settings: ServeSettings,
    state: ModelState,
    executor: ThreadPoolExecutor,
    metrics: ServingMetrics,
    arrivals: Arrivals,
) -> None:
    """Load the weights and run one warm-up prediction on the inference thread, then go ready."""
    loop = asyncio.get_running_loop()
    source, codec = served.source, served.codec
    try:
        backend = await loop.run_in_executor(executor, served.load)
        example = codec.instance_model.model_validate(codec.example)
        inputs = await loop.run_in_executor(executor, codec.encode, [example])
        await loop.run_in_executor(executor, backend.predict, inputs)
        if settings.batching.enabled and settings.batching.max_batch_size > 1:
            batch = np.repeat(inputs, settings.batching.max_batch_size, axis=0)
            await loop.run_in_executor(executor, backend.predict, batch)
    except Exception as error:
        log.exception("loading the model failed; /readyz answers 503")
        state.status, state.reason = "failed", str(error)
        return
    batching = settings.batching
    state.runner = (
        DynamicBatcher(
            backend.predict,
            executor,
            metrics,
            max_batch_size=batching.max_batch_size,
            max_wait_ms=batching.max_wait_ms,
            arriving=lambda: arrivals.count,
        )
        if batching.enabled
        else DirectRunner(backend.predict, executor, metrics)
    )
    # Everything allocated so far (torch, the model, the app) lives as long as the process:
    # freezing it keeps the garbage collector from walking it again, which otherwise shows
    # up as pauses of hundreds of milliseconds in the tail latency.
    gc.collect()
    gc.freeze()
    state.status = "ready"
    metrics.ready_workers.set(1)
    metrics.model_info.labels(version=source.version, backend=source.backend, task=source.task).set(1)
    log.info(
        "model ready",
        extra={"model_version": source.version, "backend": source.backend, "batching": batching.enabled},
    )


def _too_many(max_instances: int) -> str:
    return f"at most {max_instances} instances per request (serve.limits.max_instances); split the request"


def _add_error_handlers(app: FastAPI, settings: ServeSettings) -> None:
    """Every error answer: ``{"detail": ..., "request_id": ...}``, never the offending input echoed."""

    def error(
        request: Request, status: int, detail: Any, headers: dict[str, str] | None = None
    ) -> JSONResponse:
        request_id = getattr(request.state, "request_id", "")
        return JSONResponse({"detail": detail, "request_id": request_id}, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors: Sequence[Any] = exc.errors()
        invalid_json = next((item for item in errors if item["type"] == "json_invalid"), None)
        if invalid_json is not None:
            reason = invalid_json.get("ctx", {}).get("error", "JSON decode error")
            return error(
                request, 400, f"the body is not valid JSON: {reason} at character {invalid_json['loc'][-1]}"
            )
        if any(
            item["type"] == "too_long" and tuple(item["loc"][:2]) == ("body", "instances") for item in errors
        ):
            return error(request, 413, _too_many(settings.limits.max_instances))
        fields = [{"loc": list(item["loc"]), "msg": item["msg"], "type": item["type"]} for item in errors]
        return error(request, 422, fields)

    @app.exception_handler(InstanceError)
    async def instance_error(request: Request, exc: InstanceError) -> JSONResponse:
        return error(
            request, 422, [{"loc": ["body", *exc.location], "msg": exc.message, "type": "value_error"}]
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(request, exc.status_code, exc.detail, exc.headers)


def _openapi(app: FastAPI, *, secured: bool) -> dict[str, Any]:
    """The OpenAPI document, declaring the API-key header on /v1/ routes when a key is required."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        if secured:
            schema.setdefault("components", {})["securitySchemes"] = {
                "ApiKey": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER}
            }
            for path, operations in schema["paths"].items():
                if path.startswith(PROTECTED_PREFIX):
                    for operation in operations.values():
                        operation["security"] = [{"ApiKey": []}]
        app.openapi_schema = schema
    return app.openapi_schema
