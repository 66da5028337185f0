"""Rewrite a marked block of a README from a stored report (the benchmarks' tables).

A table in a README comes from a report that a command regenerates, never typed by hand:
each benchmark keeps its table between two HTML comments and rewrites only that block.
"""

from __future__ import annotations

import re
from pathlib import Path


def replace_block(readme: Path, start: str, end: str, body: str) -> None:
    """Put ``body`` between the ``start`` and ``end`` markers of ``readme``; exit naming the
    markers when the README has no such block (someone removed it)."""
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{readme.name} has no {start} ... {end} block")
    readme.write_text(pattern.sub(lambda _: f"{start}\n{body}\n{end}", text), encoding="utf-8")
