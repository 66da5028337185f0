"""What a newcomer reads to understand training: the files reachable from the training entry point.

Issue 12 asks that, in each of the five main variants, the package files reachable from
``training/__main__.py`` by imports (plus the model class a config loads through
``_target_``) add up to at most 1,800 lines, and that training reaches no other stage.
Imports are followed statically (``ast``), including those inside functions, and importing
``a.b.c`` counts the ``__init__.py`` of ``a`` and ``a.b`` as Python runs them. A line is a
non-blank line (comments and docstrings count: they are read too).
"""

import ast
from pathlib import Path

import pytest
import yaml

MAX_LINES = 1800
PACKAGE = "my_ml_project"
STAGES = {
    "tuning", "evaluation", "fairness", "explanations", "export", "monitoring", "serving", "loadtest",
    "benchmark", "readiness", "documents",
}  # fmt: skip
VARIANTS = {
    "pytorch-tabular": {},
    "pytorch-image": {"modality": "image"},
    "pytorch-text": {"modality": "text"},
    "huggingface-text": {"framework": "huggingface"},
    "huggingface-image": {"framework": "huggingface", "modality": "image"},
}


def package_modules(source: Path) -> dict[str, Path]:
    """Every module of the package under ``source`` (``src/``), by dotted name."""
    modules = {}
    for path in source.rglob("*.py"):
        parts = list(path.relative_to(source).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports (absolute or relative, at any depth)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            # `from . import x` imports the submodule x when there is one
            targets = [module] + [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target in modules)
    return found


def reachable(start: str, modules: dict[str, Path]) -> set[str]:
    """``start`` and every module it reaches, with the packages Python runs on the way."""
    seen: set[str] = set()
    pending = [start]
    while pending:
        name = pending.pop()
        if name in seen or name not in modules:
            continue
        seen.add(name)
        parts = name.split(".")
        pending.extend(".".join(parts[:end]) for end in range(1, len(parts)))
        pending.extend(imported_modules(name, modules[name], modules))
    return seen


def model_targets(project: Path) -> set[str]:
    """The modules of the classes the default model config loads through ``_target_``."""
    train = yaml.safe_load((project / "configs" / "train.yaml").read_text(encoding="utf-8"))
    model = next(entry["model"] for entry in train["defaults"] if isinstance(entry, dict) and "model" in entry)
    config = yaml.safe_load((project / "configs" / "model" / f"{model}.yaml").read_text(encoding="utf-8"))
    target = config.get("_target_", "")
    return {target.rpartition(".")[0]} if target.startswith(PACKAGE) else set()


def non_blank_lines(path: Path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


FOOTPRINTS: dict[str, tuple[set[str], int]] = {}  # one render per variant for both tests


def training_footprint(copie, answers: dict) -> tuple[set[str], int]:
    key = repr(sorted(answers.items()))
    if key not in FOOTPRINTS:
        FOOTPRINTS[key] = measure_footprint(copie, answers)
    return FOOTPRINTS[key]


def measure_footprint(copie, answers: dict) -> tuple[set[str], int]:
    result = copie.copy(extra_answers={"project_name": "my-ml-project", **answers})
    assert result.exception is None, result.exception
    project = Path(result.project_dir)
    modules = package_modules(project / "src")
    assert f"{PACKAGE}.training.__main__" in modules
    names = reachable(f"{PACKAGE}.training.__main__", modules)
    for target in model_targets(project):
        names |= reachable(target, modules)
    return names, sum(non_blank_lines(modules[name]) for name in names)


@pytest.mark.parametrize("answers", VARIANTS.values(), ids=VARIANTS.keys())
def test_training_reaches_no_other_stage(copie, answers: dict) -> None:
    names, _ = training_footprint(copie, answers)
    reached = {name.split(".")[1] for name in names if name.count(".") >= 1} & STAGES
    assert not reached, f"training imports the stage(s) {sorted(reached)}"


# Variants still over the budget (issue 12). Strict: a variant that fits fails here until it
# is taken off this list, so the list only ever shrinks. Empty since every variant fits (non-blank
# lines: PyTorch text 1,797, PyTorch image 1,789, tabular 1,772, HF image 1,762, HF text 1,747).
# trainer=ddp's DistributedTrainer, the GPU speed paths (training/speed.py, throughput.py) and the
# progress bar (training/progress.py, core/console.py) are not counted: only their configs load
# them, like a tracker.
OVER_BUDGET: set[str] = set()
BUDGET_CASES = [
    pytest.param(
        answers,
        id=variant,
        marks=[pytest.mark.xfail(strict=True, reason="issue 12: over the line budget")]
        if variant in OVER_BUDGET
        else [],
    )
    for variant, answers in VARIANTS.items()
]


@pytest.mark.parametrize("answers", BUDGET_CASES)
def test_training_fits_in_the_line_budget(copie, answers: dict) -> None:
    names, lines = training_footprint(copie, answers)
    assert lines <= MAX_LINES, f"{lines} lines in {len(names)} files reachable from training: {sorted(names)}"
