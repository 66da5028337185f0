"""The ``mlscaffold`` command: a thin, friendly layer over Copier's Python API.

Rendering, validation of answers and (later) updates are Copier's job; this module adds
what a command line for ML teams needs around it: checks that fail before anything is
written, one-line error messages with the fix, exit codes scripts can rely on
(0 success, 2 usage error, 1 anything else) and the next commands to run.
"""

import re
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import yaml

from mlscaffold import __version__
from mlscaffold.template import answerable_questions, bundled_template

EXIT_FAILURE = 1
EXIT_USAGE = 2

app = typer.Typer(
    name="mlscaffold",
    help="Answer the questions a careful ML engineer asks, get a project that trains on the first command.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=False,
)


class CommandError(Exception):
    """A failure to report as one line, with the exit status to end on."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def fail(error: CommandError) -> NoReturn:
    typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
    raise typer.Exit(error.exit_code)


def one_line(text: str) -> str:
    """Collapse a multi-line message (Copier validators wrap) into one line."""
    return re.sub(r"\s+", " ", text).strip()


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"mlscaffold {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Generate and maintain machine-learning projects from a requirements interview."""


# ---------------------------------------------------------------- answers
def parse_data_options(items: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` pairs from ``--data``; values are typed later by Copier's questions."""
    answers: dict[str, str] = {}
    for item in items:
        key, separator, value = item.partition("=")
        if not separator or not key.strip():
            raise CommandError(f"--data expects KEY=VALUE, got '{item}'", EXIT_USAGE)
        answers[key.strip()] = value
    return answers


def read_answers_file(path: Path) -> dict[str, Any]:
    """A YAML mapping of preset answers; Copier's own ``_``-keys (answers files) are skipped."""
    if not path.is_file():
        raise CommandError(f"answers file not found: {path}", EXIT_USAGE)
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise CommandError(f"answers file {path} is not valid YAML: {one_line(str(error))}", EXIT_USAGE) from error
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise CommandError(f"answers file {path} must be a mapping of question: answer", EXIT_USAGE)
    return {str(key): value for key, value in content.items() if not str(key).startswith("_")}


def template_questions(template: str) -> dict[str, dict[str, Any]] | None:
    """The questions of a local template, or ``None`` for a remote one (checked by Copier)."""
    root = Path(template)
    for name in ("copier.yml", "copier.yaml"):
        config_file = root / name
        if config_file.is_file():
            config = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
            questions = {k: v for k, v in config.items() if not k.startswith("_")}
            return answerable_questions({k: v if isinstance(v, dict) else {"default": v} for k, v in questions.items()})
    if root.exists():
        raise CommandError(f"{template} is not a Copier template (no copier.yml in it)")
    return None


def refuse_unknown_keys(answers: dict[str, Any], questions: dict[str, Any] | None, origin: str) -> None:
    if questions is None:
        return
    unknown = sorted(set(answers) - set(questions))
    if unknown:
        raise CommandError(
            f"unknown {origin} key(s): {', '.join(unknown)}. Valid keys: {', '.join(questions)}",
            EXIT_USAGE,
        )


def check_destination(destination: Path, force: bool) -> None:
    if destination.exists() and not destination.is_dir():
        raise CommandError(f"{destination} exists and is not a directory", EXIT_USAGE)
    if destination.is_dir() and any(destination.iterdir()) and not force:
        raise CommandError(
            f"{destination} is not empty; choose a new directory or pass --force to render into it",
            EXIT_USAGE,
        )


def explain_copier_error(error: Exception) -> CommandError:
    """Turn Copier's exceptions into one line and the right exit status."""
    message = one_line(str(error)) or type(error).__name__
    match = re.match(r"Validation error for question '(\w+)': (.*)", message)
    if match:
        return CommandError(f"invalid answer for {match.group(1)}: {match.group(2)}", EXIT_USAGE)
    answer_problems = ("Invalid choice", "invalid literal", "could not convert", "Invalid answer")
    if type(error).__name__ in ("InvalidTypeError", "InteractiveSessionError") or any(
        problem in message for problem in answer_problems
    ):
        return CommandError(f"invalid answer: {message}", EXIT_USAGE)
    return CommandError(message)


def next_steps(destination: Path, package_name: str) -> str:
    return "\n".join(
        [
            f"Created {destination}. Next:",
            f"  cd {destination}",
            "  make setup      # pip install -e '.[dev]'",
            f"  make train      # python -m {package_name}.train  (built-in demo data)",
            f"  make evaluate   # python -m {package_name}.evaluate -> artifacts/metrics.json",
            "  make test",
        ]
    )


# ---------------------------------------------------------------- commands
@app.command()
def new(
    destination: Annotated[Path, typer.Argument(help="Folder to create the project in (must be new or empty).")],
    data: Annotated[
        list[str] | None,
        typer.Option("--data", "-d", metavar="KEY=VALUE", help="Answer a question, e.g. -d task=regression."),
    ] = None,
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Answer every question not given with its default; never prompt.")
    ] = False,
    answers_file: Annotated[
        Path | None,
        typer.Option(
            "--answers-file",
            help="YAML preset of answers (a team's defaults); --data wins over it. Shown as defaults when prompting.",
        ),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option("--template", help="Template path or git URL (default: the template bundled with mlscaffold)."),
    ] = None,
    vcs_ref: Annotated[
        str | None, typer.Option("--vcs-ref", help="Git tag, branch or commit of the template to render.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Render into a non-empty folder.")] = False,
) -> None:
    """Interview, then render a new ML project into DESTINATION.

    Prompts in a terminal; with [bold]--defaults[/bold] every unanswered question takes its
    default, so [cyan]mlscaffold new demo --defaults[/cyan] renders the PyTorch tabular
    classification project that trains on built-in demo data.
    """
    try:
        source = template or str(bundled_template())
        given = parse_data_options(data or [])
        preset = read_answers_file(answers_file) if answers_file else {}
        questions = template_questions(source)
        refuse_unknown_keys(given, questions, "--data")
        refuse_unknown_keys(preset, questions, "answers file")
        check_destination(destination, force)
        if not defaults and not sys.stdin.isatty():
            raise CommandError(
                "no terminal to ask questions in; add --defaults (with --data KEY=VALUE or "
                "--answers-file for the answers you want) to render without prompts",
                EXIT_USAGE,
            )
        answers = render(source, destination, given, preset, defaults=defaults, vcs_ref=vcs_ref, force=force)
    except CommandError as error:
        fail(error)
    typer.echo(next_steps(destination, str(answers.get("package_name", "<package>"))))


def render(
    source: str,
    destination: Path,
    given: dict[str, Any],
    preset: dict[str, Any],
    *,
    defaults: bool,
    vcs_ref: str | None,
    force: bool,
) -> dict[str, Any]:
    """Run Copier; returns the answers it recorded."""
    import copier  # imported here: `--help` and `--version` stay fast

    try:
        with warnings.catch_warnings():
            # Rendering from a source checkout with uncommitted edits is normal while
            # developing a template; Copier includes them and says so on every run.
            warnings.filterwarnings("ignore", message="Dirty template changes")
            worker = copier.run_copy(
                source,
                destination,
                data=given,
                user_defaults=preset,
                defaults=defaults,
                vcs_ref=vcs_ref,
                overwrite=force,
                quiet=True,
                unsafe=False,
            )
    except KeyboardInterrupt as interrupt:
        raise CommandError("interrupted; nothing was rendered") from interrupt
    except Exception as error:  # Copier raises many types; each becomes one line
        raise explain_copier_error(error) from error
    return dict(worker.answers.combined)
