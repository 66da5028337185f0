"""``POST /v1/predict`` and ``/v1/noop`` as plain ASGI endpoints: one pydantic-core pass parses and
validates the body.

FastAPI's own body handling (``json.loads`` into Python objects, then validation of those,
through its per-request dependency machinery) costs about 38 us of the 57 us that a bare
FastAPI route spends per request on a 2-core machine; ``model_validate_json`` parses and
validates the raw bytes in one call for about 19 us in all. On the prediction route, where
that is a third of the event loop's work per request, the difference is throughput.

The endpoint keeps FastAPI's contract: a body that fails becomes the same
``RequestValidationError`` (each location starting with ``body``) that the app's handlers
answer with 400, 413 or 422, and ``/docs`` describes the route through an OpenAPI-only
FastAPI route (``app.py``), built from the same request and response models.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

JsonHandler = Callable[[Request, Any], Awaitable[Response]]
DOCUMENTATION_ONLY = "an OpenAPI-only route: requests are answered by its JsonBodyEndpoint"


class JsonBodyEndpoint:
    """An ASGI endpoint that validates the JSON body into ``body_model`` and answers with ``handle``."""

    def __init__(self, body_model: type[BaseModel], handle: JsonHandler) -> None:
        self.body_model = body_model
        self.handle = handle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        raw = await request.body()
        try:
            body = self.body_model.model_validate_json(raw)
        except ValidationError as error:
            raise RequestValidationError(body_errors(error), body=raw) from None
        response = await self.handle(request, body)
        await response(scope, receive, send)


def json_body_route(
    path: str, body_model: type[BaseModel], handle: JsonHandler, describe: Callable[..., Any], **openapi: Any
) -> tuple[Route, APIRoute]:
    """``POST path`` served by a :class:`JsonBodyEndpoint`, and the OpenAPI-only route that documents
    it: ``describe``'s signature (its body parameter, its return type) and docstring, and ``openapi``
    (``response_model``, ``responses``, ``tags``) as for ``FastAPI.post``."""
    served = Route(path, JsonBodyEndpoint(body_model, handle), methods=["POST"])
    return served, APIRoute(path, describe, methods=["POST"], **openapi)


def body_errors(error: ValidationError) -> list[dict[str, Any]]:
    """pydantic's errors as FastAPI reports a body's: located under ``body``, without the input.

    The offending input is left out on purpose: error answers never echo what was sent.
    """
    return [
        {
            "type": item["type"],
            "loc": ("body", *item["loc"]),
            "msg": item["msg"],
            **({"ctx": item["ctx"]} if "ctx" in item else {}),
        }
        for item in error.errors(include_url=False, include_input=False)
    ]
