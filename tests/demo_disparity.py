"""The demo data's deliberate disparities, and the margin a measured gap must clear.

Every variant's demo data carries a documented disparity for the fairness stage to find
(tabular: understated income of female applicants; image: misfiled dark-background
triangles; text: noisier en_gb labels). The tests check that the stage finds it, and
``bench/demo_variants.py`` checks the same property over several seeds. Both use this
module, so the property the benchmark measures is exactly the one the tests assert.

Why a margin from the group sizes: on a test split of a few hundred examples one
example moves a group's rate by ``1 / group size``. A fixed threshold such as 0.05 can be
decided by a single example of a 48-example group, which is how a test turned red on a
fresh machine. The margin here is ``EXAMPLES`` examples of the smallest group that the
rate is computed over, so a passing test always means "the gap is several examples wide".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# A gap must be wider than this many examples of the smallest group to count as found.
EXAMPLES = 3


@dataclass(frozen=True)
class DemoDisparity:
    """The disparity one variant's demo data carries, as the fairness report measures it."""

    feature: str
    # accuracy_gap (best group's accuracy minus worst's), or a key of the report's disparities
    metric: str
    # the group expected to fare worse (None: the metric has no direction)
    worse_group: str | None = None
    # whether ThresholdOptimizer applies (binary tasks) and must narrow the gap
    mitigated: bool = False
    mitigation_metric: str = "equalized_odds_difference"


DEMO_DISPARITIES: dict[str, DemoDisparity] = {
    "pytorch-tabular": DemoDisparity("sex", "demographic_parity_difference", mitigated=True),
    "pytorch-image": DemoDisparity("background", "accuracy_gap", worse_group="dark"),
    "pytorch-text": DemoDisparity("dialect", "equalized_odds_difference", mitigated=True),
    "huggingface-text": DemoDisparity("dialect", "equalized_odds_difference", mitigated=True),
    "huggingface-image": DemoDisparity("background", "equalized_odds_difference"),
}


def measured_gap(feature_report: dict[str, Any], metric: str) -> float:
    """The gap ``metric`` measures in one feature's section of ``fairness.json``."""
    if metric == "accuracy_gap":
        accuracies = [group["accuracy"] for group in feature_report["groups"].values()]
        return max(accuracies) - min(accuracies)
    return float(feature_report["disparities"][metric])


def margin(feature_report: dict[str, Any], metric: str, num_classes: int) -> float:
    """``EXAMPLES`` examples' worth of the smallest group a rate in ``metric`` is taken over.

    Accuracy and selection rates are shares of a whole group. Equalized odds compares true
    and false positive rates, whose denominators are a group's examples of one class: about
    ``group size / number of classes`` of them (at least half the group for binary tasks).
    """
    smallest = min(group["count"] for group in feature_report["groups"].values())
    if metric == "equalized_odds_difference":
        smallest = smallest / max(num_classes, 2)
    return EXAMPLES / smallest


@dataclass(frozen=True)
class DisparityResult:
    gap: float
    margin: float
    worse_group_is_worse: bool
    # the mitigation metric before and after ThresholdOptimizer (None: not mitigated), and
    # the margin of that metric the mitigation must narrow it by
    gap_for_mitigation: float | None
    mitigated_gap: float | None
    mitigation_margin: float | None

    @property
    def found(self) -> bool:
        return self.gap > self.margin and self.worse_group_is_worse

    @property
    def mitigation_narrows_it(self) -> bool | None:
        """Narrower by more than the margin: by more than sampling noise could make it.

        Not "halved": ThresholdOptimizer is fitted on the validation split, and on a test
        split of a few hundred examples the mitigated gap scatters by several examples
        from seed to seed (0.008 to 0.125 for the demo reviews).
        """
        if self.mitigated_gap is None or self.gap_for_mitigation is None or self.mitigation_margin is None:
            return None
        return self.mitigated_gap < self.gap_for_mitigation - self.mitigation_margin


def evaluate_demo_disparity(report: dict[str, Any], variant: str) -> DisparityResult:
    """Measure ``variant``'s demo disparity in a ``fairness.json`` report."""
    expected = DEMO_DISPARITIES[variant]
    feature_report = report["features"][expected.feature]
    gap = measured_gap(feature_report, expected.metric)
    worse_is_worse = True
    if expected.worse_group is not None:
        groups = feature_report["groups"]
        worse = groups[expected.worse_group]["accuracy"]
        others = [group["accuracy"] for name, group in groups.items() if name != expected.worse_group]
        worse_is_worse = all(worse < other for other in others)
    num_classes = len(report.get("class_names") or []) or 2
    mitigated = before_mitigation = mitigation_margin = None
    if expected.mitigated and report.get("mitigation", {}).get("features"):
        before_mitigation = measured_gap(feature_report, expected.mitigation_metric)
        mitigated = measured_gap(report["mitigation"]["features"][expected.feature], expected.mitigation_metric)
        mitigation_margin = margin(feature_report, expected.mitigation_metric, num_classes)
    return DisparityResult(
        gap=gap,
        margin=margin(feature_report, expected.metric, num_classes),
        worse_group_is_worse=worse_is_worse,
        gap_for_mitigation=before_mitigation,
        mitigated_gap=mitigated,
        mitigation_margin=mitigation_margin,
    )


def assert_demo_disparity_found(report: dict[str, Any], variant: str, *, mitigation: bool = False) -> None:
    """The test-side assertion: the gap clears the margin, in the documented direction."""
    result = evaluate_demo_disparity(report, variant)
    feature = DEMO_DISPARITIES[variant].feature
    assert result.found, (
        f"{variant}: {DEMO_DISPARITIES[variant].metric} by {feature} is {result.gap:.4f}, "
        f"not above {EXAMPLES} examples of the smallest group ({result.margin:.4f}); "
        f"groups: {report['features'][feature]['groups']}"
    )
    if mitigation:
        assert result.mitigation_narrows_it, (
            f"{variant}: mitigation left {result.mitigated_gap} of {result.gap_for_mitigation}; "
            "ThresholdOptimizer must narrow the demo's equalized-odds gap by more than "
            f"{EXAMPLES} examples ({result.mitigation_margin:.4f})"
        )
