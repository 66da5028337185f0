"""Time both test tiers and report them in the README: ``python -m <package>.documents.tier_times``.

``make test-times`` runs ``make test`` (the fast tier) and then ``make test-all`` (every test,
end-to-end runs included; it also writes the JUnit XML the readiness gate reads), measures
each one's wall time as a developer sees it, writes ``artifacts/test-times.json`` and
rewrites the README's ``test-times`` block (between ``<!-- measured:test-times:start -->``
and ``<!-- measured:test-times:end -->``; the rest of the README is the owners'). It exits 1
when a tier fails, after writing both, so a red tier is reported rather than hidden.
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..core.atomic import write_text_atomically
from ..core.config import PROJECT_ROOT
from ..core.errors import ProjectError, exit_on_user_error
from ..core.markers import find_blocks, replace_blocks

BLOCK = "test-times"
# (tier, the make target that runs it): the fast tier first, as a developer runs them.
TIERS = (("fast", "test"), ("full", "test-all"))
OUTCOME = re.compile(r"(\d+) (passed|failed|errors?|skipped|deselected|xfailed|xpassed)\b")


@dataclass(frozen=True)
class TierTime:
    """One tier's run: its command, wall time, exit status and pytest's counts."""

    tier: str
    command: str
    wall_s: float
    returncode: int
    counts: dict[str, int]


def pytest_counts(output: str) -> dict[str, int]:
    """The counts of pytest's last summary line (``12 passed, 3 deselected in 4.1s``)."""
    summary = next((line for line in reversed(output.splitlines()) if OUTCOME.search(line)), "")
    counts = {"error" if kind.startswith("error") else kind: int(n) for n, kind in OUTCOME.findall(summary)}
    return counts


def run_tier(tier: str, target: str, python: str) -> TierTime:
    """Run ``make <target>`` from the project root, echoing its output, and time it."""
    command = ["make", target, f"PYTHON={python}"]
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        sys.stdout.write(line)
        lines.append(line)
    returncode = process.wait()
    wall_s = round(time.monotonic() - started, 1)
    return TierTime(tier, f"make {target}", wall_s, returncode, pytest_counts("".join(lines)))


def format_wall(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{seconds:.1f} s"


def readme_block(times: Sequence[TierTime], machine: dict[str, object]) -> str:
    """The README's table of both tiers, with the machine they ran on."""
    rows = ["| tier | command | tests | result | wall time |", "|---|---|---|---|---|"]
    for entry in times:
        tests = sum(entry.counts.get(kind, 0) for kind in ("passed", "failed", "error", "skipped"))
        result = "passed" if entry.returncode == 0 else f"FAILED (exit {entry.returncode})"
        rows.append(
            f"| {entry.tier} | `{entry.command}` | {tests} | {result} | {format_wall(entry.wall_s)} |"
        )
    rows += [
        "",
        f"Measured by `make test-times` on {machine['measured_at'][:10]}: {machine['cpus']} CPUs, "
        f"Python {machine['python']}, {machine['platform']}.",
    ]
    return "\n".join(rows)


def update_readme(readme: Path, block: str) -> bool:
    """Rewrite the README's ``test-times`` block, keeping every other block and line as it is."""
    text = readme.read_text(encoding="utf-8")
    blocks = find_blocks(text, str(readme))
    if not any(found.name == BLOCK for found in blocks):
        raise ProjectError(
            f"{readme} has no test-times block: add `<!-- measured:{BLOCK}:start -->` and "
            f"`<!-- measured:{BLOCK}:end -->`, each on its own line, where the table belongs."
        )
    contents = {found.name: text[found.content_start : found.content_end] for found in blocks}
    updated = replace_blocks(text, {**contents, BLOCK: block}, str(readme))
    if updated != text:
        write_text_atomically(readme, updated)
    return updated != text


def measure(output: Path, readme: Path, python: str) -> list[TierTime]:
    """Run both tiers, then write ``output`` and the README block; the tiers' results."""
    times = [run_tier(tier, target, python) for tier, target in TIERS]
    machine = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    report = {"tiers": {entry.tier: asdict(entry) for entry in times}, "machine": machine}
    output.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(output, json.dumps(report, indent=2) + "\n")
    update_readme(readme, readme_block(times, machine))
    return times


def main(argv: Sequence[str] | None = None) -> None:
    artifacts = Path(os.environ.get("ARTIFACTS_DIR", "artifacts"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=PROJECT_ROOT / artifacts / "test-times.json")
    parser.add_argument("--readme", type=Path, default=PROJECT_ROOT / "README.md")
    args = parser.parse_args(argv)
    times = measure(args.output, args.readme, sys.executable)
    for entry in times:
        print(f"{entry.tier} tier ({entry.command}): {format_wall(entry.wall_s)}, exit {entry.returncode}")
    print(f"wrote {args.output} and the test-times block of {args.readme}")
    failed = [entry.command for entry in times if entry.returncode != 0]
    if failed:
        raise ProjectError(
            f"{' and '.join(failed)} failed (times recorded): fix the failing tests and run again."
        )


if __name__ == "__main__":
    exit_on_user_error(main)
