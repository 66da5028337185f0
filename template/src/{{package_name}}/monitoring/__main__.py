"""Drift check stage: compare a batch of inputs with the training inputs the model learned from.

Run ``python -m <package>.monitoring drift.batch=<file or folder>`` (or ``make drift
BATCH=...``): the batch goes through the preprocessing saved with the model, its monitored
features (``monitoring/features.py``) are compared with the reference profile that the
evaluation stage wrote for this model's weights (``make evaluate``), and the result is
printed as a table and written to the chosen run's ``drift.json`` (``paths.drift``), with a
figure per feature in ``<paths.figures_dir>/drift/`` (``figures.py``). The
exit status is 1 when a feature is flagged and
``drift.fail_on_drift`` is true (a scheduled job or CI step fails on drift), else 0.

The rule (see ``monitoring/detector.py``): a feature is flagged when its two-sample test
is significant at ``drift.alpha`` / number of features and its PSI is at least
``drift.psi_threshold``; batches smaller than ``drift.min_examples`` are not judged.
"""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from ..core.config import CONFIG_DIR, to_plain
from ..core.drift.detector import DRIFT, DriftReport, DriftSettings, detect_drift
from ..core.drift.features import feature_extractor
from ..core.drift.inputs import read_batch
from ..core.drift.profile import extract_features, load_profile
from ..core.errors import ProjectError, exit_on_user_error
from ..core.fingerprints import weights_sha256
from ..core.inference import saved_preprocessor
from ..core.reporting import write_json
from ..core.run_lookup import register_run_dir_resolver
from .figures import write_drift_figures

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DriftStageSettings:
    """The ``drift`` config group: the batch, the rule, and what to do about drift."""

    batch: Path
    format: str | None
    report: Path
    fail_on_drift: bool
    rule: DriftSettings

    @classmethod
    def from_mapping(cls, values: dict[str, Any], report: Path) -> "DriftStageSettings":
        """The ``drift:`` settings; the report goes to ``report`` (``paths.drift``)."""
        values = dict(values)
        batch, file_format = values.pop("batch", None), values.pop("format", None)
        fail_on_drift = values.pop("fail_on_drift")
        if not batch:
            raise ProjectError(
                "name the inputs to check: drift.batch=<file or folder> (make drift BATCH=...), "
                "in the format of the training data."
            )
        return cls(Path(batch), file_format, report, bool(fail_on_drift), DriftSettings.from_mapping(values))


def run_drift_check(cfg: DictConfig) -> DriftReport:
    """The drift stage as a function of its config; writes the report and returns it."""
    settings = to_plain(cfg)
    paths = settings["paths"]
    stage = DriftStageSettings.from_mapping(settings["drift"], report=Path(paths["drift"]))
    model = Path(paths["checkpoint"])
    preprocessor = saved_preprocessor(model)  # first: no model at all names training
    profile = load_profile(model)
    features = extract_features(
        feature_extractor(preprocessor), read_batch(stage.batch, stage.format, preprocessor)
    )
    report = detect_drift(profile, features, stage.rule)
    write_json(
        stage.report,
        {
            "batch": str(stage.batch),
            "model": {"path": str(model), "sha256": weights_sha256(model)},
            **report.to_dict(),
        },
    )
    figures = write_drift_figures(profile, features, report, Path(paths["figures_dir"]))
    print(report.table())
    log.info(
        "drift report: %s; %d figure(s) in %s",
        stage.report,
        len(figures),
        figures[0].parent if figures else "-",
    )
    return report


def exit_status(report: DriftReport, fail_on_drift: bool) -> int:
    """1 when drift is flagged and the stage should fail on it, else 0."""
    return 1 if fail_on_drift and report.status == DRIFT else 0


# configs/paths/ find the run this stage works on through ${run_dir:...}.
register_run_dir_resolver()


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="drift")
def main(cfg: DictConfig) -> None:
    exit_on_user_error(lambda: _check(cfg))


def _check(cfg: DictConfig) -> None:
    report = run_drift_check(cfg)
    if exit_status(report, bool(cfg.drift.fail_on_drift)):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
