"""``python -m <package>.export [export.<key>=...]``: the export stage's command line (configs/export.yaml)."""

import hydra
from omegaconf import DictConfig

from ..core.config import CONFIG_DIR
from ..core.errors import exit_on_user_error
from ..core.run_lookup import register_run_dir_resolver
from .pipeline import run_export

# configs/paths/ find the run this stage works on through ${run_dir:...}.
register_run_dir_resolver()


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="export")
def main(cfg: DictConfig) -> None:
    exit_on_user_error(lambda: run_export(cfg))


if __name__ == "__main__":
    main()
