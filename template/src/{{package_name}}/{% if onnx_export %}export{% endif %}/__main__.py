"""``python -m <package>.export [overrides...]``: the export stage's command line (configs/export.yaml)."""

import hydra
from omegaconf import DictConfig

from ..core.config import CONFIG_DIR
from ..core.errors import exit_on_user_error
from .pipeline import run_export


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="export")
def main(cfg: DictConfig) -> None:
    exit_on_user_error(lambda: run_export(cfg))


if __name__ == "__main__":
    main()
