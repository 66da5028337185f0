"""Serving stage: the trained model behind an HTTP API (FastAPI, uvicorn, Prometheus metrics).

Run ``python -m <package>.serving`` (or ``make serve``) after training; override any setting
on the command line, e.g. ``python -m <package>.serving serve.port=9000 serve.workers=2
serve.backend=onnxruntime``. The settings are in ``configs/serve.yaml``; the server itself
is in ``serving/``.

``serve.model`` picks the model: the registry's ``champion`` by default (``make promote``),
a version, or ``run`` (the run ``paths.run`` names, unregistered); ``serve.rollout`` adds a
challenger beside it (canary or shadow). The model files are checked before the port is bound, so a missing checkpoint or ONNX
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
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import hydra
import uvicorn
from omegaconf import DictConfig, OmegaConf

from ..core.config import CONFIG_DIR
from ..core.errors import exit_on_user_error
from ..core.run_lookup import register_run_dir_resolver
from ..core.runs import TIMESTAMP
from ..core.service.model import choose_model, resolve_model_source
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


def start_prediction_log(settings: ServeSettings) -> None:
    """Each rollout gets a log of its own: an earlier log is kept beside it, named by its last write."""
    if settings.rollout.mode == "none" or not settings.rollout.prediction_log:
        return
    path = Path(settings.rollout.prediction_log)
    if path.is_file() and path.stat().st_size:
        stamp = datetime.fromtimestamp(path.stat().st_mtime).strftime(TIMESTAMP)
        kept = path.rename(path.with_name(f"{path.stem}-{stamp}{path.suffix}"))
        log.info("kept the previous rollout's prediction log as %s", kept)


def run_server(cfg: DictConfig) -> None:
    """The serving stage as a function of its config: check, then run uvicorn until stopped."""
    serve = OmegaConf.to_container(cfg.serve, resolve=True)
    assert isinstance(serve, dict)
    settings = ServeSettings.from_mapping(serve)
    logging.config.dictConfig(logging_config(settings.log_level, settings.log_format))  # from the first line
    champion = choose_model(cfg, settings.model)
    challenger = choose_model(cfg, settings.rollout.challenger) if settings.rollout.mode != "none" else None
    # Fails here, with the fix, if files are missing.
    source = resolve_model_source(champion.config, settings.runtime, champion.registered)
    if challenger is not None:
        other = resolve_model_source(challenger.config, settings.runtime, challenger.registered)
        log.info("rollout %s: challenger %s beside %s", settings.rollout.mode, other.version, source.version)
    start_prediction_log(settings)
    if settings.workers > 1:
        prepare_multiprocess_metrics()
    os.environ[CONFIG_ENV] = json.dumps(
        {"champion": asdict(champion), "challenger": asdict(challenger) if challenger else None}
    )
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
        log_config=logging_config(settings.log_level, settings.log_format),
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
