"""``make gpu-check``: train the demo a few epochs with the speed paths off, then on, and compare.

Run ``python -m <package>.training.gpu_check [--epochs N] [override ...]``. Each mode is a
training run of its own process (``python -m <package>.training``), as ``make train`` runs
it, in a temporary artifacts folder with tracking off, so the check leaves no run behind:

* ``off``: ``trainer.mixed_precision=no`` and ``trainer.speed.enabled=false``;
* ``on``: the configured mixed precision and every speed path, ``torch.compile`` included.

Each run's ``Throughput`` callback (training/throughput.py) reports samples/s (the median over
the epochs after the first, which pays for warm-up and compilation) and peak GPU memory. On a
machine without a GPU both modes train the same way, and the table says so.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

PACKAGE = str(__package__).split(".")[0]  # run as __main__, so not __name__
MODES = {
    "off": ("trainer.mixed_precision=no", "trainer.speed.enabled=false"),
    "on": ("trainer.speed.enabled=true", "trainer.speed.compile=true"),
}


def run_mode(mode: str, epochs: int, overrides: list[str], folder: Path) -> dict[str, float]:
    """Train in a child process with ``mode``'s settings; its throughput report."""
    report = folder / f"{mode}.json"
    command = [
        sys.executable, "-m", f"{PACKAGE}.training", f"trainer.max_epochs={epochs}", "~tracking",
        "trainer.early_stopping_patience=null", f"callbacks.throughput.report={report}",
        *MODES[mode], *overrides,
    ]  # fmt: skip
    environment = {**os.environ, "ARTIFACTS_DIR": str(folder / mode)}
    subprocess.run([sys.executable, "-m", f"{PACKAGE}.data.demo", *overrides], env=environment, check=True)
    subprocess.run(command, env=environment, check=True)
    return dict(json.loads(report.read_text(encoding="utf-8")))


def format_table(results: dict[str, dict[str, float]], device: str) -> str:
    """The comparison as a table a terminal shows: one row per mode, then the speed-up."""
    lines = [f"device: {device}", f"{'mode':<6}{'samples/s':>12}{'peak MiB':>12}"]
    for mode, figures in results.items():
        peak = f"{figures['peak_memory_mib']:.0f}" if device != "cpu" else "-"
        lines.append(f"{mode:<6}{figures['samples_per_s']:>12.0f}{peak:>12}")
    speedup = results["on"]["samples_per_s"] / results["off"]["samples_per_s"]
    lines.append(f"speed-up with the paths on: {speedup:.2f}x")
    if device == "cpu":
        lines.append("no CUDA GPU is visible: both modes trained on the CPU, where the paths are skipped")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per mode (the first is warm-up)")
    parser.add_argument(
        "overrides", nargs="*", help="Hydra overrides for both runs, e.g. data.batch_size=256"
    )
    arguments = parser.parse_args(argv)
    if arguments.epochs < 2:
        parser.error("--epochs must be at least 2: the first epoch is warm-up and not measured")
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as folder:
        results = {
            mode: run_mode(mode, arguments.epochs, arguments.overrides, Path(folder)) for mode in MODES
        }
    print(format_table(results, device))
    return 0


if __name__ == "__main__":
    sys.exit(main())
