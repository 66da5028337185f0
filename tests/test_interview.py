"""The interview: every way of answering accepts the same answers and refuses the rest.

The prompts (a real pseudo-terminal), ``--data``, ``--defaults``, answers files and plain
``copier copy`` go through the same checks before anything is written: choices that do not
fit earlier answers are disabled with the reason, yes/no and number answers must be ones,
and whatever free text the interview accepts renders a project that installs and lints.
"""

import fcntl
import json
import os
import pty
import re
import select
import shutil
import struct
import sys
import termios
import time
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from omegaconf import OmegaConf
from typer.testing import CliRunner

from mlscaffold.answers import YES_NO, is_yes_no
from mlscaffold.cli import app

from .conftest import COPIER_YML, REPO_ROOT, check, load_copier_config, run
from .test_render import assert_clean_project, render_ok

# Answers to the identity questions, so a terminal session starts at the framework question.
IDENTITY = {
    "project_name": "pty-demo",
    "package_name": "pty_demo",
    "description": "A demo.",
    "author_name": "Me",
    "author_email": "me@example.com",
    "license": "MIT",
    "python_version": "3.11",
}
# Every other answer but the last question's (ci); accelerator=cpu skips mixed_precision.
ALL_BUT_CI = {
    "framework": "pytorch",
    "modality": "tabular",
    "task": "classification",
    "target_metric": "accuracy",
    "target_metric_value": "0.8",
    "latency_budget_ms": "50",
    "throughput_rps": "100",
    "data_format": "csv",
    "sensitive_features": "sex, age_group",
    "accelerator": "cpu",
    "seed": "42",
    "privacy": "[]",
    "fairness_checks": "true",
    "fairness_threshold": "0.1",
    "explainability": "shap",
    "deployment_target": "cloud",
    "serving": "false",
    "onnx_export": "true",
    "quantization": "false",
    "docker": "true",
    "experiment_tracking": "mlflow",
}
# Answers the probe template of `questions` writes to context.json.
CONTEXT_PROBE = ["fairness_checks", "mixed_precision", "serving", "onnx_export", "docker"]
DOWN, UP, ENTER, CTRL_C = b"\x1b[B", b"\x1b[A", b"\r", b"\x03"
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][AB012]|\r")


def invoke(*args: str | Path):
    return CliRunner().invoke(app, [str(arg) for arg in args])


@pytest.fixture(scope="module")
def questions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interview alone: copier.yml in a plain folder, whose template renders two files.

    The answers file, and context.json: what a few answers are when the files are rendered
    (recorded or not). Copier reads a plain folder in place, where it would clone this
    repository (with its uncommitted edits) for every run: about ten times faster.
    """
    root = tmp_path_factory.mktemp("questions")
    shutil.copy(COPIER_YML, root / "copier.yml")
    answers_file = "{{_copier_conf.answers_file}}.jinja"
    shutil.copytree(REPO_ROOT / "template", root / "template", ignore=lambda folder, names: set(names) - {answers_file})
    probe = ", ".join(f'"{name}": {name}' for name in CONTEXT_PROBE)
    (root / "template/context.json.jinja").write_text(f"{{{{ {{{probe}}} | tojson }}}}\n")
    return root


def rendered_context(project: Path) -> dict[str, Any]:
    return json.loads((project / "context.json").read_text())


def interview(questions: Path, data: dict[str, Any], user_defaults: dict[str, Any] | None = None) -> Any:
    """Plain Copier's interview with ``data`` (as ``-d`` gives it); returns the Copier worker."""
    return copier.run_copy(
        str(questions),
        questions.parent / "unused-destination",
        data=data,
        user_defaults=user_defaults or {},
        defaults=True,
        pretend=True,
        quiet=True,
    )


def refusal(questions: Path, data: dict[str, Any], user_defaults: dict[str, Any] | None = None) -> str:
    """Copier's message refusing ``data``; fails the test when the answers are accepted."""
    with pytest.raises(ValueError) as refused:
        interview(questions, data, user_defaults)
    return str(refused.value)


