"""Start-up time of a generated project's training command: ``--help`` and a config error.

What it measures
    For each variant the template in this checkout is rendered with the default answers.
    Then, in fresh processes, it times (wall clock, interpreter start-up included):

    * ``python -m <package>.training --help``;
    * ``python -m <package>.training trainer.max_epoch=5`` (a mistyped override: Hydra
      refuses it, exit status 1);
    * ``python -c "import torch"``, the cost both avoid, for scale.

    Each command runs ``--repeats`` times (after one untimed run that warms the file cache);
    the report keeps every sample, the median and the spread (min-max). The target is a
    median under 1 s for both training commands. The README table is rendered from the
    stored report (``bench/reports/startup.json``) by ``--readme`` and checked against it by
    ``tests/test_readme.py``. Run it on an otherwise idle machine.

How to run
    python bench/startup.py                  # measure, store the report, render the README table
    python bench/startup.py --readme         # only re-render the README table

Exit status 1 when a command fails unexpectedly or a median misses the target.
"""

from __future__ import annotations

import argparse
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

from bench.readme_block import publish  # noqa: E402

REPORT = REPO_ROOT / "bench" / "reports" / "startup.json"
README = REPO_ROOT / "README.md"
TABLE_START, TABLE_END = "<!-- startup-table:start -->", "<!-- startup-table:end -->"
TARGET_S = 1.0
PACKAGE = "my_ml_project"
VARIANTS: dict[str, dict[str, str]] = {
    "pytorch-tabular": {"framework": "pytorch", "modality": "tabular"},
    "huggingface-text": {"framework": "huggingface", "modality": "text"},
}
# name -> (arguments after the interpreter, expected exit status); only the training ones have a target.
COMMANDS: dict[str, tuple[list[str], int]] = {
    "training --help": (["-m", f"{PACKAGE}.training", "--help"], 0),
    "training, mistyped override": (["-m", f"{PACKAGE}.training", "trainer.max_epoch=5"], 1),
    "import torch (for scale)": (["-c", "import torch"], 0),
}


def render(answers: dict[str, str], destination: Path) -> Path:
    import copier

    copier.run_copy(str(REPO_ROOT), destination, data=answers, defaults=True, quiet=True, unsafe=False)
    return destination


def time_command(project: Path, arguments: list[str], expected: int, repeats: int) -> dict[str, Any]:
    """Wall seconds of ``repeats`` fresh runs of ``python <arguments>`` in ``project``."""
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "HF_HUB_OFFLINE": "1"}
    samples = []
    for attempt in range(repeats + 1):
        started = time.perf_counter()
        result = subprocess.run([sys.executable, *arguments], cwd=project, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if result.returncode != expected:
            raise RuntimeError(f"python {' '.join(arguments)} exited {result.returncode}:\n{result.stderr[-2000:]}")
        if attempt:  # the first run only warms the file cache
            samples.append(round(elapsed, 3))
    return {"samples_s": samples, "median_s": statistics.median(samples), "min_s": min(samples), "max_s": max(samples)}


def measure(repeats: int) -> dict[str, Any]:
    report: dict[str, Any] = {"variants": {}, "target_s": TARGET_S, "repeats": repeats}
    for variant, answers in VARIANTS.items():
        with tempfile.TemporaryDirectory(prefix=f"startup-{variant}-") as folder:
            project = render(answers, Path(folder) / "project")
            timings = {}
            for name, (arguments, expected) in COMMANDS.items():
                timings[name] = time_command(project, arguments, expected, repeats)
                print(f"{variant:18s} {name:30s} median {timings[name]['median_s']:.2f} s", flush=True)
        report["variants"][variant] = timings
    report["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()}
    report["command"] = "python bench/startup.py " + " ".join(sys.argv[1:])
    return report


def readme_table(report: dict[str, Any]) -> str:
    names = list(COMMANDS)
    lines = ["| variant | " + " | ".join(f"`{name}`" for name in names) + " |", "|---" * (len(names) + 1) + "|"]
    for variant, timings in report["variants"].items():
        cells = [f"{t['median_s']:.2f} s ({t['min_s']:.2f}-{t['max_s']:.2f})" for t in (timings[n] for n in names)]
        lines.append(f"| `{variant}` | " + " | ".join(cells) + " |")
    machine = report["machine"]
    lines += [
        "",
        f"Median of {report['repeats']} fresh processes (min-max); target: training commands under "
        f"{report['target_s']:.0f} s. {machine['cpus']} CPUs, Python {machine['python']} "
        f"(`{report['command'].strip()}`).",
    ]
    return "\n".join(lines)


def failures(report: dict[str, Any]) -> list[str]:
    return [
        f"{variant}: {name} took {timing['median_s']} s (target {report['target_s']} s)"
        for variant, timings in report["variants"].items()
        for name, timing in timings.items()
        if name.startswith("training") and timing["median_s"] > report["target_s"]
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--readme", action="store_true", help="only re-render README.md's table from the report")
    args = parser.parse_args()
    report = None if args.readme else measure(args.repeats)
    return publish(REPORT, report, (TABLE_START, TABLE_END), readme_table, failures)


if __name__ == "__main__":
    sys.exit(main())
