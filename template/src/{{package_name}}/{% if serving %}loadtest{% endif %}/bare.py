"""The framework's own ceiling: a bare FastAPI route that parses and validates the request
body exactly as the server's ``/v1/predict`` does (the same pydantic request model, built
from the same preprocessing) and answers a constant, with no middleware, batching or model.

The load test serves it with uvicorn (one worker, no access log) in a process of its own
and drives it with the same clients and payload as the server: what the server reaches
is judged against the lower of this and the model's batched compute.
"""

import multiprocessing
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Annotated, Any

from ..core.service.instances import InputSettings, create_codec
from ..core.service.process import LOOPBACK
from ..core.service.schemas import request_model
from ..data.preprocessing import load_preprocessor


def bare_app(
    preprocessor: Mapping[str, Any], input_settings: Mapping[str, Any], max_instances: int, answer: bytes
) -> Any:
    """The FastAPI app: ``POST /v1/predict`` validates the body and answers ``answer``; ``GET /healthz``."""
    from fastapi import Body, FastAPI
    from fastapi.responses import Response

    codec = create_codec(load_preprocessor(dict(preprocessor)), InputSettings.from_mapping(input_settings))
    request_body = request_model(codec.instance_model, codec.example, max_instances)
    app = FastAPI()

    @app.post("/v1/predict")
    async def predict(body: Annotated[request_body, Body()]) -> Response:  # type: ignore[valid-type]
        del body  # parsed and validated by FastAPI: the work this ceiling measures
        return Response(answer, media_type="application/json")

    @app.get("/healthz")
    async def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return app


def _serve(
    port: int,
    preprocessor: Mapping[str, Any],
    input_settings: Mapping[str, Any],
    max_instances: int,
    answer: bytes,
) -> None:
    import uvicorn

    app = bare_app(preprocessor, input_settings, max_instances, answer)
    uvicorn.run(app, host=LOOPBACK, port=port, log_level="warning", access_log=False)


class BareRoute:
    """The bare route in a child process on ``port`` (a context manager that stops it)."""

    def __init__(
        self,
        port: int,
        preprocessor: Mapping[str, Any],
        input_settings: Mapping[str, Any],
        max_instances: int,
        answer: bytes,
    ) -> None:
        self.url = f"http://{LOOPBACK}:{port}"
        context = multiprocessing.get_context("spawn")
        self.process = context.Process(
            target=_serve,
            args=(port, dict(preprocessor), dict(input_settings), max_instances, answer),
            daemon=True,
        )

    def __enter__(self) -> "BareRoute":
        self.process.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):
                    return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if not self.process.is_alive():
                    break
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("the bare FastAPI route of the load test did not start")

    def __exit__(self, *exc_info: object) -> None:
        self.process.terminate()
        self.process.join(10)