# ---------------------------------------------------------------- the prompts
class Terminal:
    """``mlscaffold`` on a pseudo-terminal: wait for text on the screen, press keys."""

    def __init__(self, arguments: list[str], cwd: Path) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # child: becomes mlscaffold, with the pty as its terminal
            os.chdir(cwd)
            os.environ["PROMPT_TOOLKIT_NO_CPR"] = "1"  # no cursor-position query to time out
            os.execv(sys.executable, [sys.executable, "-m", "mlscaffold", *arguments])
        # Wide enough that no choice and its reason wrap.
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 250, 0, 0))
        self.screen = ""  # everything shown so far, without escape sequences
        self.seen = 0  # where the last expect() stopped

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # the child closed the terminal: it has exited
            return False
        self.screen += ESCAPES.sub("", chunk.decode(errors="replace"))
        return bool(chunk)

    def expect(self, text: str, timeout: float = 60) -> str:
        """Wait for ``text``; return what was shown since the previous expect, up to it."""
        deadline = time.monotonic() + timeout
        while (found := self.screen.find(text, self.seen)) < 0:
            if time.monotonic() > deadline or not self._read(0.1):
                raise AssertionError(f"{text!r} never shown; the screen ends with:\n{self.screen[-3000:]}")
        shown, self.seen = self.screen[self.seen : found + len(text)], found + len(text)
        return shown

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Wait until ``text`` is shown after the last expect, without moving past it."""
        deadline = time.monotonic() + timeout
        while text not in self.screen[self.seen :]:
            if time.monotonic() > deadline or not self._read(0.1):
                raise AssertionError(f"{text!r} never shown; the screen ends with:\n{self.screen[-3000:]}")

    def press(self, *keys: bytes, quiet: float = 0.3) -> None:
        """Press ``keys`` once the screen has been still for ``quiet`` seconds (a prompt waits)."""
        last_change = time.monotonic()
        while time.monotonic() - last_change < quiet:
            before = len(self.screen)
            if not self._read(0.05):
                break
            if len(self.screen) != before:
                last_change = time.monotonic()
        for key in keys:
            os.write(self.fd, key)
            time.sleep(0.15)

    def exit_code(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read(0.1):
            pass
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status)


def choose(terminal: Terminal, question: str, keys: list[bytes], disabled: dict[str, str]) -> None:
    """At ``question``, see each disabled choice with its reason, then press ``keys`` and Enter."""
    terminal.expect(question)
    for title, reason in disabled.items():
        terminal.wait_for(f"- {title} ({reason})")
    terminal.press(*keys, ENTER)


def accept_default(terminal: Terminal, question: str) -> None:
    terminal.expect(question)
    terminal.press(ENTER)


def echoed(shown: str, question: str) -> str:
    """What the prompt showed after its last mention of ``question``: the answer it echoes."""
    return shown.split(question)[-1]


def test_the_prompts_disable_unfitting_choices_with_the_reason_and_write_nothing(tmp_path: Path) -> None:
    """Hugging Face, then the arrow keys try to reach Tables: it is disabled and skipped.

    On the way, every other choice that does not fit the answers so far is shown disabled
    with its reason, and accelerator=cpu skips the mixed-precision question. Interrupted
    before the end, the interview has written nothing.
    """
    data = [argument for name, value in IDENTITY.items() for argument in ("-d", f"{name}={value}")]
    terminal = Terminal(["new", "proj", *data], tmp_path)
    terminal.expect("[2/8] Use case: what the model reads and predicts")  # the section's heading
    choose(terminal, "Training framework", [DOWN], {})
    # Up from the default (Text) passes Images, skips the disabled Tables and wraps round.
    tables = {
        "Tables (CSV or Parquet)": "Hugging Face models do not take tables; choose framework=pytorch for tabular data"
    }
    choose(terminal, "What the model reads", [UP, UP, UP], tables)
    answer = echoed(terminal.expect("Hugging Face Hub model"), "What the model reads")
    assert "Images (folders of PNG/JPEG files)" in answer and "Tables" not in answer
    terminal.press(ENTER)
    regression = {"Regression (a number)": "Regression is available for tabular data only; choose classification"}
    choose(terminal, "What the model predicts", [DOWN], regression)
    answer = echoed(terminal.expect("The metric the model is selected and gated on"), "What the model predicts")
    assert "Classification" in answer and "Regression" not in answer
    for title, value in (("R²", "r2"), ("RMSE", "rmse"), ("MAE", "mae")):
        reason = f"{value} is a regression metric; for classification choose accuracy, f1, roc_auc, precision or recall"
        terminal.wait_for(f"- {title} ({reason})")
    terminal.press(ENTER)
    for question in ("Release target for that metric", "p99 latency budget", "Sustained requests per second"):
        accept_default(terminal, question)
    image_only = "Image data is read from image folders (image_folder); choose image_folder"
    choose(terminal, "Format of your own data files", [UP], dict.fromkeys(["CSV", "Parquet", "JSON Lines"], image_only))
    terminal.expect("Comma-separated columns that describe people")
    terminal.wait_for("background")  # the image demo data's sensitive column is the default
    terminal.press(ENTER)
    choose(terminal, "Where training runs", [DOWN], {})
    # accelerator=cpu: mixed precision cannot matter, so the next question is the seed.
    shown = terminal.expect("Random seed")
    assert "cpu" in echoed(shown, "Where training runs") and "mixed precision" not in shown
    terminal.press(ENTER)
    # The ethics section opens with its heading on its first question, which is always asked.
    terminal.expect("[6/8] Ethics: privacy, fairness and explanations")
    accept_default(terminal, "Privacy regimes")
    for question in ("Check model quality across the sensitive groups", "Largest acceptable difference"):
        accept_default(terminal, question)
    shap = "SHAP explanations are built for tables here; choose integrated_gradients for image data, or none"
    choose(terminal, "How predictions are explained", [], {"SHAP values per input column (tabular)": shap})
    terminal.expect("[7/8] Deployment: where the model runs and how it ships")
    terminal.expect("Where the model runs")
    terminal.press(CTRL_C)
    assert terminal.exit_code() == 1
    assert "interrupted; nothing was rendered" in terminal.screen
    assert not (tmp_path / "proj").exists()


def test_the_summary_comes_before_anything_is_written_and_no_renders_nothing(tmp_path: Path) -> None:
    """With one question left to ask, the summary lists the answers by section and the optional
    stages; answering no at the confirmation leaves no project behind."""
    given = {**IDENTITY, **ALL_BUT_CI}
    data = [argument for name, value in given.items() for argument in ("-d", f"{name}={value}")]
    terminal = Terminal(["new", "proj", *data], tmp_path)
    shown = terminal.expect("Continuous integration for the generated project")
    assert "[8/8] Operations: tracking runs and continuous integration" not in shown  # its first question was given
    terminal.press(ENTER)
    summary = terminal.expect("Render the project with these answers? [Y/n]")
    assert not (tmp_path / "proj").exists()
    summary = summary.split("Summary of the answers (nothing is written yet):")[1]
    assert "\nTargets: what a model must reach to be released\n  target_metric: accuracy" in summary
    assert "  serving: no" in summary and "  ci: github" in summary and "mixed_precision" not in summary
    assert "  rendered: benchmark, explanations, export, fairness, training" in summary
    assert "  left out: loadtest, rollout, serving" in summary
    terminal.press(b"n", ENTER)
    status = terminal.exit_code()
    assert status == 1, terminal.screen[-1500:]
    assert "not confirmed; nothing was rendered" in terminal.screen
    assert not (tmp_path / "proj").exists()


# ---------------------------------------------------------------- choices that depend on earlier answers
# (question, answers before it, unfitting choice, the reason every path gives)
UNFITTING_CHOICES = [
    ("modality", {"framework": "huggingface"}, "tabular", "Hugging Face models do not take tables"),
    ("task", {"modality": "image"}, "regression", "Regression is available for tabular data only"),
    ("task", {"modality": "text"}, "regression", "Regression is available for tabular data only"),
    ("target_metric", {"task": "regression"}, "roc_auc", "roc_auc is a classification metric"),
    ("target_metric", {}, "rmse", "rmse is a regression metric"),
    ("data_format", {}, "jsonl", "Tabular data is read from csv or parquet files"),
    ("data_format", {}, "image_folder", "Tabular data is read from csv or parquet files"),
    ("data_format", {"modality": "text"}, "parquet", "Text data is read from csv or jsonl files"),
    ("data_format", {"modality": "image"}, "csv", "Image data is read from image folders"),
    ("explainability", {"modality": "text"}, "shap", "SHAP explanations are built for tables here"),
    ("explainability", {}, "integrated_gradients", "Tabular models are explained with SHAP here"),
]


def test_choice_questions_validate_per_choice_only() -> None:
    """Copier's select prompt ignores a question-level validator: none may hold a rule."""
    config = load_copier_config()
    for name, question in config.items():
        if isinstance(question, dict) and question.get("choices"):
            assert "validator" not in question, f"{name}: move its validator onto the choices it refuses"
    for name, _, value, _ in UNFITTING_CHOICES:
        choices = config[name]["choices"].values()
        assert any(isinstance(choice, dict) and choice["value"] == value for choice in choices), (name, value)


