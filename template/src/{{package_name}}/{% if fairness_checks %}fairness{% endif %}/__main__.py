"""Fairness stage: compare the trained model across the sensitive groups, with Fairlearn.

Run ``python -m <package>.fairness`` (or ``make fairness``) after training. The model is
loaded the way ``evaluate`` loads it, predicts the test split, and the sensitive columns
(``data.sensitive_columns``, never model inputs) are joined from the split's rows. Writes the
run's ``fairness.json`` (read by the readiness gate) and ``fairness.md`` (a readable table,
also logged), at ``paths.fairness`` and ``paths.fairness_table``, and a figure per sensitive
column (``figures.py``) in ``paths.figures_dir``. What is measured and why: ``evaluation/fairness.py``.

Thresholds come from ``configs/fairness/default.yaml`` (the ``fairness_threshold`` answer
and the four-fifths ratio); override them for one run, e.g. ``fairness.max_difference=0.05``.

Mitigation (binary classifiers): ``python -m <package>.fairness
fairness.mitigation=threshold_optimizer`` fits Fairlearn's ``ThresholdOptimizer`` on the
validation split's scores and reports the test split before and after
(``evaluation/mitigation.py`` explains the set-up and its limits). The verdict stays that
of the model as trained, the one that is served.
"""

import logging
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from omegaconf import DictConfig

from ..core.atomic import write_text_atomically
from ..core.config import CONFIG_DIR, to_plain
from ..core.console import log_summary
from ..core.errors import ProjectError, exit_on_user_error
from ..core.fingerprints import weights_sha256
from ..core.reporting import write_json
from ..core.run_lookup import register_run_dir_resolver
from .checks import (
    CLASSIFICATION,
    THRESHOLD_OPTIMIZER,
    THRESHOLDS_NOTE,
    FairnessSettings,
    ModelOutputs,
    assess,
    combined_groups,
    combined_name,
    positive_class_index,
    sensitive_groups,
)
from .figures import write_fairness_figures
from .inputs import predict_splits
from .mitigation import (
    fit_threshold_optimizer,
    mitigated_predictions,
    positive_scores,
    threshold_rules,
)
from .report import render_markdown, terminal_verdict

log = logging.getLogger(__name__)

EVALUATED_SPLIT = "test"
FITTING_SPLIT = "val"
PACKAGE = str(__package__).split(".")[0]  # run as __main__, so not __name__
MITIGATION_COMMAND = f"python -m {PACKAGE}.fairness fairness.mitigation={THRESHOLD_OPTIMIZER}"


def class_predictions(outputs: np.ndarray, task: str) -> np.ndarray:
    """Class indices (argmax of the logits), or the regression values as they are."""
    return outputs.argmax(axis=1) if task == CLASSIFICATION else outputs


def mitigation_scope(model: ModelOutputs) -> str | None:
    """Why ThresholdOptimizer does not apply to this model, or None when it does."""
    if model.task != CLASSIFICATION:
        return "regression has no decision threshold to move; ThresholdOptimizer post-processes binary classifiers."
    if len(model.class_names) != 2:
        return (
            f"ThresholdOptimizer post-processes binary classifiers; this model has {len(model.class_names)} "
            "classes, and moving one class's threshold one-vs-rest changes the other classes' predictions, "
            "so the per-class guarantees would not hold. Improve the data for the affected groups, or train "
            "with fairlearn.reductions."
        )
    return None


