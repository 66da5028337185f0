"""Gradual rollout: which model answers a request (canary), and the prediction log.

With ``serve.rollout.mode=canary`` a ``share`` of the requests is answered by the
challenger. A request that carries a key (the ``key_header``, e.g. a user id) is routed by
a hash of the key, so one client always meets the same model; others are drawn at random.
With ``shadow`` the champion answers every request, and ``app.py`` also sends a copy to the
challenger off the request path. Either way every answer (and every shadow prediction) is
a line of the prediction log, which ``make compare-rollout`` reads: which model answered,
how fast, whether it failed, and what it predicted.
"""

import hashlib
import os
import random
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson

from ..core.runs import utc_now
from ..core.service.settings import RolloutSettings

CHAMPION = "champion"
CHALLENGER = "challenger"
SHADOW = "shadow"


def sticky_draw(key: str) -> float:
    """A number in [0, 1) fixed by ``key``: the same key always falls on the same side of the share."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class RolloutRouter:
    """Whether a request goes to the challenger (canary only)."""

    def __init__(self, settings: RolloutSettings, draw: Callable[[], float] = random.random) -> None:
        self.canary = settings.mode == "canary"
        self.share = settings.share
        self.key_header = settings.key_header.lower()
        self._draw = draw

    def to_challenger(self, headers: Mapping[str, str]) -> bool:
        if not self.canary:
            return False
        key = headers.get(self.key_header)
        return (sticky_draw(key) if key else self._draw()) < self.share


class PredictionLog:
    """One JSON line per answer, appended by every worker of the server to the same file.

    Each line is written with one ``write`` to a file opened for appending, which the
    operating system does not interleave with other processes' lines.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(
        self, request_id: str, version: str, role: str, status: str, latency_s: float, answer: bytes | None
    ) -> None:
        """``status``: ok, invalid (the request was refused, 422) or error (the model failed, 500)."""
        record: dict[str, Any] = {
            "time": utc_now(),
            "request_id": request_id,
            "model_version": version,
            "role": role,
            "status": status,
            "latency_ms": round(latency_s * 1000, 3),
            "predictions": answer_predictions(answer) if answer is not None else None,
        }
        os.write(self._fd, orjson.dumps(record) + b"\n")

    def close(self) -> None:
        os.close(self._fd)


def answer_predictions(answer: bytes) -> list[Any]:
    """The label (classification) or value (regression) of each instance of an answer."""
    return [item.get("label", item.get("value")) for item in orjson.loads(answer)["predictions"]]
