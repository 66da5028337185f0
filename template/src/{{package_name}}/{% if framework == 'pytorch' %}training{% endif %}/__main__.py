"""Training stage: fit the model on the configured data and write the artifacts.

Run ``python -m <package>.training`` (or ``make train``); override any setting on the
command line, e.g. ``python -m <package>.training trainer.max_epochs=5 data=file
data.path=my.csv``, or pick a preset with ``experiment=...`` / ``debug=fast``.

Writes to ``paths.artifacts_dir`` (``artifacts/`` by default): ``checkpoints/best.pt``
and ``checkpoints/last.pt``, ``checkpoints/reference_profile.json`` (the training inputs,
for drift checks), ``config.yaml`` (resolved), ``preprocessor.json``, ``history.json`` and
``metrics.json`` (test split of the best checkpoint).
"""

import logging
from pathlib import Path
from typing import Any

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ..core.artifacts import ArtifactPaths
from ..core.atomic import write_text_atomically
from ..core.config import CONFIG_DIR, to_plain
from ..core.drift.reference import write_reference_profile
from ..core.errors import exit_on_user_error
from ..core.reporting import write_json
from ..core.reproducibility import seed_everything
from ..core.scoring import evaluate_checkpoint, metric_function
from ..data import build_data
from ..models.factory import build_model
from .trainer import Trainer, TrainerSettings, loss_for_task

log = logging.getLogger(__name__)


def run_training(cfg: DictConfig) -> dict[str, Any]:
    """The training stage as a function of its config; returns the test-split report."""
    settings = to_plain(cfg)
    seed_everything(settings["seed"], deterministic=settings["deterministic"])
    artifacts = ArtifactPaths(Path(settings["paths"]["artifacts_dir"])).create()
    data = build_data(settings["data"], task=settings["task"], seed=settings["seed"])
    log.info("data: %s", data.summary())
    model = build_model(settings["model"], data.preprocessor)
    tracker = instantiate(settings["tracking"]) if settings.get("tracking") else None
    trainer = Trainer(
        model,
        TrainerSettings.from_mapping(settings["trainer"]),
        loss_fn=loss_for_task(settings["task"]),
        metric_fn=metric_function(data.preprocessor),
        checkpoint_dir=artifacts.checkpoint_dir,
        seed=settings["seed"],
        metadata={"config": settings, "preprocessor": data.preprocessor.to_dict()},
        epoch_callbacks=[tracker] if tracker is not None else [],
    )
    write_text_atomically(artifacts.resolved_config, OmegaConf.to_yaml(OmegaConf.create(settings)))
    write_json(artifacts.preprocessor, data.preprocessor.to_dict())
    try:
        result = trainer.fit(data.loader("train"), data.loader("val"))
    finally:
        if tracker is not None:
            tracker.close()
    write_json(artifacts.history, {"history": result.history})
    write_reference_profile(data, trainer.best_checkpoint, seed=settings["seed"])
    report = evaluate_checkpoint(
        trainer.best_checkpoint, split="test", accelerator=settings["trainer"]["accelerator"]
    )
    report["training"] = {
        "epochs_completed": result.epochs_completed,
        "global_step": result.global_step,
        "best_epoch": result.best_epoch,
        f"best_val_{trainer.settings.monitor}": result.best_metric,
        "stopped_early": result.stopped_early,
    }
    write_json(artifacts.metrics, report)
    log.info(
        "best epoch %s; test metrics: %s; artifacts in %s",
        result.best_epoch,
        ", ".join(f"{k}={v:.4f}" for k, v in report["metrics"].items() if v is not None),
        artifacts.root,
    )
    return report


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def main(cfg: DictConfig) -> None:
    exit_on_user_error(lambda: run_training(cfg))


if __name__ == "__main__":
    main()
