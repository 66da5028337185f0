"""The ``mlscaffold`` command: success paths, every refusal, and exit statuses."""

import filecmp
from pathlib import Path

import copier
import pytest
import yaml
from typer.testing import CliRunner

from mlscaffold import __version__
from mlscaffold.cli import app
from mlscaffold.template_store import PUBLIC_SOURCE, store_path, version_tags

from .conftest import REPO_ROOT

runner = CliRunner()


def invoke(*args: str | Path):
    return runner.invoke(app, [str(arg) for arg in args])


def answers_of(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def assert_one_line_error(result, exit_code: int, fragment: str) -> None:
    assert result.exit_code == exit_code, result.output
    assert fragment in result.output
    assert "Traceback" not in result.output
    error_lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and result.output.strip() == f"mlscaffold {__version__}"


@pytest.mark.parametrize("args", [["--help"], ["new", "--help"]])
def test_help(args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 0
    for option in ("--data", "--defaults", "--answers-file", "--template", "--vcs-ref", "--force"):
        assert option in result.output or args == ["--help"]
    assert "new" in result.output


def test_new_with_defaults_renders_and_prints_next_steps(tmp_path: Path) -> None:
    destination = tmp_path / "demo"
    result = invoke("new", destination, "--defaults")
    assert result.exit_code == 0, result.output
    assert "make train" in result.output and "python -m my_ml_project.training" in result.output
    assert (destination / "src/my_ml_project/training/__main__.py").is_file()
    assert answers_of(destination)["framework"] == "pytorch"


def test_data_options_answer_questions(tmp_path: Path) -> None:
    destination = tmp_path / "reg"
    result = invoke(
        "new",
        destination,
        "--defaults",
        "-d",
        "task=regression",
        "--data",
        "target_metric=mae",
        "-d",
        "target_metric_value=2.5",
        "-d",
        "privacy=[gdpr]",
    )
    assert result.exit_code == 0, result.output
    answers = answers_of(destination)
    assert (answers["task"], answers["target_metric"], answers["target_metric_value"]) == ("regression", "mae", 2.5)
    assert answers["privacy"] == ["gdpr"]


def test_same_project_as_plain_copier_copy(tmp_path: Path) -> None:
    copier.run_copy(str(REPO_ROOT), tmp_path / "plain", defaults=True, quiet=True)
    assert invoke("new", tmp_path / "cli", "--defaults").exit_code == 0
    comparison = filecmp.dircmp(tmp_path / "plain", tmp_path / "cli")
    differing: list[str] = []

    def collect(node: filecmp.dircmp, prefix: str = "") -> None:
        differing.extend(prefix + name for name in node.diff_files + node.left_only + node.right_only)
        for name, child in node.subdirs.items():
            collect(child, f"{prefix}{name}/")

    collect(comparison)
    # Rendering a checkout with uncommitted edits makes Copier commit them in its clone,
    # so `_commit` differs between two renders of a dirty tree; every answer must agree.
    assert differing in ([], [".copier-answers.yml"])
    # mlscaffold records the public source, which it reads from its local store (offline).
    plain, cli = answers_of(tmp_path / "plain"), answers_of(tmp_path / "cli")
    assert cli["_src_path"] == PUBLIC_SOURCE and cli["_commit"] == f"v{__version__}"
    assert f"v{__version__}" in version_tags(store_path())
    for recorded in (plain, cli):
        recorded.pop("_commit", None), recorded.pop("_src_path", None)
    assert plain == cli


def test_non_empty_destination_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    result = invoke("new", tmp_path, "--defaults")
    assert_one_line_error(result, 2, "is not empty; choose a new directory or pass --force")
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_force_renders_into_a_non_empty_destination(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    result = invoke("new", tmp_path, "--defaults", "--force")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "notes.txt").read_text() == "keep me" and (tmp_path / "Makefile").is_file()


def test_destination_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("")
    assert_one_line_error(invoke("new", target, "--defaults"), 2, "is not a directory")


def test_unknown_data_key_is_refused_with_the_valid_keys(tmp_path: Path) -> None:
    result = invoke("new", tmp_path / "x", "--defaults", "-d", "framwork=pytorch")
    assert_one_line_error(result, 2, "unknown --data key(s): framwork")
    assert "Valid keys: project_name, package_name" in result.output and "framework" in result.output
    assert "reserved_package_names" not in result.output  # computed values are not questions
    assert not (tmp_path / "x").exists()


def test_malformed_data_option_is_refused(tmp_path: Path) -> None:
    assert_one_line_error(invoke("new", tmp_path / "x", "--defaults", "-d", "task"), 2, "--data expects KEY=VALUE")


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ("package_name=json", "invalid answer for package_name"),
        ("target_metric_value=7", "invalid answer for target_metric_value"),
        ("task=clustering", "invalid answer"),
        ("seed=lots", "invalid answer"),
    ],
)
def test_invalid_answer_is_refused_and_writes_nothing(tmp_path: Path, data: str, fragment: str) -> None:
    destination = tmp_path / "x"
    assert_one_line_error(invoke("new", destination, "--defaults", "-d", data), 2, fragment)
    assert not destination.exists()