@pytest.mark.parametrize(
    ("question", "earlier", "value", "reason"), UNFITTING_CHOICES, ids=[f"{q}={v}" for q, _, v, _ in UNFITTING_CHOICES]
)
def test_an_unfitting_choice_is_refused_with_its_reason_by_data_and_presets(
    questions: Path, question: str, earlier: dict, value: str, reason: str
) -> None:
    """``-d`` and a preset (user defaults) give the reason the prompt shows beside the choice."""
    expected = f"Invalid choice for '{question}': {reason}"
    assert expected in refusal(questions, {**earlier, question: value})
    assert expected in refusal(questions, earlier, {question: value})
    # The defaults always fit: the same earlier answers alone are accepted.
    assert interview(questions, earlier).answers.combined[question] != value


def test_the_cli_names_the_question_of_an_unfitting_choice(questions: Path, tmp_path: Path) -> None:
    options = ["--template", questions, "-d", "modality=image", "-d", "explainability=shap"]
    result = invoke("new", tmp_path / "x", "--defaults", *options)
    assert result.exit_code == 2, result.output
    assert "error: invalid answer for explainability: SHAP explanations are built for tables here" in result.output
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------- questions that cannot matter
def test_mixed_precision_is_not_asked_for_cpu_training_and_renders_as_off(questions: Path, copie) -> None:
    assert "mixed_precision" in interview(questions, {"accelerator": "cpu"}).answers.hidden
    assert "mixed_precision" not in interview(questions, {"accelerator": "auto"}).answers.hidden
    # Even an explicit answer (say a team preset's fp16) cannot switch it on for CPU training.
    project = render_ok(copie, {"accelerator": "cpu", "mixed_precision": "fp16"})
    assert yaml.safe_load((project / "configs/trainer/default.yaml").read_text())["mixed_precision"] == "no"
    assert "mixed_precision" not in yaml.safe_load((project / ".copier-answers.yml").read_text())


