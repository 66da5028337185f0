"""Wall time of each variant's two test tiers: ``make test`` (fast) and ``make test-all`` (full).

What it measures
    For each variant (framework x modality) the template in this checkout is rendered with
    the default answers, then the project's own ``make test-times`` runs in it: it runs
    ``make test`` (the fast tier, ``pytest -m "not e2e"``) and ``make test-all`` (every test),
    times each as a developer sees it (make, interpreter start-up and collection included),
    writes ``artifacts/test-times.json`` and the project's README table. With ``--tiers fast``
    only ``make test`` runs, timed here the same way, and the full tier keeps its last figures.

    The report (``bench/reports/test_tiers.json``) keeps each variant's figures and the
    machine; the README's test tier table is rendered from it by ``--readme`` and checked
    against it by ``tests/test_readme.py`` (which also holds the fast tier to its budget), so
    the figures there are never typed by hand. Run it on an otherwise idle machine: other
    processes on the same cores inflate wall times.

How to run
    python bench/test_tiers.py                             # all variants, both tiers, then --readme
    python bench/test_tiers.py --tiers fast                # the fast tier of every variant
    python bench/test_tiers.py --variants pytorch-image
    python bench/test_tiers.py --readme                    # only re-render README.md's table

Exit status 1 when a tier fails or the fast tier takes longer than its budget.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench.readme_block import replace_block  # noqa: E402

REPORT = REPO_ROOT / "bench" / "reports" / "test_tiers.json"
README = REPO_ROOT / "README.md"
TABLE_START, TABLE_END = "<!-- test-tiers-table:start -->", "<!-- test-tiers-table:end -->"
FAST_BUDGET_S = 60.0  # the inner-loop budget for `make test` on a two-core machine
VARIANTS: dict[str, dict[str, str]] = {
    "pytorch-tabular": {"framework": "pytorch", "modality": "tabular"},
    "pytorch-image": {"framework": "pytorch", "modality": "image"},
    "pytorch-text": {"framework": "pytorch", "modality": "text"},
    "huggingface-text": {"framework": "huggingface", "modality": "text"},
    "huggingface-image": {"framework": "huggingface", "modality": "image"},
}
TIER_TARGETS = {"fast": "test", "full": "test-all"}
OUTCOME = re.compile(r"(\d+) (passed|failed|errors?|skipped|deselected)\b")


def render(variant: str, destination: Path) -> Path:
    """The variant rendered from this checkout with every other answer at its default."""
    import copier

    copier.run_copy(str(REPO_ROOT), destination, data=VARIANTS[variant], defaults=True, quiet=True, unsafe=False)
    return destination


def project_env(project: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(project / "src"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def make(project: Path, target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", target, f"PYTHON={sys.executable}"],
        cwd=project,
        env=project_env(project),
        capture_output=True,
        text=True,
        timeout=3600,
    )


def counts(output: str) -> dict[str, int]:
    """pytest's summary counts (``12 passed, 3 deselected in 4.1s``)."""
    summary = next((line for line in reversed(output.splitlines()) if OUTCOME.search(line)), "")
    return {"error" if kind.startswith("error") else kind: int(n) for n, kind in OUTCOME.findall(summary)}


def time_fast_tier(project: Path) -> dict[str, Any]:
    """``make test`` timed as the project's ``make test-times`` times it."""
    started = time.monotonic()
    result = make(project, TIER_TARGETS["fast"])
    wall_s = round(time.monotonic() - started, 1)
    return {
        "tier": "fast",
        "command": "make test",
        "wall_s": wall_s,
        "returncode": result.returncode,
        "counts": counts(result.stdout),
    }


def measure_variant(variant: str, tiers: list[str]) -> dict[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix=f"tiers-{variant}-") as folder:
        project = render(variant, Path(folder) / "project")
        if tiers == ["fast"]:
            return {"fast": time_fast_tier(project)}
        result = make(project, "test-times")
        written = project / "artifacts" / "test-times.json"
        if not written.is_file():
            raise RuntimeError(f"make test-times wrote no report in {variant}:\n{result.stdout[-3000:]}{result.stderr}")
        return json.loads(written.read_text())["tiers"]


def measure(variants: list[str], tiers: list[str]) -> dict[str, Any]:
    report = json.loads(REPORT.read_text()) if REPORT.is_file() else {"variants": {}}
    for variant in variants:
        measured = measure_variant(variant, tiers)
        entry = report["variants"].setdefault(variant, {"answers": VARIANTS[variant], "tiers": {}})
        entry["tiers"].update(measured)
        for tier in measured.values():
            print(f"{variant:18s} {tier['command']:14s} {tier['wall_s']:7.1f} s  exit {tier['returncode']}", flush=True)
    report["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()}
    report["command"] = "python bench/test_tiers.py " + " ".join(sys.argv[1:])
    report["fast_budget_s"] = FAST_BUDGET_S
    return report


def cell(tier: dict[str, Any] | None) -> str:
    if tier is None:
        return "not measured"
    tests = sum(tier["counts"].get(kind, 0) for kind in ("passed", "failed", "error", "skipped"))
    result = "" if tier["returncode"] == 0 else f", FAILED (exit {tier['returncode']})"
    return f"{tier['wall_s']:.0f} s ({tests} tests{result})"


def readme_table(report: dict[str, Any]) -> str:
    """The README's table: each variant's wall time and test count per tier."""
    lines = [
        f"| variant | fast tier: `make test` (budget {report['fast_budget_s']:.0f} s) | full tier: `make test-all` |",
        "|---|---|---|",
    ]
    for variant in [name for name in VARIANTS if name in report["variants"]]:
        tiers = report["variants"][variant]["tiers"]
        lines.append(f"| `{variant}` | {cell(tiers.get('fast'))} | {cell(tiers.get('full'))} |")
    machine = report["machine"]
    lines += ["", f"Measured on {machine['cpus']} CPUs, Python {machine['python']} (`{report['command'].strip()}`)."]
    return "\n".join(lines)


def write_readme_table(report: dict[str, Any]) -> None:
    replace_block(README, TABLE_START, TABLE_END, readme_table(report))


def failures(report: dict[str, Any]) -> list[str]:
    """What the report shows failing: a red tier, or a fast tier over its budget."""
    found = []
    for variant, entry in report["variants"].items():
        for name, tier in entry["tiers"].items():
            if tier["returncode"] != 0:
                found.append(f"{variant}: {tier['command']} failed")
            if name == "fast" and tier["wall_s"] > report["fast_budget_s"]:
                found.append(f"{variant}: make test took {tier['wall_s']} s (budget {report['fast_budget_s']} s)")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--tiers", choices=["fast", "both"], default="both")
    parser.add_argument("--readme", action="store_true", help="only re-render README.md's table from the report")
    args = parser.parse_args()
    if not args.readme:
        report = measure(args.variants, ["fast"] if args.tiers == "fast" else ["fast", "full"])
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {REPORT.relative_to(REPO_ROOT)}")
    report = json.loads(REPORT.read_text())
    write_readme_table(report)
    print(f"rendered the table in {README.name} from {REPORT.relative_to(REPO_ROOT)}")
    for failure in failures(report):
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures(report) else 0


if __name__ == "__main__":
    raise SystemExit(main())
