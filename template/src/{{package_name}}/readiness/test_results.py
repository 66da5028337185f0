"""The tests line of the gate: the result file ``make test-all`` writes (JUnit XML).

Kept apart from the measured checks so that the project's ``tests/conftest.py``, which
records these properties, imports it without importing torch.
"""

from pathlib import Path
from xml.etree import ElementTree

from ..core.fingerprints import code_sha256
from .checklist import Check, not_measured

# The properties ``make test-all`` records in its JUnit XML (see tests/conftest.py): the code
# it tested, and whether the whole suite ran (the fast tier, ``make test``, is only a part).
CODE_PROPERTY = "code_sha256"
CODE_FOLDERS = ("src", "tests")
TIER_PROPERTY = "tests_tier"
FULL_TIER, PARTIAL_TIER = "full", "partial"


def recorded_property(report_path: Path, name: str) -> str | None:
    """A property the project's conftest recorded in the JUnit XML (``code_sha256``, ``tests_tier``)."""
    found = ElementTree.parse(report_path).getroot().find(f".//property[@name='{name}']")
    return found.get("value") if found is not None else None


def tested_code(report_path: Path) -> str | None:
    """The code hash ``make test-all`` recorded in its JUnit XML (a ``code_sha256`` property)."""
    return recorded_property(report_path, CODE_PROPERTY)


def project_tests_check(report_path: Path, code_folders: list[Path]) -> Check:
    """The project's whole test suite passed on the current code, as recorded by ``make test-all``
    (JUnit XML).

    ``make test-all`` records a hash of the code and the tier (``tests/conftest.py``); a result
    of other code fails, naming the command to run again, and so does a result of part of the
    suite (the fast tier of ``make test-all``, or chosen tests), since the end-to-end tests did not
    run. An empty run counts as a failure, since nothing was shown to work.
    """
    name = "tests"
    target = "the project's tests pass on the current code (make test-all)"
    if not report_path.is_file():
        return not_measured(name, target, "run `make test-all`")
    suites = ElementTree.parse(report_path).getroot().iter("testsuite")
    counts = {key: 0 for key in ("tests", "failures", "errors", "skipped")}
    for suite in suites:
        for key in counts:
            counts[key] += int(suite.get(key, 0))
    measured = ", ".join(f"{value} {key}" for key, value in counts.items())
    if counts["tests"] == 0:
        return Check(
            name, "fail", target, "no tests ran", "run `make test-all` with the project's tests in place"
        )
    recorded = tested_code(report_path)
    if recorded is None:
        return Check(
            name,
            "fail",
            target,
            "result of unknown code",
            f"{report_path} does not name the code it tested (written without the project's "
            "tests/conftest.py, or by an older version): run `make test-all` again",
        )
    if recorded != code_sha256(code_folders):
        folders = " and ".join(f"{folder.name}/" for folder in code_folders)
        return Check(
            name,
            "fail",
            target,
            "stale result (other code)",
            f"{report_path} tested other code than the current {folders}: run `make test-all` again",
        )
    tier = recorded_property(report_path, TIER_PROPERTY)
    if tier != FULL_TIER:
        return Check(
            name,
            "fail",
            target,
            f"{measured}, {tier or 'unrecorded'} tier",
            f"{report_path} is the result of part of the suite (`make test` runs the fast tier only): "
            "run `make test-all`",
        )
    if counts["failures"] or counts["errors"]:
        return Check(name, "fail", target, measured, "fix the failing tests (`make test-all` lists them)")
    return Check(name, "pass", target, measured)
