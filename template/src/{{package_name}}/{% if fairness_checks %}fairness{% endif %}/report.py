"""The fairness report as Markdown (the run's ``fairness.md``, ``paths.fairness_table``): verdict, groups, mitigation.

Rendered from the same dictionary that is written to ``fairness.json``, so the table people
read and the file the readiness gate reads cannot disagree.
"""

from collections.abc import Sequence
from typing import Any

from ..core.console import paint

DISPARITY_LABELS = {
    "demographic_parity_difference": "demographic parity difference",
    "demographic_parity_ratio": "demographic parity ratio",
    "equalized_odds_difference": "equalized odds difference",
    "mae_difference": "MAE difference (target units)",
    "mae_ratio": "MAE ratio",
    "mean_error_difference": "mean error difference (target units)",
}


def _number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return str(value)
    return f"{float(value):.3f}"


def _row(cells: Sequence[Any]) -> str:
    return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(row) for row in rows)]


def checks_table(checks: Sequence[dict[str, Any]]) -> list[str]:
    return markdown_table(
        ("check", "status", "threshold", "measured (worst group comparison)"),
        [(check["name"], check["status"], check["target"], check["measured"]) for check in checks],
    )


def feature_section(
    name: str, feature: dict[str, Any], *, min_group_size: int, multiclass: bool
) -> list[str]:
    """One sensitive feature: metrics per group (small ones flagged) and its disparities."""
    groups = feature["groups"]
    metrics = list(next(iter(groups.values())))
    rows = [
        (
            f"{group}{' ⚠ too small to judge' if group in feature['too_small'] else ''}",
            *(_number(values[metric]) for metric in metrics),
        )
        for group, values in groups.items()
    ]
    rows.append(("**all**", *(_number(feature["overall"][metric]) for metric in metrics)))
    lines = [f"### {name}", "", *markdown_table(("group", *(m.replace("_", " ") for m in metrics)), rows), ""]
    worst_class = feature.get("worst_class", {})
    disparities = [
        f"{DISPARITY_LABELS[key]} {_number(value)}"
        + (f" (class {worst_class[key]})" if multiclass and key in worst_class else "")
        for key, value in feature["disparities"].items()
        if value is not None
    ]
    lines.append(
        ("Across groups: " + "; ".join(disparities) + ".")
        if disparities
        else "Across groups: fewer than two groups are large enough to compare."
    )
    if feature["too_small"]:
        lines.append(
            f"Groups with fewer than {min_group_size} examples ({', '.join(feature['too_small'])}) are "
            "shown but left out of the comparison: their rates are too noisy to judge."
        )
    return [*lines, ""]


def mitigation_section(report: dict[str, Any]) -> list[str]:
    mitigation = report["mitigation"]
    lines = ["## Mitigation", ""]
    if mitigation["status"] == "not applicable":
        return [*lines, f"Not applicable: {mitigation['reason']}", ""]
    if mitigation["status"] == "not run":
        return [*lines, f"Not run. To see the effect of per-group thresholds: `{mitigation['how']}`.", ""]
    lines += [
        f"Fairlearn `ThresholdOptimizer` (constraints `{mitigation['constraints']}`, objective "
        f"`{mitigation['objective']}`), fitted on the {mitigation['fitted_on']} split's scores per "
        f"group of {mitigation['groups']}, evaluated on the {mitigation['evaluated_on']} split. "
        "The served model is unchanged; deploying this would need each request's sensitive "
        "attributes and the thresholds below.",
        "",
        "Before and after (worst group comparison):",
        "",
    ]
    after = {check["metric"]: check for check in mitigation["checks"]}
    rows = [
        ("accuracy", _number(mitigation["accuracy"]["before"]), _number(mitigation["accuracy"]["after"]), "")
    ]
    rows += [
        (
            check["name"],
            check["measured"],
            after[check["metric"]]["measured"],
            f"{check['status']} → {after[check['metric']]['status']}",
        )
        for check in report["checks"]
    ]
    lines += [*markdown_table(("metric", "before", "after", "status"), rows), ""]
    lines += ["Per feature:", ""]
    feature_rows = []
    for name, feature in report["features"].items():
        for key, value in feature["disparities"].items():
            later = mitigation["features"][name]["disparities"].get(key)
            if value is not None or later is not None:
                feature_rows.append(
                    (
                        name,
                        DISPARITY_LABELS[key],
                        _number(value),
                        _number(later),
                    )
                )
    lines += [*markdown_table(("feature", "disparity", "before", "after"), feature_rows), ""]
    lines += ["Fitted decision rules per group:", ""]
    lines += [*markdown_table(("group", "rule"), sorted(mitigation["rules"].items())), ""]
    if mitigation["fitting_groups_too_small"]:
        lines.append(
            f"Thresholds of {', '.join(mitigation['fitting_groups_too_small'])} rest on fewer than "
            f"{report['thresholds']['min_group_size']} validation examples each and are unreliable."
        )
        lines.append("")
    return lines


def terminal_verdict(report: dict[str, Any]) -> str:
    """The verdict and each check's status as the stage prints them: in colour for a terminal
    (green pass, red fail; ``core/console.py``), plain text anywhere else."""
    passed = report["passed"]
    lines = [f"fairness verdict: {paint('pass' if passed else 'FAIL', 'pass' if passed else 'fail')}"]
    width = max((len(check["name"]) for check in report["checks"]), default=0)
    status_width = max((len(check["status"]) for check in report["checks"]), default=0)
    lines += [
        f"  {check['name'].ljust(width)}  {paint(check['status'].ljust(status_width), check['status'])}  "
        f"{check['measured']} (threshold {check['target']})"
        for check in report["checks"]
    ]
    return "\n".join(lines)


def render_markdown(report: dict[str, Any]) -> str:
    """The whole report: verdict, the threshold note, each feature's table, the mitigation."""
    compared = report["compared_classes"]
    target = (
        f"; compared class: {', '.join(compared)}"
        if len(compared) == 1
        else ("; multiclass, each class one-vs-rest (verdict: worst class)" if compared else "")
    )
    lines = [
        "# Fairness report",
        "",
        f"Model `{report['model']}` on the {report['split']} split ({report['num_examples']} examples); "
        f"task: {report['task']}{target}; sensitive columns: {', '.join(report['sensitive_columns'])}.",
        "",
        f"## Verdict: {'pass' if report['passed'] else 'FAIL'}",
        "",
        *checks_table(report["checks"]),
        "",
        f"> {report['thresholds_note']}",
        "",
        "## Groups",
        "",
    ]
    for name, feature in report["features"].items():
        lines += feature_section(
            name, feature, min_group_size=report["thresholds"]["min_group_size"], multiclass=len(compared) > 1
        )
    lines += mitigation_section(report)
    return "\n".join(lines).rstrip() + "\n"
