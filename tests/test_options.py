"""``mlscaffold options`` and the README's options reference: both read from ``copier.yml``.

Expected values come from ``copier.yml`` (and Copier, for computed defaults), never from a
list kept here, so a new question is checked as soon as it exists; each check is also shown
to fail on a copy that drifts.
"""

import re
import shutil
from pathlib import Path
from typing import Any

import copier
import pytest
from typer.testing import CliRunner

from mlscaffold.cli import app
from mlscaffold.options import (
    REFERENCE_END,
    REFERENCE_START,
    doc_comments,
    read_questions,
    shown,
    split_heading,
    when_in_words,
)
from mlscaffold.template import config_questions

from .conftest import COPIER_YML, REPO_ROOT, load_copier_config


def questions_of_the_yaml() -> dict[str, dict[str, Any]]:
    return config_questions(load_copier_config())


@pytest.fixture(scope="module")
def printed() -> str:
    result = CliRunner().invoke(app, ["options"])  # not a terminal: the Markdown as is
    assert result.exit_code == 0, result.output
    return result.output.rstrip("\n")


@pytest.fixture(scope="module")
def copier_defaults(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every value of a ``--defaults`` interview, by Copier on ``copier.yml`` alone."""
    root = tmp_path_factory.mktemp("defaults")
    shutil.copy(COPIER_YML, root / "copier.yml")
    (root / "template").mkdir()
    worker = copier.run_copy(str(root), root / "out", defaults=True, pretend=True, quiet=True)
    return dict(worker.answers.combined)


def entry(reference: str, name: str) -> str:
    """One question's entry in the reference: from its name to the next blank line after the list."""
    match = re.search(rf"^\*\*`{name}`\*\*: [^\n]*\n\n(?:- [^\n]*(?:\n|\Z))+", reference, re.MULTILINE)
    assert match, f"{name} is missing from the options reference"
    return match.group(0)


def readme_reference(readme: str) -> str:
    block = re.search(re.escape(REFERENCE_START) + r"\n(.*?)\n" + re.escape(REFERENCE_END), readme, re.DOTALL)
    assert block, "README.md lost the options-reference markers"
    return block.group(1)


def test_every_question_is_listed_with_its_help_and_default(printed: str, copier_defaults: dict) -> None:
    questions = questions_of_the_yaml()
    assert len(questions) >= 30 and f"{len(questions)} questions." in printed
    for name, details in questions.items():
        text = entry(printed, name)
        assert split_heading(details["help"])[1].split("{")[0].strip() in text
        assert f"- default: `{shown(copier_defaults[name])}`" in text, text
        if not (isinstance(details["default"], str) and "{{" in details["default"]):
            assert shown(details["default"]) == shown(copier_defaults[name])  # a plain default, as written


def test_choices_are_listed_with_their_values(printed: str) -> None:
    for name, details in questions_of_the_yaml().items():
        choices = details.get("choices") or []
        values = (
            choices
            if isinstance(choices, list)
            else [v["value"] if isinstance(v, dict) else v for v in choices.values()]
        )
        for value in values:
            assert f"`{value}`" in entry(printed, name), (name, value)
    assert "`tabular`: Tables (CSV or Parquet) *" in entry(printed, "modality")  # refused after huggingface


def test_when_a_question_is_asked_is_derived_from_its_condition(printed: str) -> None:
    for name, details in questions_of_the_yaml().items():
        expected = "- asked: always" if "when" not in details else "- asked: only if "
        assert expected in entry(printed, name), name
    assert "- asked: only if framework is huggingface" in entry(printed, "model_name")
    assert "- asked: only if accelerator is not cpu" in entry(printed, "mixed_precision")
    assert "- asked: only if onnx_export is yes" in entry(printed, "quantization")
    assert "- asked: only if sensitive_features names at least one column" in entry(printed, "fairness_checks")


def test_an_unrecognised_condition_is_quoted_not_guessed() -> None:
    assert when_in_words("{{ serving and docker }}") == "only if `serving and docker`"
    assert when_in_words(True) == "always"


def test_every_question_says_what_it_changes(printed: str) -> None:
    comments = doc_comments(COPIER_YML.read_text(encoding="utf-8"))
    for name in questions_of_the_yaml():
        assert comments.get(name), f"{name}: add '#:' lines above it in copier.yml saying what it changes"
        assert f"- changes: {comments[name]}" in entry(printed, name)


def test_a_question_without_its_change_note_is_caught() -> None:
    text = COPIER_YML.read_text(encoding="utf-8")
    without = re.sub(r"(?m)(^#:.*\n)+(?=serving:)", "", text)
    assert "serving" in doc_comments(text) and "serving" not in doc_comments(without)


def test_sections_follow_the_headings_and_each_heading_is_always_shown() -> None:
    """Headings are numbered 1..N of N in order, and open a question with no ``when``."""
    headings = []
    for name, details in questions_of_the_yaml().items():
        match = re.match(r"\[(\d+)/(\d+)\] ", details["help"])
        if match:
            headings.append((int(match.group(1)), int(match.group(2))))
            assert "when" not in details, f"{name} opens a section, so it must always be asked"
    total = len(headings)
    assert headings == [(number, total) for number in range(1, total + 1)]
    assert next(iter(questions_of_the_yaml().values()))["help"].startswith("[1/")


def test_the_readme_reference_is_the_commands_output(printed: str) -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_reference(readme) == printed, "run: make readme-options"
    assert "make readme-options" in readme
    assert "scripts/readme_options.py" in (REPO_ROOT / "Makefile").read_text(encoding="utf-8")


def test_the_readme_check_catches_drift(printed: str) -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    drifted = readme.replace("- default: `my-ml-project`", "- default: `my-project`", 1)
    assert drifted != readme and readme_reference(drifted) != printed
    with pytest.raises(AssertionError, match="options-reference markers"):
        readme_reference(readme.replace(REFERENCE_END, ""))


def test_the_reference_follows_copier_yml(tmp_path: Path) -> None:
    """Edit a help text in a copy of the template: the reference shows the edit."""
    (tmp_path / "template").mkdir()
    text = COPIER_YML.read_text(encoding="utf-8").replace("    Training framework\n", "    Which trainer\n", 1)
    (tmp_path / "copier.yml").write_text(text, encoding="utf-8")
    framework = next(question for question in read_questions(tmp_path) if question.name == "framework")
    assert framework.help == "Which trainer" and framework.section.startswith("Use case")


def test_new_with_defaults_prints_the_summary_before_rendering(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["new", str(tmp_path / "p"), "--defaults"])
    assert result.exit_code == 0, result.output
    summary = result.output.split("Created ", 1)[0]
    assert "Summary of the answers" in summary and "Deployment: where the model runs" in summary
    rendered = re.search(r"Optional stages in src/my_ml_project/:\n  rendered: (.*)\n  left out: (.*)", summary)
    assert rendered, summary
    assert {"serving", "loadtest", "fairness", "explanations", "export"} <= set(rendered.group(1).split(", "))
    for stage in rendered.group(1).split(", "):
        assert (tmp_path / "p/src/my_ml_project" / stage).is_dir()
    for stage in rendered.group(2).split(", "):
        assert not (tmp_path / "p/src/my_ml_project" / stage).exists()
    assert "deploy/kubernetes/" in summary.split("Other optional parts:")[1].split("left out")[0]


def test_a_project_without_serving_does_not_list_serving_as_rendered(tmp_path: Path) -> None:
    options = ["-d", "serving=false", "-d", "deployment_target=batch", "-d", "experiment_tracking=none"]
    result = CliRunner().invoke(app, ["new", str(tmp_path / "p"), "--defaults", *options])
    assert result.exit_code == 0, result.output
    stages = re.search(r"  rendered: (.*)\n  left out: (.*)", result.output)
    assert stages and "serving" not in stages.group(1).split(", ") and "serving" in stages.group(2).split(", ")
    others = result.output.split("Other optional parts:")[1]
    assert "configs/tracking/" in others.split("left out:")[1] and "deploy/" in others.split("left out:")[1]
    assert not (tmp_path / "p/src/my_ml_project/serving").exists()


def test_the_summary_lists_what_renders_when_a_preset_answers_a_skipped_question(tmp_path: Path) -> None:
    """A preset's fairness_checks: true without a sensitive feature is not asked, and renders no
    fairness stage; the summary, computed again from the answers that render, says so too."""
    preset = tmp_path / "team.yml"
    preset.write_text("fairness_checks: true\n")
    options = ["--answers-file", str(preset), "-d", "sensitive_features="]
    result = CliRunner().invoke(app, ["new", str(tmp_path / "p"), "--defaults", *options])
    assert result.exit_code == 0, result.output
    stages = re.search(r"  rendered: (.*)\n  left out: (.*)", result.output)
    assert stages and "fairness" in stages.group(2).split(", "), result.output
    assert "fairness_checks" not in result.output.split("Optional stages")[0]  # not asked, not an answer
    assert not (tmp_path / "p/src/my_ml_project/fairness").exists()
