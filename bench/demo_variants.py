"""Every variant's demo over several seeds: test accuracy and the demo disparity's margin.

What it measures
    For each variant (framework x modality) the template in this checkout is rendered with
    the default answers, then for every seed the project's own commands run in a fresh
    process: ``python -m my_ml_project.data.demo seed=S`` (the demo data),
    ``python -m my_ml_project.training seed=S``, ``python -m my_ml_project.evaluation``
    and ``python -m my_ml_project.fairness``
    (with ``fairness.mitigation=threshold_optimizer`` where the task is binary), each seed
    in its own artifacts folder (``ARTIFACTS_DIR``), so seeds change both the generated demo
    data and the training. From ``metrics.json`` and ``fairness.json`` it records the test
    accuracy and the demo disparity as ``tests/demo_disparity.py`` defines it: the measured
    gap, the margin it must clear (three examples of the smallest group) and, for binary
    tasks, the gap after mitigation, which must be narrower than before by more than three
    examples of the smallest group and class.

    The report (``bench/reports/demo_variants.json``) keeps every seed's figures; the
    README's demo accuracy table is rendered from it by ``--readme`` and checked against it
    by ``tests/test_readme.py``, so the figures there are never typed by hand.

How to run
    python bench/demo_variants.py                       # all variants, five seeds, then --readme
    python bench/demo_variants.py --variants pytorch-image --seeds 42 7
    python bench/demo_variants.py --readme              # only re-render README.md's table

Exit status 1 when any seed's disparity is not found (or mitigation does not narrow it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench.readme_block import replace_block  # noqa: E402
from tests.demo_disparity import DEMO_DISPARITIES, EXAMPLES, evaluate_demo_disparity  # noqa: E402

REPORT = REPO_ROOT / "bench" / "reports" / "demo_variants.json"
README = REPO_ROOT / "README.md"
TABLE_START, TABLE_END = "<!-- demo-variants-table:start -->", "<!-- demo-variants-table:end -->"
SEEDS = (42, 7, 123, 2024, 31337)
PACKAGE = "my_ml_project"
VARIANTS: dict[str, dict[str, str]] = {
    "pytorch-tabular": {"framework": "pytorch", "modality": "tabular"},
    "pytorch-image": {"framework": "pytorch", "modality": "image"},
    "pytorch-text": {"framework": "pytorch", "modality": "text"},
    "huggingface-text": {"framework": "huggingface", "modality": "text"},
    "huggingface-image": {"framework": "huggingface", "modality": "image"},
}
CHANCE = {"tabular": 0.5, "image": 1 / 3, "text": 0.5}


def render(variant: str, destination: Path) -> Path:
    """The variant rendered from this checkout with every other answer at its default."""
    import copier

    copier.run_copy(
        str(REPO_ROOT),
        destination,
        data={**VARIANTS[variant], "quantization": False},
        defaults=True,
        quiet=True,
        unsafe=False,
    )
    return destination


def stage(project: Path, artifacts: Path, *args: str) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(project / "src"),
        "ARTIFACTS_DIR": str(artifacts),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    result = subprocess.run(
        [sys.executable, "-m", *args], cwd=project, env=env, capture_output=True, text=True, timeout=3600
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed in {project}:\n{result.stderr[-3000:]}")


def run_seed(variant: str, project: Path, seed: int) -> dict[str, Any]:
    artifacts = project / "artifacts" / f"seed-{seed}"
    stage(project, artifacts, f"{PACKAGE}.data.demo", f"seed={seed}")  # what `make train` runs first
    started = time.perf_counter()
    stage(project, artifacts, f"{PACKAGE}.training", f"seed={seed}")
    train_seconds = time.perf_counter() - started
    stage(project, artifacts, f"{PACKAGE}.evaluation")  # metrics.json: the test split
    fairness = [f"{PACKAGE}.fairness"]
    if DEMO_DISPARITIES[variant].mitigated:
        fairness.append("fairness.mitigation=threshold_optimizer")
    stage(project, artifacts, *fairness)
    # One training run per seed's artifacts folder: artifacts/runs/<name>/ (the project's core/runs.py).
    [run_dir] = [record.parent for record in (artifacts / "runs").rglob("run.json")]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    report = json.loads((run_dir / "fairness.json").read_text())
    result = evaluate_demo_disparity(report, variant)
    feature = DEMO_DISPARITIES[variant].feature
    return {
        "seed": seed,
        "accuracy": metrics["metrics"]["accuracy"],
        "train_seconds": round(train_seconds, 1),
        "gap": result.gap,
        "margin": result.margin,
        "gap_in_examples_of_smallest_group": result.gap / result.margin * EXAMPLES,
        "worse_group_is_worse": result.worse_group_is_worse,
        "found": result.found,
        "equalized_odds_before_mitigation": result.gap_for_mitigation,
        "equalized_odds_after_mitigation": result.mitigated_gap,
        "mitigation_margin": result.mitigation_margin,
        "mitigation_narrows_it": result.mitigation_narrows_it,
        "group_counts": {name: group["count"] for name, group in report["features"][feature]["groups"].items()},
    }


def measure(variants: list[str], seeds: list[int]) -> dict[str, Any]:
    report = json.loads(REPORT.read_text()) if REPORT.is_file() else {"variants": {}}
    for variant in variants:
        with tempfile.TemporaryDirectory(prefix=f"demo-{variant}-") as folder:
            project = render(variant, Path(folder) / "project")
            rows = []
            for seed in seeds:
                row = run_seed(variant, project, seed)
                rows.append(row)
                print(format_row(variant, row), flush=True)
        expected = DEMO_DISPARITIES[variant]
        report["variants"][variant] = {
            "answers": VARIANTS[variant],
            "disparity": {"feature": expected.feature, "metric": expected.metric, "margin_examples": EXAMPLES},
            "seeds": rows,
        }
    report["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()}
    report["command"] = "python bench/demo_variants.py " + " ".join(sys.argv[1:])
    return report


def format_row(variant: str, row: dict[str, Any]) -> str:
    mitigation = ""
    if row["equalized_odds_after_mitigation"] is not None:
        mitigation = (
            f"  EO {row['equalized_odds_before_mitigation']:.3f} -> {row['equalized_odds_after_mitigation']:.3f}"
            f" ({'narrowed' if row['mitigation_narrows_it'] else 'NOT narrowed'} by > {row['mitigation_margin']:.3f})"
        )
    return (
        f"{variant:18s} seed {row['seed']:>5}: accuracy {row['accuracy']:.3f}  "
        f"gap {row['gap']:.3f} > margin {row['margin']:.3f}? {'yes' if row['found'] else 'NO'} "
        f"({row['gap_in_examples_of_smallest_group']:.1f} examples of the smallest group "
        f"{min(row['group_counts'].values())}){mitigation}  [{row['train_seconds']:.0f} s]"
    )


def readme_table(report: dict[str, Any]) -> str:
    """The README's table: accuracy and disparity margin per variant, over the seeds."""
    lines = [
        "| variant | seeds | demo test accuracy: median (min to max) | chance | disparity found "
        "(gap > 3 examples of the smallest group) | smallest gap, in examples | ThresholdOptimizer "
        "narrows the equalized-odds gap by > 3 examples |",
        "|---|---|---|---|---|---|---|",
    ]
    for variant in [name for name in VARIANTS if name in report["variants"]]:
        entry = report["variants"][variant]
        rows = entry["seeds"]
        narrowed = [row["mitigation_narrows_it"] for row in rows if row.get("mitigation_narrows_it") is not None]
        mitigation = f"{sum(narrowed)}/{len(narrowed)}" if narrowed else "not applicable (3 classes)"
        accuracies = [row["accuracy"] for row in rows]
        found = sum(row["found"] for row in rows)
        smallest = min(row["gap_in_examples_of_smallest_group"] for row in rows)
        disparity = entry["disparity"]
        lines.append(
            f"| `{variant}` | {len(rows)} | {statistics.median(accuracies):.3f} "
            f"({min(accuracies):.3f} to {max(accuracies):.3f}) | {CHANCE[entry['answers']['modality']]:.2f} | "
            f"{found}/{len(rows)} ({disparity['metric']} by `{disparity['feature']}`) | {smallest:.1f} | {mitigation} |"
        )
    return "\n".join(lines)


def write_readme_table(report: dict[str, Any]) -> None:
    replace_block(README, TABLE_START, TABLE_END, readme_table(report))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--readme", action="store_true", help="only re-render README.md's table from the report")
    args = parser.parse_args()
    if not args.readme:
        report = measure(args.variants, args.seeds)
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {REPORT.relative_to(REPO_ROOT)}")
    report = json.loads(REPORT.read_text())
    write_readme_table(report)
    print(f"rendered the table in {README.name} from {REPORT.relative_to(REPO_ROOT)}")
    failures = [
        (variant, row["seed"])
        for variant, entry in report["variants"].items()
        for row in entry["seeds"]
        if not row["found"] or row["mitigation_narrows_it"] is False
    ]
    for variant, seed in failures:
        print(f"FAILED: {variant} seed {seed}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