def test_fairness_checks_are_not_asked_without_a_sensitive_feature(questions: Path, tmp_path: Path) -> None:
    worker = interview(questions, {"sensitive_features": " , "})
    assert "fairness_checks" in worker.answers.hidden and worker.answers.combined["fairness_checks"] is False
    assert "need at least one sensitive feature" in refusal(
        questions, {"sensitive_features": "", "fairness_checks": True}
    )

    # Copier itself lets a preset answer a question that was not asked ...
    given, preset = (
        {"sensitive_features": "", "accelerator": "cpu"},
        {"fairness_checks": True, "mixed_precision": "fp16"},
    )
    leaked = interview(questions, given, preset).answers.combined
    assert (leaked["fairness_checks"], leaked["mixed_precision"]) == (True, "fp16")
    # ... mlscaffold renders such questions with the template's defaults, which fit.
    preset_file = tmp_path / "team.yml"
    preset_file.write_text(yaml.safe_dump(preset))
    destination = tmp_path / "p"
    options = ["--template", questions, "--answers-file", preset_file, *(f"-d{k}={v}" for k, v in given.items())]
    result = invoke("new", destination, "--defaults", *options)
    assert result.exit_code == 0, result.output
    context = rendered_context(destination)
    assert (context["fairness_checks"], context["mixed_precision"]) == (False, "no")


