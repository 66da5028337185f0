"""Wall-clock time of ``mlscaffold new DEST --defaults``, the default project's generation.

What it measures
    Runs ``python -m mlscaffold new <fresh temp dir>/proj --defaults`` ``--runs`` times
    (default 5) as a subprocess with the current interpreter, each into a new temporary
    directory that is removed afterwards. Each run's time covers the whole command:
    interpreter start-up, imports, Copier's template copy and rendering. Prints every
    run's time and the median (target: under 3 s).

How to run
    /work/venv/bin/python bench/generate_time.py [--runs 5]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 3.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="number of generations to time (default 5)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def time_generation() -> float:
    """Generate the default project into a fresh temporary directory; return wall seconds."""
    with tempfile.TemporaryDirectory(prefix="mlscaffold-gen-") as tmp:
        destination = Path(tmp) / "proj"
        command = [sys.executable, "-m", "mlscaffold", "new", str(destination), "--defaults"]
        start = time.perf_counter()
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        if completed.returncode != 0:
            sys.exit(f"{' '.join(command)} failed ({completed.returncode}):\n{completed.stdout}{completed.stderr}")
        if not (destination / "pyproject.toml").is_file():
            sys.exit(f"{' '.join(command)} exited 0 but wrote no pyproject.toml into {destination}")
        return elapsed


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    print(
        f"config: runs={args.runs} python={sys.version.split()[0]} "
        f"mlscaffold={package_version('mlscaffold')} copier={package_version('copier')}"
    )
    times: list[float] = []
    for index in range(args.runs):
        times.append(time_generation())
        print(f"run {index + 1}/{args.runs}: {times[-1]:.3f} s")
    median = statistics.median(times)
    verdict = "PASS" if median < TARGET_SECONDS else "FAIL"
    print(f"median: {median:.3f} s (min {min(times):.3f} s, max {max(times):.3f} s)")
    print(f"target < {TARGET_SECONDS:.1f} s: {verdict}")


if __name__ == "__main__":
    main()
