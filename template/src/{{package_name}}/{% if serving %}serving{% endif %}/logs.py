"""JSON logs, one object per line, each carrying the id of the request it belongs to.

The request id comes from the client's ``X-Request-ID`` header when it sends a usable one
(so one id follows a call through several services) and is generated otherwise; it is
returned in the same header and in every error body.
"""

import json
import logging
import random
import re
from contextvars import ContextVar
from typing import Any

REQUEST_ID_HEADER = "x-request-id"
# Client ids are echoed into logs and headers: accept only short, plain tokens.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_NO_REQUEST = "-"

request_id_var: ContextVar[str] = ContextVar("request_id", default=_NO_REQUEST)

# Attributes every LogRecord has; anything else was passed in ``extra=`` and is logged too.
# uvicorn's ``color_message`` (the message with terminal colours) is left out too.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "color_message",
}


def choose_request_id(header_value: str | None) -> str:
    """The client's request id when it is a short plain token, otherwise a new random one."""
    if header_value and _VALID_REQUEST_ID.match(header_value):
        return header_value
    # 128 random bits as 32 hex digits, like a uuid4's, drawn without its per-call system call.
    return f"{random.getrandbits(128):032x}"


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id", ...extra fields}`` per line."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in payload:
                payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def logging_config(level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn and the app: JSON lines on stderr.

    uvicorn applies it in every worker; its own access log is replaced by the app's
    (see ``middleware.py``), which knows the request id and the route.
    """
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    json_formatter = {"()": JsonFormatter}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": json_formatter},
        "handlers": {"stderr": handler},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