# ---------------------------------------------------------------- yes/no answers
@pytest.mark.parametrize("value", ["flase", "nope", "ja", "", "2", "t"])
def test_a_yes_no_answer_must_be_yes_or_no_on_every_path(questions: Path, tmp_path: Path, value: str) -> None:
    message = f"nswer yes or no (true/false, y/n, on/off, 1/0), not '{value}'"
    assert f"A{message}" in refusal(questions, {"serving": value})  # plain Copier: the template's validator
    assert f"A{message}" in refusal(questions, {}, {"onnx_export": value})
    assert not is_yes_no(value)
    result = invoke("new", tmp_path / "x", "--defaults", "-d", f"serving={value}")
    assert result.exit_code == 2 and f"invalid answer for serving: a{message}" in result.output, result.output
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("value", "meant"),
    [("No", False), ("OFF", False), ("n", False), ("0", False), (" yes ", True), ("Y", True), ("on", True), (1, True)],
)
def test_every_spelling_of_yes_and_no_is_accepted(questions: Path, value: Any, meant: bool) -> None:
    assert is_yes_no(value)
    assert interview(questions, {"docker": value}).answers.combined["docker"] is meant


def test_the_cli_and_the_template_accept_the_same_spellings() -> None:
    validator = load_copier_config()["serving"]["validator"]
    spelled = re.search(r"in \[('true'.*?)\]\)", validator)
    assert spelled is not None and set(re.findall(r"'(\w+)'", spelled.group(1))) == set(YES_NO)
    for name, question in load_copier_config().items():
        if isinstance(question, dict) and question.get("type") == "bool":
            assert f"_copier_conf.data.get('{name}'" in question["validator"], f"{name} has no yes/no check"


def test_a_misspelt_yes_no_answer_in_a_preset_is_refused_before_anything_is_written(
    questions: Path, tmp_path: Path
) -> None:
    preset = tmp_path / "team.yml"
    preset.write_text("license: MIT\nonnx_export: nope\n")
    destination = tmp_path / "empty"
    destination.mkdir()
    result = invoke("new", destination, "--defaults", "--answers-file", preset)
    assert result.exit_code == 2, result.output
    assert "error: invalid answer for onnx_export: answer yes or no" in result.output and "not 'nope'" in result.output
    assert list(destination.iterdir()) == []
    # Real YAML booleans (and yes/no, which YAML reads as booleans) are fine.
    preset.write_text("onnx_export: no\nserving: false\ndocker: 'Off'\n")
    result = invoke("new", tmp_path / "ok", "--defaults", "--answers-file", preset, "--template", questions)
    assert result.exit_code == 0, result.output
    context = rendered_context(tmp_path / "ok")
    assert (context["onnx_export"], context["serving"], context["docker"]) == (False, False, False)


def test_plain_copier_copy_refuses_a_misspelt_yes_no_answer(tmp_path: Path) -> None:
    result = run(
        [sys.executable, "-m", "copier", "copy", "--defaults", "-d", "serving=flase", REPO_ROOT, tmp_path / "p"],
        tmp_path,
        timeout=300,
    )
    assert result.returncode != 0
    assert "Answer yes or no (true/false, y/n, on/off, 1/0), not 'flase'" in result.stdout + result.stderr
    assert not (tmp_path / "p").exists()


# ---------------------------------------------------------------- numbers
@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"task": "regression", "target_metric": "rmse", "target_metric_value": "inf"}, "Give a finite number"),
        ({"task": "regression", "target_metric": "r2", "target_metric_value": "-inf"}, "Give a finite number"),
        ({"target_metric_value": "nan"}, "Give a finite number"),
        ({"latency_budget_ms": "inf"}, "Give a budget between 0 and 60000 ms"),
        ({"throughput_rps": "nan"}, "Give a rate between 0 and 1,000,000"),
        ({"fairness_threshold": "nan"}, "Give a difference between 0 and 1"),
    ],
    ids=lambda a: str(a) if isinstance(a, dict) else "",
)
def test_infinite_and_nan_numbers_are_refused(questions: Path, answers: dict, message: str) -> None:
    assert message in refusal(questions, answers)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("target_metric_value=abc", "target_metric_value must be a number, got 'abc'"),
        ("latency_budget_ms=fast", "latency_budget_ms must be a number, got 'fast'"),
        ("seed=7.5", "seed must be a whole number, got '7.5'"),
    ],
)
def test_a_non_number_is_refused_naming_the_question(tmp_path: Path, option: str, message: str) -> None:
    result = invoke("new", tmp_path / "x", "--defaults", "-d", option)
    assert result.exit_code == 2 and f"error: invalid answer: {message}" in result.output, result.output
    preset = tmp_path / "preset.yml"
    name, value = option.split("=")
    preset.write_text(f"{name}: {value}\n")
    result = invoke("new", tmp_path / "x", "--defaults", "--answers-file", preset)
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "x").exists()


