"""Building the real app from the resolved ``serve`` config: what every uvicorn worker imports.

``serve.py`` puts the resolved config in the environment (``SERVING_CONFIG``) and starts
uvicorn with the import string of :func:`app_from_environment`, which is how uvicorn runs
several worker processes: each one imports this module and builds its own app.
"""

import json
import logging
import os
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from ..errors import ProjectError
from ..monitoring import profile_path
from .app import ServedModel, create_app
from .backends import open_backend
from .drift import read_profile
from .instances import create_codec
from .model import resolve_model_source
from .settings import ServeSettings

log = logging.getLogger(__name__)

CONFIG_ENV = "SERVING_CONFIG"
APP_FACTORY = f"{__name__}:app_from_environment"


def build_app(config: dict[str, Any]) -> FastAPI:
    """The app for a resolved ``serve`` config (``checkpoint``, ``export_dir``, ``serve``)."""
    settings = ServeSettings.from_mapping(config["serve"])
    source = resolve_model_source(config, settings)
    served = ServedModel(
        source=source,
        codec=create_codec(source.preprocessor, settings.input),
        load=partial(open_backend, source, settings),
        # The ONNX export is made from this trained model, so its profile serves both backends.
        profile=read_profile(profile_path(Path(config["checkpoint"]))) if settings.drift.enabled else None,
    )
    return create_app(settings, served, api_key=read_api_key(settings.api_key_env))


def read_api_key(variable: str | None) -> str | None:
    """The API key from the environment variable named by ``serve.api_key_env``, if set."""
    key = os.environ.get(variable, "") if variable else ""
    if not key:
        log.warning(
            "no API key in $%s: the /v1/ routes are open to every client",
            variable or "(serve.api_key_env=null)",
        )
        return None
    return key


def app_from_environment() -> FastAPI:
    """uvicorn's factory: the app for the config ``serve.py`` left in ``$SERVING_CONFIG``."""
    raw = os.environ.get(CONFIG_ENV)
    if raw is None:
        raise ProjectError(
            f"${CONFIG_ENV} is not set; start the server with `python -m {__name__.split('.')[0]}.serve`."
        )
    return build_app(json.loads(raw))
