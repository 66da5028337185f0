"""The ``serve`` config group, checked once at start-up so that typos fail before binding a port."""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..config import settings_from_mapping
from ..errors import ProjectError
from .drift import MonitorSettings
from .instances import InputSettings

BACKENDS = ("torch", "onnxruntime")
ACCELERATORS = ("auto", "cpu", "cuda")
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class BatchingSettings:
    """Dynamic batching: concurrent requests share one forward pass.

    A batch is run as soon as it holds ``max_batch_size`` instances or its first request
    has waited ``max_wait_ms``, whichever comes first. Under load the wait is rarely spent:
    requests that arrive while a forward pass runs form the next batch at once.
    """

    enabled: bool = True
    max_batch_size: int = 32
    max_wait_ms: float = 5.0

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "BatchingSettings":
        settings: BatchingSettings = settings_from_mapping(
            cls, values, group="serve.batching", error=ProjectError
        )
        if settings.max_batch_size < 1:
            raise ProjectError(
                f"serve.batching.max_batch_size must be at least 1, got {settings.max_batch_size}."
            )
        if settings.max_wait_ms < 0:
            raise ProjectError(f"serve.batching.max_wait_ms must be 0 or more, got {settings.max_wait_ms}.")
        return settings


@dataclass(frozen=True)
class LimitSettings:
    """Request limits of every modality; larger requests are answered 413."""

    max_body_bytes: int = 1_048_576
    max_instances: int = 64

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "LimitSettings":
        settings: LimitSettings = settings_from_mapping(cls, values, group="serve.limits", error=ProjectError)
        if settings.max_body_bytes < 1024:
            raise ProjectError(
                f"serve.limits.max_body_bytes must be at least 1024, got {settings.max_body_bytes}."
            )
        if settings.max_instances < 1:
            raise ProjectError(
                f"serve.limits.max_instances must be at least 1, got {settings.max_instances}."
            )
        return settings


@dataclass(frozen=True)
class ServeSettings:
    """Everything the server needs besides the model files (see ``configs/serve.yaml``)."""

    host: str = "127.0.0.1"
    port: int = 8000
    backend: str = "torch"
    onnx_model: str = "model.onnx"
    accelerator: str = "auto"
    workers: int = 1
    threads: int | None = None
    batching: BatchingSettings = field(default_factory=BatchingSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    input: InputSettings = field(default_factory=InputSettings)
    drift: MonitorSettings = field(default_factory=MonitorSettings)
    api_key_env: str | None = "MODEL_API_KEY"
    noop_route: bool = False
    graceful_shutdown_s: float = 30.0
    worker_healthcheck_s: int = 60
    log_level: str = "info"

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "ServeSettings":
        nested = {
            "batching": BatchingSettings.from_mapping(values.get("batching", {})),
            "limits": LimitSettings.from_mapping(values.get("limits", {})),
            "input": InputSettings.from_mapping(values.get("input", {})),
            "drift": MonitorSettings.from_mapping(values.get("drift", {})),
        }
        settings: ServeSettings = settings_from_mapping(
            cls, {**values, **nested}, group="serve", error=ProjectError
        )
        _check_choice("serve.backend", settings.backend, BACKENDS)
        _check_choice("serve.accelerator", settings.accelerator, ACCELERATORS)
        _check_choice("serve.log_level", settings.log_level, LOG_LEVELS)
        if not 0 <= settings.port <= 65535:
            raise ProjectError(f"serve.port must lie between 0 and 65535, got {settings.port}.")
        if settings.workers < 1:
            raise ProjectError(f"serve.workers must be at least 1, got {settings.workers}.")
        if settings.threads is not None and settings.threads < 1:
            raise ProjectError(
                f"serve.threads must be at least 1 or null (library default), got {settings.threads}."
            )
        if settings.worker_healthcheck_s < 1:
            raise ProjectError(
                f"serve.worker_healthcheck_s must be at least 1, got {settings.worker_healthcheck_s}."
            )
        if settings.graceful_shutdown_s <= 0:
            raise ProjectError(
                f"serve.graceful_shutdown_s must be positive, got {settings.graceful_shutdown_s}."
            )
        return settings


def inference_threads(settings: ServeSettings) -> int:
    """Intra-op threads of each worker's forward pass: ``serve.threads``, or a share of the CPUs.

    The automatic choice gives each worker its share of the CPUs this process may use, less
    one core left to the event loop (HTTP, validation, preprocessing) where there are cores to
    spare. The libraries' own default (every core, with busy-waiting threads) starves the
    event loop and, with several workers, oversubscribes the machine.
    """
    if settings.threads is not None:
        return settings.threads
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cpus // settings.workers - 1)


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ProjectError(f"{name} must be one of {', '.join(choices)}, got '{value}'.")
