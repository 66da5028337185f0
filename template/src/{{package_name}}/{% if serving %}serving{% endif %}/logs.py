"""Server logs, one line per event, each carrying the id of the request it belongs to.

JSON objects, one per line, for log collectors; readable text lines for a person watching a
terminal. ``serve.log_format`` chooses: ``auto`` (text when stderr is a terminal, JSON
otherwise), ``text`` or ``json``.

The request id comes from the client's ``X-Request-ID`` header when it sends a usable one
(so one id follows a call through several services) and is generated otherwise; it is
returned in the same header and in every error body.
"""

import json
import logging
import random
import re
import sys
from contextvars import ContextVar
from typing import IO, Any

from ..core.console import is_terminal

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


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields passed in ``extra=`` (an access line's method, path, status, ...)."""
    return {key: value for key, value in vars(record).items() if key not in _RECORD_ATTRIBUTES}


def record_time(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    return formatter.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}"


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id", ...extra fields}`` per line."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": record_time(self, record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        for key, value in extra_fields(record).items():
            payload.setdefault(key, value)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger [request id] message key=value ...`` per line (a traceback below it)."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        fields = "".join(
            f" {key}={value}" for key, value in extra_fields(record).items() if key != "request_id"
        )
        line = f"{record_time(self, record)} {record.levelname:<7} {record.name} [{request_id}] {record.getMessage()}{fields}"
        return f"{line}\n{self.formatException(record.exc_info)}" if record.exc_info else line


FORMATTERS: dict[str, type[logging.Formatter]] = {"json": JsonFormatter, "text": TextFormatter}


def chosen_format(log_format: str, stream: IO[str] | None = None) -> str:
    """``serve.log_format`` made concrete: ``auto`` is text for a terminal (stderr), JSON otherwise."""
    if log_format != "auto":
        return log_format
    return "text" if is_terminal(sys.stderr if stream is None else stream) else "json"


def logging_config(level: str, log_format: str = "auto") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn and the app: lines on stderr, in ``log_format``.

    uvicorn applies it in every worker (which inherit the server's stderr, so ``auto`` is decided
    once, here); its own access log is replaced by the app's (see ``middleware.py``), which knows
    the request id and the route.
    """
    handler = {"class": "logging.StreamHandler", "formatter": "lines", "stream": "ext://sys.stderr"}
    formatter = {"()": FORMATTERS[chosen_format(log_format)]}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"lines": formatter},
        "handlers": {"stderr": handler},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
