"""Template craft: each condition in a template path is spelled one way, and the generated
tests pick their variant by file, as the sources do.

A condition written two ways (``modality == 'image' and framework == 'pytorch'`` here,
``framework == 'pytorch' and modality == 'image'`` there) hides that two files belong to
the same variant, so a search for one spelling misses the other. Clauses joined by ``and``
come in the order of the interview's questions (see ``copier.yml``).

A test file that holds every variant's code in ``{% if %}`` chains is hard to read in any
one of them: per-variant code lives in files chosen by their name's condition (for example
``tests/{% if modality == 'image' %}drift_inputs.py{% endif %}.jinja``).
"""

import re
from pathlib import Path

from .conftest import REPO_ROOT, load_copier_config

TEMPLATE_TESTS = REPO_ROOT / "template" / "tests"
# The longest branch of an {% if %} a generated test file may hold: a line or two that differ
# by variant (an import, a task's assertion) read fine in place; more is a variant's own code.
MAX_BRANCH_LINES = 5
# Test files whose long chains are still to be split by file. The list only shrinks: a file
# that no longer has a long chain must leave it (see the test below).
NOT_YET_SPLIT = {
    "test_model_card.py.jinja",
    "test_stages.py.jinja",
    "{% if fairness_checks %}test_fairness.py{% endif %}.jinja",
    "{% if framework == 'pytorch' and onnx_export %}test_export.py{% endif %}.jinja",
    "{% if modality == 'text' %}test_edge_cases.py{% endif %}.jinja",
}
BLOCK_TAG = re.compile(r"\{%-?\s*(?P<tag>if|elif|else|endif|for|endfor)\b")
CONDITION = re.compile(r"\{% if (?P<condition>[^%]*?) %\}")
NAME = re.compile(r"^\s*(?:not\s+)?(?P<name>[a-z_]+)")


def conditions_in_paths(template: Path) -> dict[str, set[str]]:
    """Every condition in the template's file and folder names, with the paths that use it."""
    found: dict[str, set[str]] = {}
    for path in template.rglob("*"):
        relative = path.relative_to(template).as_posix()
        for match in CONDITION.finditer(path.name):
            found.setdefault(match["condition"].strip(), set()).add(relative)
    return found


def spelling_problems(conditions: set[str], question_order: list[str]) -> list[str]:
    """Conditions whose ``and`` clauses are out of the interview's order, or that another
    condition spells differently (the same clauses in another order or spacing)."""
    problems = []
    by_clauses: dict[frozenset[str], set[str]] = {}
    for condition in sorted(conditions):
        clauses = [" ".join(clause.split()) for clause in condition.split(" and ")]
        by_clauses.setdefault(frozenset(clauses), set()).add(condition)
        names = [NAME.match(clause)["name"] for clause in clauses]
        positions = [question_order.index(name) if name in question_order else -1 for name in names]
        if positions != sorted(positions):
            problems.append(f"{condition!r}: clauses out of the interview's order ({', '.join(names)})")
    problems += [
        f"one condition spelled {len(spellings)} ways: {sorted(spellings)}"
        for spellings in by_clauses.values()
        if len(spellings) > 1
    ]
    return problems


def test_each_condition_in_a_template_path_is_spelled_one_way() -> None:
    question_order = [key for key in load_copier_config() if not key.startswith("_")]
    conditions = conditions_in_paths(REPO_ROOT / "template")
    assert conditions, "no conditional paths found: is the template folder where this test looks?"
    assert spelling_problems(set(conditions), question_order) == []


def test_the_spelling_check_fails_on_a_condition_written_two_ways() -> None:
    order = ["framework", "modality", "serving"]
    assert spelling_problems({"framework == 'pytorch' and modality == 'image'"}, order) == []
    problems = spelling_problems(
        {"modality == 'image' and framework == 'pytorch'", "framework == 'pytorch' and modality == 'image'"}, order
    )
    assert any("out of the interview's order" in problem for problem in problems)
    assert any("spelled 2 ways" in problem for problem in problems)


def long_branches(text: str, max_lines: int = MAX_BRANCH_LINES) -> list[str]:
    """The branches of ``{% if %}`` (and ``{% for %}``) blocks in ``text`` that span more than
    ``max_lines`` lines, as ``"line N: M lines"``.

    A branch runs from its ``if``/``elif``/``else`` tag to the next tag of the same block; its
    length is the number of lines strictly between the two (a one-line ``{% if %}...{% endif %}``
    spans none). A branch that holds a nested block counts the nested lines too.
    """
    problems = []
    open_branches: list[int] = []  # the line of each open block's current branch, innermost last
    for number, line in enumerate(text.splitlines(), start=1):
        for match in BLOCK_TAG.finditer(line):
            tag = match["tag"]
            if tag in ("if", "for"):
                open_branches.append(number)
                continue
            start = open_branches.pop()
            if number - start - 1 > max_lines:
                problems.append(f"line {start}: {number - start - 1} lines")
            if tag in ("elif", "else"):
                open_branches.append(number)
    assert not open_branches, f"unclosed blocks at lines {open_branches}"
    return problems


def test_generated_test_files_hold_no_long_per_variant_chains() -> None:
    """Per-variant test code goes in files chosen by their name's condition (as the sources):
    no branch of an ``{% if %}`` in a generated test file is longer than MAX_BRANCH_LINES."""
    files = {path.name: path for path in TEMPLATE_TESTS.iterdir() if path.is_file()}
    assert "test_drift.py.jinja" in files, "no generated tests found: is the template where this test looks?"
    assert set(files) >= NOT_YET_SPLIT, f"listed but not in template/tests: {NOT_YET_SPLIT - set(files)}"
    found = {name: long_branches(path.read_text()) for name, path in sorted(files.items())}
    assert {name: problems for name, problems in found.items() if problems and name not in NOT_YET_SPLIT} == {}
    assert [name for name in sorted(NOT_YET_SPLIT) if not found[name]] == [], "split by file now: drop from the list"


def test_the_chain_check_fails_on_a_test_file_with_a_long_per_variant_chain() -> None:
    short = "import json\n{%- if onnx_export %}\nimport signal\n{%- endif %}\n"
    assert long_branches(short) == []
    assert long_branches("x = {% if serving %}1{% else %}2{% endif %}\n") == []
    chain = (
        "def inputs():\n"
        "{%- if modality == 'tabular' %}\n" + "    a = 1\n" * 6 + "{%- elif modality == 'text' %}\n"
        "    b = 2\n"
        "{%- else %}\n" + "    {% if serving %}c = 3{% endif %}\n" * 7 + "{%- endif %}\n"
    )
    assert long_branches(chain) == ["line 2: 6 lines", "line 11: 7 lines"]
    # A short inner block does not hide the long outer one that holds it.
    nested = "{% if serving %}\n{% if onnx_export %}\nx = 1\n{% endif %}\n" + "y = 2\n" * 3 + "{% endif %}\n"
    assert long_branches(nested) == ["line 1: 6 lines"]
