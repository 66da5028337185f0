"""The gate's checklist: a check's line, a stage's report, waivers, and the printed table.

A check's status decides the release: ``pass``, ``waived``, ``not applicable`` and ``not requested``
let it through; ``fail`` and ``not measured`` block it (see ``__main__.py``).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..core.console import paint
from ..core.errors import ProjectError
from ..core.waivers import WHERE as WAIVERS_WHERE

# The statuses that let a release through; any other (fail, not measured) blocks it.
RELEASABLE = ("pass", "waived", "not applicable", "not requested")
STALE = "stale report (other weights)"


@dataclass(frozen=True)
class Check:
    """One line of the checklist."""

    name: str
    status: str  # pass, fail, not measured, waived, not applicable, not requested
    target: str
    measured: str
    how_to_fix: str = ""
    waiver: str = ""  # the owners' reason, when the check is waived


@dataclass(frozen=True)
class Report:
    """A stage's JSON report, and why it does not describe the current weights ("" when it does)."""

    path: Path
    data: dict[str, Any]
    stale: str = ""


def not_measured(name: str, target: str, how: str, measured: str = "—") -> Check:
    """A check that applies but has no measurement: it blocks the release unless waived."""
    return Check(name, "not measured", target, measured, f"{how}, or waive '{name}' ({WAIVERS_WHERE})")


def apply_waivers(checks: list[Check], waivers: Mapping[str, str]) -> tuple[list[Check], list[str]]:
    """The checks with the owners' waivers applied, and the waivers that had nothing to waive.

    A waiver turns a ``not measured`` check into ``waived``; a check that was measured (or
    whose report is stale) keeps its status, and its waiver is reported as unused so the
    owners can remove it. Waiving a check that does not apply to the project is refused.
    """
    by_name = {check.name: check for check in checks}
    for name in waivers:
        check = by_name.get(name)
        if check is not None and check.status in ("not applicable", "not requested"):
            raise ProjectError(
                f"{WAIVERS_WHERE}: '{name}' is waived, but it does not apply to this project "
                f"({check.target}); remove the waiver."
            )
    applied = [
        replace(check, status="waived", waiver=waivers[check.name])
        if check.status == "not measured" and check.name in waivers
        else check
        for check in checks
    ]
    unused = [name for name in waivers if name not in by_name or by_name[name].status != "not measured"]
    return applied, unused


def blocking(checks: list[Check]) -> list[Check]:
    """The checks that stop the release: failed, or not measured and not waived."""
    return [check for check in checks if check.status not in RELEASABLE]


def format_table(checks: list[Check], unused_waivers: Sequence[str] = ()) -> str:
    """The printed checklist; in a terminal each status in its colour (``core/console.py``)."""
    rows = [("check", "status", "target", "measured")] + [
        (c.name, c.status, c.target, c.measured) for c in checks
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    for line, check in enumerate(checks, start=1):  # coloured once padded, so the columns still line up
        cells = [cell.ljust(width) for cell, width in zip(rows[line], widths, strict=True)]
        cells[1] = paint(cells[1], check.status)
        lines[line] = "  ".join(cells)
    lines.insert(1, "  ".join("-" * width for width in widths))
    fixes = [f"  - {c.name}: {c.how_to_fix}" for c in blocking(checks) if c.how_to_fix]
    waived = [f"  - {c.name}: {c.waiver}" for c in checks if c.status == "waived"]
    unused = [
        f"  - {name}: it has a measurement, so the waiver does not apply; remove it once it is not needed"
        for name in unused_waivers
    ]
    return "\n".join(
        lines
        + (["to fix:", *fixes] if fixes else [])
        + ([f"waived by the owners ({WAIVERS_WHERE}):", *waived] if waived else [])
        + (["unused waivers:", *unused] if unused else [])
    )
