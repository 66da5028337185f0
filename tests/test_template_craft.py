"""Template craft: each condition in a template path is spelled one way.

A condition written two ways (``modality == 'image' and framework == 'pytorch'`` here,
``framework == 'pytorch' and modality == 'image'`` there) hides that two files belong to
the same variant, so a search for one spelling misses the other. Clauses joined by ``and``
come in the order of the interview's questions (see ``copier.yml``).
"""

import re
from pathlib import Path

from .conftest import REPO_ROOT, load_copier_config

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