def test_small_numbers_stay_numbers_in_the_yaml_configs(copie) -> None:
    answers = {"target_metric_value": 1e-05, "latency_budget_ms": 2.5e-05, "fairness_threshold": 1e-05}
    project = render_ok(copie, answers)
    readiness = yaml.safe_load((project / "configs/readiness/default.yaml").read_text())
    assert readiness["target_metric_value"] == 1e-05 and readiness["latency_budget_ms"] == 2.5e-05
    assert yaml.safe_load((project / "configs/fairness/default.yaml").read_text())["max_difference"] == 1e-05


# ---------------------------------------------------------------- names and text
@pytest.mark.parametrize(
    ("project_name", "distribution", "package"),
    [
        ("Churn model.", "churn-model", "churn_model"),
        ("churn-model-", "churn-model", "churn_model"),
        ("churn_model_", "churn-model", "churn_model"),
        ("Churn model ", "churn-model", "churn_model"),
        ("json", "json", "json_model"),
        (
            "Customer churn prediction for the retail banking division v2 ---",
            "customer-churn-prediction-for-the-retail-banking-division-v2",
            "customer_churn_prediction_for",
        ),
    ],
)
def test_names_derived_from_the_project_name_are_valid(
    questions: Path, project_name: str, distribution: str, package: str
) -> None:
    answers = interview(questions, {"project_name": project_name}).answers.combined
    assert (answers["distribution_name"], answers["package_name"]) == (distribution, package)
    assert re.fullmatch(r"[a-z0-9]([a-z0-9._-]*[a-z0-9])?", distribution)  # PEP 508, lower-cased


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"project_name": "churn\n"}, "Start with a letter"),
        ({"package_name": "churn\n"}, "lower-case Python identifier"),
        ({"description": "tab\tin it"}, "without double quotes, backslashes or control characters"),
        ({"author_name": "Doe, John"}, "Leave out commas"),
        ({"author_email": "a\\b@example.com"}, "Give an e-mail address"),
    ],
    ids=lambda a: str(a) if isinstance(a, dict) else "",
)
def test_text_that_would_break_a_generated_file_is_refused(questions: Path, answers: dict, message: str) -> None:
    assert message in refusal(questions, answers)


# Curly quotes, dashes, a multiplication sign, CJK text with full-width brackets and an emoji
# (escaped here: this file is linted by the same ruff rules the generated projects are).
TYPOGRAPHY = (
    "Predicts churn for O\u2019Brien\u2019s shops \u2013 3\u00d73 grids, \u201cquoted\u201d, "
    "\u5ba2\u6237\u6d41\u5931\u9884\u6d4b\uff08\u8bd5\u70b9\uff09 \U0001f916"
)
KEYWORD_COLUMNS = ["yes", "null", "on", "true"]