def mitigate(model: ModelOutputs, settings: FairnessSettings, before: dict[str, Any]) -> dict[str, Any]:
    """Fit ThresholdOptimizer on the validation scores; assess its test-split decisions."""
    positive = positive_class_index(model.class_names, settings.positive_class)
    negative = 1 - positive
    columns = settings.columns_to_mitigate(model.sensitive_columns)
    fitting, evaluated = model.splits[FITTING_SPLIT], model.splits[EVALUATED_SPLIT]
    fit_groups = combined_groups(sensitive_groups(fitting.rows, columns, intersectional=False), columns)
    test_groups = combined_groups(sensitive_groups(evaluated.rows, columns, intersectional=False), columns)
    test_groups_by_feature = sensitive_groups(
        evaluated.rows, model.sensitive_columns, intersectional=settings.intersectional
    )
    optimizer = fit_threshold_optimizer(
        positive_scores(fitting.outputs, positive),
        (fitting.targets == positive).astype(int),
        fit_groups,
        constraints=settings.constraints,
        objective=settings.objective,
    )
    decisions = mitigated_predictions(
        optimizer, positive_scores(evaluated.outputs, positive), test_groups, seed=model.seed
    )
    predictions = np.where(decisions == 1, positive, negative)
    after = assess(
        model.task,
        evaluated.targets,
        predictions,
        test_groups_by_feature,
        settings,
        class_names=model.class_names,
    )
    fit_sizes = fit_groups.value_counts()
    return {
        "status": "applied",
        "method": THRESHOLD_OPTIMIZER,
        "constraints": settings.constraints,
        "objective": settings.objective,
        "fitted_on": FITTING_SPLIT,
        "evaluated_on": EVALUATED_SPLIT,
        "groups": combined_name(columns),
        "fitting_group_sizes": {str(group): int(size) for group, size in fit_sizes.items()},
        "fitting_groups_too_small": sorted(
            str(group) for group, size in fit_sizes.items() if size < settings.min_group_size
        ),
        "rules": threshold_rules(optimizer),
        "accuracy": {
            "before": before["accuracy"],
            "after": float(np.mean(predictions == evaluated.targets)),
        },
        **after,
    }


def assess_model(model: ModelOutputs, settings: FairnessSettings) -> dict[str, Any]:
    """The fairness report of ``model``: the verdict, and the mitigation if requested."""
    evaluated = model.splits[EVALUATED_SPLIT]
    groups = sensitive_groups(evaluated.rows, model.sensitive_columns, intersectional=settings.intersectional)
    predictions = class_predictions(evaluated.outputs, model.task)
    report: dict[str, Any] = {
        "model": model.source,
        "split": EVALUATED_SPLIT,
        "num_examples": len(evaluated.targets),
        "task": model.task,
        "class_names": list(model.class_names),
        "sensitive_columns": list(model.sensitive_columns),
        # The largest acceptable difference (the fairness_threshold answer), as the model
        # card reads it; every threshold the checks use is in "thresholds".
        "threshold": settings.max_difference,
        "thresholds": settings.thresholds(),
        "thresholds_note": THRESHOLDS_NOTE,
        **assess(model.task, evaluated.targets, predictions, groups, settings, class_names=model.class_names),
    }
    if model.task == CLASSIFICATION:
        report["accuracy"] = float(np.mean(predictions == evaluated.targets))
    not_applicable = mitigation_scope(model)
    if not_applicable is not None:
        report["mitigation"] = {"status": "not applicable", "reason": not_applicable}
    elif settings.mitigation == THRESHOLD_OPTIMIZER:
        report["mitigation"] = mitigate(model, settings, report)
    else:
        report["mitigation"] = {"status": "not run", "how": MITIGATION_COMMAND}
    return report


def run_fairness(cfg: DictConfig) -> dict[str, Any]:
    """The fairness stage as a function of its config (what ``main`` and tests call)."""
    settings = to_plain(cfg)
    fairness = FairnessSettings.from_mapping(settings["fairness"])
    mitigating = fairness.mitigation == THRESHOLD_OPTIMIZER
    paths = settings["paths"]
    splits = (EVALUATED_SPLIT, FITTING_SPLIT) if mitigating else (EVALUATED_SPLIT,)
    model = predict_splits(Path(paths["checkpoint"]), fairness.accelerator, splits)
    if mitigating and (reason := mitigation_scope(model)) is not None:
        raise ProjectError(f"fairness.mitigation={THRESHOLD_OPTIMIZER} does not apply: {reason}")
    # The weights assessed: the readiness gate fails this report once they change.
    report = {"weights_sha256": weights_sha256(Path(model.source)), **assess_model(model, fairness)}
    output, table = Path(paths["fairness"]), Path(paths["fairness_table"])
    write_json(output, report)
    markdown = render_markdown(report)
    write_text_atomically(table, markdown)
    figures = write_fairness_figures(report, Path(paths["figures_dir"]))
    log.info("fairness report\n%s", markdown)
    print(terminal_verdict(report))
    verdict = "checks passed" if report["passed"] else "checks FAILED"
    log_summary(log, "fairness", f"{verdict} on the {report['split']} split", [output, table, *figures])
    return report


# configs/paths/ find the run this stage works on through ${run_dir:...}.
register_run_dir_resolver()


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="fairness")
def main(cfg: DictConfig) -> None:
    exit_on_user_error(lambda: run_fairness(cfg))


if __name__ == "__main__":
    main()
