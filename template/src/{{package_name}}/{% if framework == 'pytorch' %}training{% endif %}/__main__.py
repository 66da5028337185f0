"""Training stage: fit the model on the configured data and write the artifacts.

Run ``python -m <package>.training`` (``make train``) with any overrides, e.g. ``trainer.max_epochs=5
data=file data.path=my.csv``, or a preset: ``experiment=...`` / ``debug=fast``.

Each run writes to its own folder, ``paths.run_dir`` (``artifacts/runs/<date>_<time>``, core/runs.py):
``checkpoints/best.pt`` and ``last.pt``, the resolved ``config.yaml``, ``preprocessor.json``,
``history.json`` (per-epoch metrics, best epoch, early stop) and ``run.json`` (status, times,
overrides); configs/paths/ names each. The test split is ``make evaluate``'s.
"""

import logging
import os
from dataclasses import asdict
from typing import Any

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ..core.config import CONFIG_DIR, to_plain
from ..core.errors import exit_on_user_error
from ..core.runs import finish_run, is_resume, register_training_resolver, start_run

log = logging.getLogger(__name__)


def run_training(cfg: DictConfig) -> dict[str, Any]:
    """The training stage as a function of its config; returns the run's record (``history.json``)."""
    # Loaded here, not at import: `--help` and config errors answer without torch (tests/test_startup.py).
    from ..core.artifacts import ArtifactPaths
    from ..core.atomic import write_text_atomically
    from ..core.metrics import metric_function
    from ..core.reporting import write_json
    from ..core.reproducibility import seed_everything
    from ..data.dataset import build_data
    from ..models.factory import build_model
    from .trainer import Trainer, TrainerSettings, loss_for_task

    settings = to_plain(cfg)
    seed_everything(settings["seed"], deterministic=settings["deterministic"])
    trainer_settings = TrainerSettings.from_mapping(settings["trainer"])
    trainer_class = instantiate(trainer_settings.distributed) if trainer_settings.distributed else Trainer
    if writes := (int(os.environ.get("RANK", "0")) == 0):  # trainer=ddp: rank 0 alone writes
        start_run(settings["paths"], resumed=is_resume(trainer_settings.resume))
    artifacts = ArtifactPaths.from_config(settings["paths"])
    data = build_data(settings["data"], task=settings["task"], seed=settings["seed"])
    log.info("data: %s", data.summary())
    model = build_model(settings["model"], data.preprocessor)
    callbacks = [instantiate(settings["tracking"])] if settings.get("tracking") else []
    callbacks += [instantiate(spec) for spec in settings["callbacks"].values()]  # e.g. make tune's
    trainer = trainer_class(
        model,
        trainer_settings,
        loss_fn=loss_for_task(settings["task"]),
        metric_fn=metric_function(data.preprocessor),
        checkpoint_dir=artifacts.checkpoint_dir,
        seed=settings["seed"],
        metadata={"config": settings, "preprocessor": data.preprocessor.to_dict()},
        callbacks=callbacks,
    )
    if writes:
        write_text_atomically(artifacts.create().resolved_config, OmegaConf.to_yaml(settings))
        write_json(artifacts.preprocessor, data.preprocessor.to_dict())
    loaders = data.loader("train"), data.loader("val")
    if speed := trainer_settings.speed:  # GPU speed paths, loaded by their config (training/speed.py)
        instantiate(speed).apply(trainer, loaders)
    result = trainer.fit(*loaders)
    record = {
        f"best_val_{trainer.settings.monitor}" if key == "best_metric" else key: value
        for key, value in asdict(result).items()
    }
    if writes:
        write_json(artifacts.history, record)
        finish_run(artifacts.run_dir)
    log.info("train done: best epoch %s -> %s; next: make evaluate", result.best_epoch, artifacts.run_dir)
    return record


# configs/train.yaml names this run's folder through ${training_run_dir:...}.
register_training_resolver()


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def main(cfg: DictConfig) -> None:
    exit_on_user_error(lambda: run_training(cfg))


if __name__ == "__main__":
    main()