def install_and_lint(project: Path, tmp_path: Path) -> Path:
    """``pip install -e .`` into a throwaway environment that sees this one's packages, then ``make lint``.

    Returns the environment's Python. ``--without-pip`` and a ``.pth`` file to this
    environment's site-packages keep it fast and offline (pip, hatchling and ruff from here).
    """
    environment = tmp_path / f"venv-{project.name}"
    check(run([sys.executable, "-m", "venv", "--without-pip", environment], tmp_path), "venv")
    python = environment / "bin" / "python"
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp_path).stdout.strip()
    ours = run([sys.executable, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp_path).stdout
    Path(site, "outer-environment.pth").write_text(ours)
    install = [python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index", "-e", "."]
    check(run(install, project), f"pip install -e {project.name}")
    check(run(["make", "lint", f"PYTHON={python}"], project), f"make lint in {project.name}")
    return python


def metadata_of(project: Path, python: Path, distribution: str) -> dict[str, Any]:
    code = "import json, sys, importlib.metadata as m; print(json.dumps(m.metadata(sys.argv[1]).json))"
    result = run([python, "-c", code, distribution], project)
    check(result, "reading the installed metadata")
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("answers", "distribution"),
    [
        (
            {
                "project_name": "Churn model v2.",
                "description": TYPOGRAPHY,
                "author_name": "O\u2019Brien \u2013 \u5f20\u4e09 \u00d7 \U0001f916",
                "sensitive_features": ", ".join(KEYWORD_COLUMNS),
            },
            "churn-model-v2",
        ),
        (
            {
                "project_name": "A very long project name that uses all of its sixty-four chars._",
                "description": "Mod\u00e8le de r\u00e9siliation \u2014 \u201cna\u00efve\u201d \u00d72 \U0001f600",
                "author_name": "\u00c9quipe ML \u00b7 \u30c7\u30fc\u30bf",
                "modality": "text",
            },
            "a-very-long-project-name-that-uses-all-of-its-sixty-four-chars",
        ),
    ],
    ids=["separator-end-typography-keyword-columns", "64-characters-text"],
)
def test_any_accepted_text_renders_a_project_that_installs_and_lints(
    copie, tmp_path: Path, answers: dict, distribution: str
) -> None:
    project = render_ok(copie, answers)
    package = yaml.safe_load((project / ".copier-answers.yml").read_text())["package_name"]
    assert len(package) <= 30 and not package.endswith("_")
    assert_clean_project(project, package)  # ruff check and format over the whole project
    metadata = metadata_of(project, install_and_lint(project, tmp_path), distribution)
    assert metadata["name"] == distribution and metadata["summary"] == answers["description"]
    assert answers["author_name"] in metadata["author_email"]
    if "sensitive_features" in answers:  # YAML keywords stay column names, for PyYAML and Hydra
        file_config = project / "configs/data/file.yaml"
        assert yaml.safe_load(file_config.read_text())["sensitive_columns"] == KEYWORD_COLUMNS
        assert list(OmegaConf.load(file_config)["sensitive_columns"]) == KEYWORD_COLUMNS


def test_a_hub_model_name_that_looks_like_a_yaml_keyword_stays_a_name(copie) -> None:
    project = render_ok(copie, {"framework": "huggingface", "modality": "text", "model_name": "null"})
    assert yaml.safe_load((project / "configs/model/pretrained.yaml").read_text())["pretrained"] == "null"


# ---------------------------------------------------------------- defaults that match the demo data
@pytest.mark.parametrize(
    ("modality", "columns"),
    [("tabular", ["sex", "age_group"]), ("image", ["background"]), ("text", ["dialect", "age_group"])],
)
def test_the_default_sensitive_features_are_the_demo_datas(copie, modality: str, columns: list[str]) -> None:
    project = render_ok(copie, {"modality": modality})
    demo = yaml.safe_load((project / "configs/data/demo.yaml").read_text())
    own = yaml.safe_load((project / "configs/data/file.yaml").read_text())
    assert demo["sensitive_columns"] == own["sensitive_columns"] == columns
    card = (project / "docs/model_card.md").read_text()
    assert f"- Sensitive features: {', '.join(columns)}; they are not model inputs." in card
    assert (project / "configs/fairness.yaml").is_file()


# ---------------------------------------------------------------- make setup
def test_make_setup_uses_uv_where_the_environment_has_no_pip(copie, tmp_path: Path) -> None:
    """A `uv venv` has no pip module: setup falls back to `uv pip install` for that interpreter."""
    project = render_ok(copie, {})
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    calls = tmp_path / "calls.txt"
    no_pip = fake_bin / "python-without-pip"
    no_pip.write_text(
        f'#!/bin/sh\nif [ "$1 $2" = "-m pip" ]; then exit 1; fi\n'
        f'if [ "$1" = "-c" ]; then echo /envs/uv/bin/python; exit 0; fi\necho "python $*" >> {calls}\n'
    )
    (fake_bin / "uv").write_text(f'#!/bin/sh\necho "uv $*" >> {calls}\n')
    for script in (no_pip, fake_bin / "uv"):
        script.chmod(0o755)
    environment = {"PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}"}
    check(run(["make", "setup", f"PYTHON={no_pip}"], project, env=environment), "make setup with uv")
    assert calls.read_text().splitlines()[0] == "uv pip install --python /envs/uv/bin/python -e .[dev]"
    # Neither pip nor uv: a message that says what to do.
    (fake_bin / "uv").unlink()
    path_without_uv = {"PATH": f"{fake_bin}{os.pathsep}/usr/bin:/bin"}
    failed = run(["make", "setup", f"PYTHON={no_pip}"], project, env=path_without_uv)
    assert failed.returncode != 0 and "has no pip and uv is not installed" in failed.stderr
