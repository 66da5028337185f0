"""Rewrite a marked block of a README from a stored report (the benchmarks' tables).

A table in a README comes from a report that a command regenerates, never typed by hand:
each benchmark keeps its table between two HTML comments and rewrites only that block.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[1] / "README.md"


def replace_block(readme: Path, start: str, end: str, body: str) -> None:
    """Put ``body`` between the ``start`` and ``end`` markers of ``readme``; exit naming the
    markers when the README has no such block (someone removed it)."""
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{readme.name} has no {start} ... {end} block")
    readme.write_text(pattern.sub(lambda _: f"{start}\n{body}\n{end}", text), encoding="utf-8")


def publish(
    report_path: Path,
    report: dict[str, Any] | None,
    markers: tuple[str, str],
    table: Callable[[dict[str, Any]], str],
    failures: Callable[[dict[str, Any]], list[str]],
) -> int:
    """Store ``report`` (``None``: only re-render), render the README block between ``markers``
    from the stored report, print what it shows failing; returns the exit status (1 on failures)."""
    if report is not None:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {report_path.relative_to(README.parent)}")
    stored = json.loads(report_path.read_text(encoding="utf-8"))
    replace_block(README, *markers, table(stored))
    print(f"rendered the table in {README.name} from {report_path.relative_to(README.parent)}")
    found = failures(stored)
    for failure in found:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if found else 0
