"""The README's Quickstart is the contract: two one-line commands, the second run by CI."""

import re
import subprocess

from .conftest import REPO_ROOT


def quickstart_command(marker: str) -> str:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- {marker} -->\s*```bash\n(.*?)\n```", readme, re.DOTALL)
    assert match, f"README.md has no bash block after <!-- {marker} -->"
    return match.group(1)


def test_quickstart_is_two_single_line_commands() -> None:
    run_command, test_command = quickstart_command("quickstart-run"), quickstart_command("quickstart-test")
    assert "\n" not in run_command and "\n" not in test_command
    assert "mlscaffold new" in run_command and "--defaults" in run_command and "train" in run_command
    assert test_command.endswith("pytest")
    for command in (run_command, test_command):
        assert "torch==2.14.1 torchvision==0.29.1" in command  # never an unpinned torch


def test_ci_runs_exactly_the_readme_test_command() -> None:
    script = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    extract = script[script.index("test_command=") : script.index('if [ -z "$test_command" ]')]
    printed = subprocess.run(
        ["bash", "-c", f'{extract}\nprintf "%s" "$test_command"'], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert printed.stdout == quickstart_command("quickstart-test")
    assert 'eval "$test_command"' in script
