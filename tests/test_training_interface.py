"""The two frameworks' training packages keep one interface (issue 12).

Read from the template sources, no render: the shared modules are one file for both
framework folders, and the settings, result and callback classes have the same fields and
methods, so code and docs written against one framework's trainer fit the other's.
"""

import ast
import functools
import re
from pathlib import Path

import pytest

from .conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "template" / "src" / "{{package_name}}"
FRAMEWORKS = ("pytorch", "huggingface")
# A line that holds only a Jinja tag ({%- if modality == 'tabular' %}, {%- endif %}).
JINJA_TAG_LINE = re.compile(r"^\s*\{%-?.*%\}\s*$")


def python_tree(path: Path) -> ast.Module:
    """The module a template source defines. A ``.py.jinja`` source keeps every branch of its
    whole-line ``{% if %}`` blocks (the tag lines dropped): what this test reads, the names a
    module defines, is the same in every rendering."""
    text = path.read_text(encoding="utf-8")
    if not path.name.endswith(".jinja"):
        return ast.parse(text)
    lines = [line for line in text.splitlines() if not JINJA_TAG_LINE.match(line)]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:  # Jinja inside a line of code ({{ ... }} in an import): nothing to read here
        return ast.Module(body=[], type_ignores=[])


@functools.cache
def framework_sources(framework: str) -> list[Path]:
    """The package's Python sources rendered only for ``framework`` (found by their condition,
    so the test follows the files wherever the package layout puts them)."""
    return sorted(
        path
        for path in PACKAGE.rglob("*")
        if path.is_file()
        and path.name.removesuffix(".jinja").endswith((".py", ".py{% endif %}"))
        and f"framework == '{framework}'" in str(path)
    )


def defining(framework: str, kind: type, name: str) -> Path:
    """The one source of ``framework`` that defines the top-level class or function ``name``."""
    found = [
        path
        for path in framework_sources(framework)
        if any(isinstance(node, kind) and node.name == name for node in python_tree(path).body)
    ]
    assert len(found) == 1, f"{framework}: {name} defined in {found}"
    return found[0]


def classes(path: Path) -> dict[str, ast.ClassDef]:
    tree = python_tree(path)
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def field_names(node: ast.ClassDef) -> list[str]:
    return [
        item.target.id for item in node.body if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
    ]


def function_names(path: Path) -> set[str]:
    tree = python_tree(path)
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


@pytest.mark.parametrize(
    "module",
    [
        "callbacks.py",
        "optimization.py",
        "schedule.py",
        "{% if experiment_tracking == 'tensorboard' %}tracking.py{% endif %}",
        "{% if experiment_tracking == 'mlflow' %}tracking.py{% endif %}",
    ],
)
def test_shared_training_modules_are_one_source_for_both_frameworks(module: str) -> None:
    """The callback protocol, optimizer and schedule targets and the tracker exist once, in the
    unconditional ``training/`` folder, and render beside either framework's trainer."""
    assert (PACKAGE / "training" / module).is_file(), module
    for framework in FRAMEWORKS:
        framework_folder = defining(framework, ast.ClassDef, "Trainer").parent
        assert not (framework_folder / module).exists(), f"{framework} keeps its own copy of {module}"


def test_trainer_settings_are_one_class_without_defaults_for_both_frameworks() -> None:
    """One ``TrainerSettings`` (``training/settings.py``) that both trainers import; the YAML
    (``configs/trainer/default.yaml``) is the one place of its defaults."""
    node = classes(PACKAGE / "training" / "settings.py")["TrainerSettings"]
    defaults = [item.target.id for item in node.body if isinstance(item, ast.AnnAssign) and item.value is not None]
    assert field_names(node) and not defaults, f"TrainerSettings carries defaults {defaults}"
    for framework in FRAMEWORKS:
        trainer = defining(framework, ast.ClassDef, "Trainer")
        assert "from .settings import TrainerSettings" in trainer.read_text(encoding="utf-8"), framework
        assert "TrainerSettings" not in classes(trainer), f"{framework} defines its own TrainerSettings"


def test_both_trainers_fit_and_both_evaluations_share_their_names() -> None:
    for framework in FRAMEWORKS:
        trainer = classes(defining(framework, ast.ClassDef, "Trainer"))["Trainer"]
        methods = {item.name for item in trainer.body if isinstance(item, ast.FunctionDef)}
        assert "fit" in methods, framework
    names = {
        framework: function_names(defining(framework, ast.FunctionDef, "run_evaluation"))
        | function_names(defining(framework, ast.FunctionDef, "evaluate_model"))
        for framework in FRAMEWORKS
    }
    # metric_function is one for both: core/metrics.py
    assert {"evaluate_model", "run_evaluation", "target_status"} <= names["pytorch"] & names["huggingface"]
