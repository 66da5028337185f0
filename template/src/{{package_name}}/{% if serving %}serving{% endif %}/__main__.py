"""Serving stage: the trained model behind an HTTP API (FastAPI, uvicorn, Prometheus metrics).

Run ``python -m <package>.serving`` (or ``make serve``) after training; override any setting
on the command line, e.g. ``python -m <package>.serving serve.port=9000 serve.workers=2
serve.backend=onnxruntime``. The settings are in ``configs/serve.yaml``; the server itself
is in ``serving/``.

The model files are checked before the port is bound, so a missing checkpoint or ONNX
export ends with one line saying what to run first. With ``serve.workers`` > 1 uvicorn
starts that many processes; their metrics are shared through prometheus client's
multiprocess directory (``$PROMETHEUS_MULTIPROC_DIR``, a fresh temporary one if unset).
"""

import atexit
import json
import logging
import logging.config
import os
import shutil
import tempfile
from pathlib import Path

import hydra
import uvicorn
from omegaconf import DictConfig

from ..core.config import CONFIG_DIR, to_plain
from ..core.errors import exit_on_user_error
from ..core.run_lookup import register_run_dir_resolver
from ..core.service.model import resolve_model_source
from ..core.service.settings import ServeSettings
from .factory import APP_FACTORY, CONFIG_ENV
from .logs import logging_config
from .metrics import MULTIPROCESS_ENV

log = logging.getLogger(__name__)


def prepare_multiprocess_metrics() -> Path:
    """A clean directory for the workers' metric files (stale files would be counted again)."""
    configured = os.environ.get(MULTIPROCESS_ENV)
    if configured:
        directory = Path(configured)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        return directory
    directory = Path(tempfile.mkdtemp(prefix="prometheus-multiproc-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    os.environ[MULTIPROCESS_ENV] = str(directory)
    return directory


def run_server(cfg: DictConfig) -> None:
    """The serving stage as a function of its config: check, then run uvicorn until stopped."""
    config = to_plain(cfg)
    settings = ServeSettings.from_mapping(config["serve"])
    logging.config.dictConfig(logging_config(settings.log_level))  # JSON lines from the first one
    source = resolve_model_source(config, settings)  # fails here, with the fix, if files are missing
    if settings.workers > 1:
        prepare_multiprocess_metrics()
    os.environ[CONFIG_ENV] = json.dumps(config)
    log.info(
        "serving %s (%s) on http://%s:%d with %d worker(s)",
        source.version,
        source.backend,
        settings.host,
        settings.port,
        settings.workers,
    )
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=logging_config(settings.log_level),
        access_log=False,  # the app logs each request with its id (serving/middleware.py)
        timeout_graceful_shutdown=settings.graceful_shutdown_s,
        timeout_worker_healthcheck=settings.worker_healthcheck_s,
        server_header=False,
    )


# configs/paths/ find the run this stage works on through ${run_dir:...}.
register_run_dir_resolver()


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="serve")
def main(cfg: DictConfig) -> None:
    exit_on_user_error(lambda: run_server(cfg))


if __name__ == "__main__":
    main()
