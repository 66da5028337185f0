"""The ``mlscaffold`` command line: options, help texts and output; the work is elsewhere.

``answers`` checks ``--data`` and presets, ``new`` renders, ``update`` brings template
versions into projects (``check-update``, ``setup-offline`` too). Each command turns a
``CommandError`` into one ``error:`` line and its exit status (0 success, 2 usage, 1 anything
else, see ``errors``). The command modules import Copier, so they are imported inside the
commands: ``--help`` and ``--version`` stay fast.
"""

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from mlscaffold import __version__
from mlscaffold.errors import EXIT_FAILURE, CommandError
from mlscaffold.presets import preset_names, resolve_answers_file

app = typer.Typer(
    name="mlscaffold",
    help="Answer the questions a careful ML engineer asks, get a project that trains on the first command.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=False,
)


def fail(error: CommandError) -> NoReturn:
    typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
    raise typer.Exit(error.exit_code)


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
    preset: Annotated[
        str | None,
        typer.Option(
            "--preset",
            metavar="NAME",
            help=f"A preset shipped with mlscaffold, as --answers-file: {', '.join(preset_names()) or 'none'}.",
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
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Render after the summary without asking to confirm it.")
    ] = False,
) -> None:
    """Interview, then render a new ML project into DESTINATION.

    Prompts in a terminal, section by section, then prints a summary of the answers and
    the optional stages they render, and asks to confirm before writing anything. With
    [bold]--defaults[/bold] every unanswered question takes its default and the summary is
    printed without asking, so [cyan]mlscaffold new demo --defaults[/cyan] renders the
    PyTorch tabular classification project that trains on built-in demo data.
    [cyan]mlscaffold options[/cyan] lists every question.
    """
    from mlscaffold.new import create

    def review(summary: str) -> bool:
        typer.echo(summary)
        return defaults or yes or typer.confirm("Render the project with these answers?", default=True)

    try:
        steps = create(
            destination,
            data=data or [],
            answers_file=resolve_answers_file(preset, answers_file),
            defaults=defaults,
            template=template,
            vcs_ref=vcs_ref,
            force=force,
            review=review,
        )
    except CommandError as error:
        fail(error)
    typer.echo(steps)


@app.command()
def options(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the Markdown source even in a terminal (as in the README).")
    ] = False,
) -> None:
    """List every question of the interview: choices, default, when it is asked, what it changes.

    Read from the bundled template's [cyan]copier.yml[/cyan]; the README's options
    reference is this output. In a terminal the Markdown is rendered; piped, it is printed
    as is.
    """
    from mlscaffold.options import read_questions, reference_markdown
    from mlscaffold.template import bundled_template

    try:
        text = reference_markdown(read_questions(bundled_template()))
    except FileNotFoundError as error:
        fail(CommandError(str(error), EXIT_FAILURE))
    if markdown or not sys.stdout.isatty():
        typer.echo(text)
        return
    from rich.console import Console
    from rich.markdown import Markdown

    Console().print(Markdown(text))


@app.command()
def update(
    project: Annotated[Path, typer.Argument(help="The generated project (a clean git work tree).")] = Path("."),
    vcs_ref: Annotated[
        str | None, typer.Option("--vcs-ref", help="Template tag or commit to update to (default: the newest release).")
    ] = None,
    conflict: Annotated[
        str, typer.Option("--conflict", help="How to leave conflicts: inline (git markers) or rej (.rej files).")
    ] = "inline",
    pretend: Annotated[bool, typer.Option("--pretend", help="Show what would change; write nothing.")] = False,
    trust: Annotated[
        bool,
        typer.Option("--trust", help="Run the template's migrations (always on for mlscaffold's own template)."),
    ] = False,
) -> None:
    """Bring template improvements into PROJECT, keeping its owners' edits.

    Runs [cyan]copier update[/cyan]: the project's recorded template version is re-rendered
    with its answers, the owners' changes since then are replayed on the new version, and
    lines both changed are left as conflicts to resolve. Exits 1 while conflicts remain.
    See docs/releases.md for what each release moves.
    """
    from mlscaffold.update import RELEASE_NOTES_URL, update_project

    try:
        outcome = update_project(project, vcs_ref=vcs_ref, conflict=conflict, pretend=pretend, trust=trust)
    except CommandError as error:
        fail(error)
    if pretend:
        typer.echo(f"pretend: nothing written ({project} is at {outcome.before})")
        return
    typer.echo(f"updated {project} from template {outcome.before} to {outcome.after}")
    for relative in outcome.changed:
        typer.echo(f"  changed: {relative}")
    if outcome.removed:
        typer.echo(
            f"note: the new template version removed or moved {len(outcome.removed)} file(s); Copier deleted them "
            "here even where you had edited them (your versions: git diff HEAD -- PATH). "
            f"The release notes say where they moved and how to carry edits over: {RELEASE_NOTES_URL}"
        )
    if outcome.conflicts:
        for relative in outcome.conflicts:
            typer.secho(f"  conflict: {relative}", err=True, fg=typer.colors.RED)
        typer.secho(
            f"error: {len(outcome.conflicts)} file(s) with conflicts; resolve them, delete any .rej files, then commit",
            err=True,
            fg=typer.colors.RED,
        )
        raise typer.Exit(EXIT_FAILURE)
    typer.echo("review the changes (git diff), run the tests, then commit")


@app.command("check-update")
def check_update(
    project: Annotated[Path, typer.Argument(help="The generated project.")] = Path("."),
) -> None:
    """Say whether a newer template version than PROJECT's exists."""
    from mlscaffold.update import check_update as newer_versions

    try:
        current, newer, source = newer_versions(project)
    except CommandError as error:
        fail(error)
    if newer:
        typer.echo(f"newer template version available: {newer[0]} (project is at {current}); run mlscaffold update")
    else:
        typer.echo(f"up to date: template {current} is the newest release of {source}")


@app.command("setup-offline")
def setup_offline(
    remove: Annotated[bool, typer.Option("--remove", help="Take the rule out of the git configuration again.")] = False,
) -> None:
    """Let plain [cyan]copier update[/cyan] find mlscaffold's template offline, in this machine's store.

    Projects record the public repository as their template source. This writes one rule
    into your global git configuration ([cyan]url.<store>.insteadOf[/cyan]) so git, and so
    Copier, reads that repository from the local store, which holds every template version
    this mlscaffold carries. [cyan]mlscaffold update[/cyan] needs no set-up: it does the
    same for its own process.
    """
    from mlscaffold.template_store import PUBLIC_SOURCE, version_tags
    from mlscaffold.update import setup_offline as write_store_rule

    try:
        repository, tag, key = write_store_rule(remove)
    except CommandError as error:
        fail(error)
    if remove:
        typer.echo(f"removed {key} from the global git configuration")
        return
    typer.echo(f"template store {repository} holds {', '.join(version_tags(repository))} (installed: {tag})")
    typer.echo(f"git now reads {PUBLIC_SOURCE} from it: plain `copier update` works offline")
    typer.echo("undo with: mlscaffold setup-offline --remove")
