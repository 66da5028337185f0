"""The demo-disparity assertion itself can fail: too narrow a gap, the wrong direction,
a mitigation that does not narrow the gap. And the README's demo table is the stored report's."""

import importlib.util
import json
import re

import pytest

from .conftest import REPO_ROOT
from .demo_disparity import assert_demo_disparity_found, evaluate_demo_disparity


def image_report(dark_correct: int, light_correct: int, size: int = 90) -> dict:
    groups = {
        "dark": {"count": size, "accuracy": dark_correct / size},
        "light": {"count": size, "accuracy": light_correct / size},
    }
    return {"class_names": ["circle", "square", "triangle"], "features": {"background": {"groups": groups}}}


def binary_report(before: float, after: float) -> dict:
    groups = {"female": {"count": 200, "accuracy": 0.8}, "male": {"count": 300, "accuracy": 0.9}}
    feature = {
        "groups": groups,
        "disparities": {"demographic_parity_difference": 0.2, "equalized_odds_difference": before},
    }
    mitigated = {"groups": groups, "disparities": {"equalized_odds_difference": after}}
    return {"class_names": ["no", "yes"], "features": {"sex": feature}, "mitigation": {"features": {"sex": mitigated}}}


def test_a_gap_of_four_examples_is_found_and_one_of_two_is_not() -> None:
    assert_demo_disparity_found(image_report(dark_correct=80, light_correct=84), "pytorch-image")
    with pytest.raises(AssertionError, match="not above 3 examples of the smallest group"):
        assert_demo_disparity_found(image_report(dark_correct=82, light_correct=84), "pytorch-image")


def test_the_gap_must_run_the_documented_way() -> None:
    with pytest.raises(AssertionError):
        assert_demo_disparity_found(image_report(dark_correct=88, light_correct=78), "pytorch-image")


def test_the_margin_follows_the_group_size() -> None:
    small, large = image_report(40, 44, size=45), image_report(80, 84, size=90)
    assert evaluate_demo_disparity(small, "pytorch-image").margin == pytest.approx(3 / 45)
    assert evaluate_demo_disparity(large, "pytorch-image").margin == pytest.approx(3 / 90)


def test_mitigation_must_narrow_the_gap_by_more_than_the_margin() -> None:
    # smallest group 200, two classes: the margin is 3 / 100 = 0.03
    assert_demo_disparity_found(binary_report(before=0.12, after=0.085), "pytorch-tabular", mitigation=True)
    with pytest.raises(AssertionError, match="must narrow the demo's equalized-odds gap by more than 3 examples"):
        assert_demo_disparity_found(binary_report(before=0.12, after=0.095), "pytorch-tabular", mitigation=True)


def test_readme_demo_table_is_rendered_from_the_stored_report() -> None:
    spec = importlib.util.spec_from_file_location("demo_variants", REPO_ROOT / "bench/demo_variants.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    report = json.loads(bench.REPORT.read_text())
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(re.escape(bench.TABLE_START) + r"\n(.*?)\n" + re.escape(bench.TABLE_END), readme, re.DOTALL)
    assert block, "README.md lost its demo table markers"
    assert block.group(1) == bench.readme_table(report), "run: python bench/demo_variants.py --readme"
    assert set(report["variants"]) == set(bench.VARIANTS)
    assert all(len(entry["seeds"]) >= 5 for entry in report["variants"].values())
