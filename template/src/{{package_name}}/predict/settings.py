"""The ``predict`` config group, checked at start-up, and which rows this process scores."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.config import settings_from_mapping
from ..core.errors import ProjectError
from ..core.service.model import Runtime

PACKAGE = __name__.split(".")[0]
USAGE = f"python -m {PACKAGE}.predict INPUT OUTPUT (or make predict INPUT=... OUTPUT=...)"


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count``: the rows whose number ``row % count == index``.

    A row's shard depends on its number alone, so the shards of a run are disjoint and
    together hold every row, however the processes are started (``--shard``, torchrun).
    """

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> "Shard":
        """``i/n`` (``predict.shard`` or ``--shard``), checked."""
        try:
            index, count = (int(part) for part in str(text).split("/"))
        except ValueError:
            raise ProjectError(f"predict.shard must read i/n, such as 0/2, got '{text}'.") from None
        if count < 1 or not 0 <= index < count:
            raise ProjectError(f"predict.shard {text}: need 0 <= i < n, such as 0/2 and 1/2.")
        return cls(index, count)

    @classmethod
    def from_environment(cls) -> "Shard":
        """The torchrun rank (``RANK`` of ``WORLD_SIZE``), or the one whole shard ``0/1``."""
        return cls(int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1")))

    @property
    def whole(self) -> bool:
        return self.count == 1


@dataclass(frozen=True)
class PredictSettings:
    """``predict:`` of ``configs/predict.yaml``; no defaults here, the YAML holds them."""

    input: str | None
    output: str | None
    model: str
    backend: str
    onnx_model: str
    accelerator: str
    threads: int | None
    batch_size: int
    shard: str | None
    merge: bool
    input_limits: Mapping[str, Any]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "PredictSettings":
        settings: PredictSettings = settings_from_mapping(cls, values, group="predict", error=ProjectError)
        if not settings.output:
            raise ProjectError(f"predict.output is not set: name the file to write, {USAGE}.")
        if not settings.merge and not settings.input:
            raise ProjectError(f"predict.input is not set: name the file or folder to score, {USAGE}.")
        if settings.batch_size < 1:
            raise ProjectError(f"predict.batch_size must be at least 1, got {settings.batch_size}.")
        # Built once here so that a bad backend, accelerator, threads or shard fails at start-up.
        _ = (settings.runtime, settings.shard_of_process)
        return settings

    @property
    def runtime(self) -> Runtime:
        return Runtime("predict", self.backend, self.onnx_model, self.accelerator, self.threads)

    @property
    def shard_of_process(self) -> Shard:
        """``predict.shard`` when set, else the torchrun rank (one shard when not under torchrun)."""
        return Shard.parse(self.shard) if self.shard is not None else Shard.from_environment()

    @property
    def input_path(self) -> Path:
        return Path(str(self.input))

    @property
    def output_path(self) -> Path:
        return Path(str(self.output))