def test_invalid_answer_into_existing_empty_folder_writes_nothing(tmp_path: Path) -> None:
    destination = tmp_path / "empty"
    destination.mkdir()
    assert invoke("new", destination, "--defaults", "-d", "package_name=os").exit_code == 2
    assert list(destination.iterdir()) == []


def test_answers_file_is_a_preset_and_data_wins(tmp_path: Path) -> None:
    preset = tmp_path / "team.yml"
    preset.write_text("author_name: Risk Team\nlicense: MIT\nseed: 7\n_src_path: ignored\n")
    destination = tmp_path / "p"
    result = invoke("new", destination, "--defaults", "--answers-file", preset, "-d", "seed=9")
    assert result.exit_code == 0, result.output
    answers = answers_of(destination)
    assert (answers["author_name"], answers["license"], answers["seed"]) == ("Risk Team", "MIT", 9)


def test_example_preset_in_the_repository_renders(tmp_path: Path) -> None:
    result = invoke("new", tmp_path / "p", "--defaults", "--answers-file", REPO_ROOT / "presets/team-example.yml")
    assert result.exit_code == 0, result.output
    assert answers_of(tmp_path / "p")["license"] == "Proprietary"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("licence: MIT\n", "unknown answers file key(s): licence"),
        ("- a\n- b\n", "must be a mapping"),
        ("author_name: [unclosed\n", "is not valid YAML"),
        ("seed: -4\n", "invalid answer for seed"),
    ],
)
def test_bad_answers_files_are_refused(tmp_path: Path, content: str, fragment: str) -> None:
    preset = tmp_path / "preset.yml"
    preset.write_text(content)
    assert_one_line_error(invoke("new", tmp_path / "x", "--defaults", "--answers-file", preset), 2, fragment)
    assert not (tmp_path / "x").exists()


def test_missing_answers_file_is_refused(tmp_path: Path) -> None:
    result = invoke("new", tmp_path / "x", "--defaults", "--answers-file", tmp_path / "none.yml")
    assert_one_line_error(result, 2, "answers file not found")


def test_without_a_terminal_it_asks_for_defaults_instead_of_hanging(tmp_path: Path) -> None:
    result = invoke("new", tmp_path / "x")  # CliRunner's stdin is not a terminal
    assert_one_line_error(result, 2, "add --defaults")
    assert not (tmp_path / "x").exists()


def test_a_folder_that_is_not_a_template_is_refused(tmp_path: Path) -> None:
    result = invoke("new", tmp_path / "x", "--defaults", "--template", tmp_path)
    assert_one_line_error(result, 1, "is not a Copier template")


def test_an_unreachable_template_fails_with_status_1(tmp_path: Path) -> None:
    result = invoke("new", tmp_path / "x", "--defaults", "--template", tmp_path / "missing-template")
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error:") and "Traceback" not in result.output
    assert not (tmp_path / "x").exists()


def test_template_and_vcs_ref_select_a_version(tmp_path: Path) -> None:
    head = invoke("new", tmp_path / "p", "--defaults", "--template", REPO_ROOT, "--vcs-ref", "HEAD")
    assert head.exit_code == 0, head.output
    bad_ref = invoke("new", tmp_path / "q", "--defaults", "--template", REPO_ROOT, "--vcs-ref", "no-such-ref")
    assert bad_ref.exit_code == 1 and "Traceback" not in bad_ref.output


def accept_every_default_in_a_terminal(arguments: list[str], cwd: Path, timeout: float = 120) -> tuple[int, str]:
    """Run ``mlscaffold`` on a pseudo-terminal, pressing Enter at each prompt."""
    import os
    import pty
    import select
    import sys
    import time

    pid, terminal = pty.fork()
    if pid == 0:  # child: becomes mlscaffold, with the pty as its terminal
        os.chdir(cwd)
        os.execv(sys.executable, [sys.executable, "-m", "mlscaffold", *arguments])
    output, quiet_since, deadline = b"", time.monotonic(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([terminal], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(terminal, 65536)
            except OSError:  # the child closed the terminal: it has exited
                break
            if not chunk:
                break
            output, quiet_since = output + chunk, time.monotonic()
        elif time.monotonic() - quiet_since > 0.3:  # waiting at a prompt
            os.write(terminal, b"\r")
            quiet_since = time.monotonic()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


def test_interactive_interview_in_a_terminal_offers_preset_values_as_defaults(tmp_path: Path) -> None:
    preset = tmp_path / "team.yml"
    preset.write_text("author_name: Risk Team\nseed: 11\n")
    status, output = accept_every_default_in_a_terminal(
        ["new", "proj", "--answers-file", str(preset), "-d", "project_name=pty-demo"], tmp_path
    )
    assert status == 0, output[-3000:]
    assert "Author or owning team" in output and "Random seed" in output  # it asked
    answers = answers_of(tmp_path / "proj")
    assert (answers["project_name"], answers["author_name"], answers["seed"]) == ("pty-demo", "Risk Team", 11)
