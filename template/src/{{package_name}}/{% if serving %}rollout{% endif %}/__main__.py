"""Rollout stage: ``python -m <package>.rollout`` (``make compare-rollout``), after serving a canary or shadow.

Reads the server's prediction log (``paths.prediction_log``, written while
``serve.rollout.mode`` is canary or shadow), prints per model version the share of requests
answered, error rate and latency, the agreement of shadowed predictions and, with
``rollout.feedback=<file>`` (true labels or values by request id), each version's accuracy or
mean absolute error; writes the report to ``paths.rollout_report``. See comparison.py.
"""

from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from ..core.config import CONFIG_DIR
from ..core.errors import exit_on_user_error
from ..core.reporting import write_json
from .comparison import compare, format_report, read_feedback, read_log


def run_comparison(cfg: DictConfig) -> dict[str, Any]:
    """The rollout stage as a function of its config; writes and returns the report."""
    # Only this stage's settings: the comparison reads no run (paths.run_dir is not resolved).
    settings = OmegaConf.to_container(cfg.rollout, resolve=True)
    assert isinstance(settings, dict)
    feedback = read_feedback(Path(settings["feedback"])) if settings.get("feedback") else None
    report = compare(read_log(Path(settings["log"])), feedback, float(settings["value_tolerance"]))
    write_json(Path(settings["report"]), report)
    print(format_report(report))
    print(f"report: {settings['report']}")
    return report


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="rollout")
def main(cfg: DictConfig) -> None:
    exit_on_user_error(lambda: run_comparison(cfg))


if __name__ == "__main__":
    main()
