"""``mlscaffold new``: interview, then render, with every check before anything is written.

Rendering and the template's validators are Copier's; this adds the refusals that must
come first (unknown keys, mistyped answers, a non-empty folder, no terminal to ask in),
renders the bundled template as a tagged release of the store so that the project can
update later, and says what to run next.
"""

import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import copier

from mlscaffold.answers import given_answers
from mlscaffold.copier_errors import from_copier, invalid_answer, is_answer_error
from mlscaffold.errors import EXIT_USAGE, CommandError
from mlscaffold.summary import summary_text
from mlscaffold.template import bundled_template
from mlscaffold.template_store import PUBLIC_SOURCE, prepare_store, template_source

UNSAFE_HINT = "mlscaffold new renders only templates without them; if you trust this one, use copier copy --trust"


def create(
    destination: Path,
    *,
    data: list[str],
    answers_file: Path | None,
    defaults: bool,
    template: str | None,
    vcs_ref: str | None,
    force: bool,
    review: Callable[[str], bool] = lambda _summary: True,
) -> str:
    """Render a new project into ``destination``; returns the next steps to print.

    ``review`` gets the summary of the answers once the interview is over and nothing is
    written yet; rendering goes on only if it returns true (the CLI prints the summary
    and, in a terminal without ``--yes``/``--defaults``, asks to confirm).
    """
    given, preset = given_answers(data, answers_file, template or str(bundled_template()))
    check_destination(destination, force)
    if not defaults and not sys.stdin.isatty():
        raise CommandError(
            "no terminal to ask questions in; add --defaults (with --data KEY=VALUE or "
            "--answers-file for the answers you want) to render without prompts",
            EXIT_USAGE,
        )
    root = local_template(template, vcs_ref)
    source, vcs_ref = resolve_source(template, vcs_ref)
    answers, context = interview(source, destination, given, preset, defaults=defaults, vcs_ref=vcs_ref)
    package_name = str(answers.get("package_name", "<package>"))
    if not review(summary_text(answers, root, package_name=package_name, context=context)):
        raise CommandError("not confirmed; nothing was rendered")
    render(source, destination, answers, vcs_ref=vcs_ref, force=force)
    return next_steps(destination, package_name)


def local_template(template: str | None, vcs_ref: str | None) -> Path | None:
    """The folder whose files Copier renders, where that is known before rendering.

    The bundled template at the installed version, or a plain (non-git) local folder;
    for a git template Copier renders a tag or ``--vcs-ref``, which may differ from the
    folder's files, so the summary then leaves the optional stages out.
    """
    if template is None:
        return bundled_template() if vcs_ref is None else None
    folder = Path(template)
    if vcs_ref is None and folder.is_dir() and not (folder / ".git").exists():
        return folder
    return None


def check_destination(destination: Path, force: bool) -> None:
    if destination.exists() and not destination.is_dir():
        raise CommandError(f"{destination} exists and is not a directory", EXIT_USAGE)
    if destination.is_dir() and any(destination.iterdir()) and not force:
        raise CommandError(
            f"{destination} is not empty; choose a new directory or pass --force to render into it",
            EXIT_USAGE,
        )


def next_steps(destination: Path, package_name: str) -> str:
    return "\n".join(
        [
            f"Created {destination}. Next:",
            f"  cd {destination}",
            "  make setup      # pip install -e '.[dev]' (uv pip where there is no pip)",
            f"  make train      # python -m {package_name}.training  (built-in demo data)",
            f"  make evaluate   # python -m {package_name}.evaluation -> artifacts/runs/<run>/metrics.json",
            "  make test       # the fast tier; make test-all runs every test",
        ]
    )


def resolve_source(template: str | None, vcs_ref: str | None) -> tuple[str, str | None]:
    """The template to render: the given one, or the bundled one as a tagged store release.

    The bundled template is committed to the local store (see ``template_store``) and
    rendered as ``PUBLIC_SOURCE`` redirected there, so the project records a source and tag
    that ``copier update`` can return to on any machine.
    """
    if template is not None:
        return template, vcs_ref
    _, tag = prepare_store()
    return PUBLIC_SOURCE, vcs_ref or tag


def copy(source: str, destination: Path, **options: Any) -> Any:
    """``copier.run_copy`` from ``source`` (read from the store for the bundled template)."""
    with warnings.catch_warnings(), template_source(source):
        # Rendering from a source checkout with uncommitted edits is normal while
        # developing a template; Copier includes them and says so on every run.
        warnings.filterwarnings("ignore", message="Dirty template changes")
        return copier.run_copy(source, destination, quiet=True, unsafe=False, **options)


def template_opens(source: str, vcs_ref: str | None) -> bool:
    """Whether Copier can open ``source`` at ``vcs_ref`` and render its defaults (nothing is written)."""
    with tempfile.TemporaryDirectory(prefix="mlscaffold-probe-") as scratch:
        try:
            copy(source, Path(scratch) / "project", defaults=True, vcs_ref=vcs_ref, pretend=True)
        except Exception:  # any failure: the template (or its ref), not the answers
            return False
    return True


def blame(error: Exception, source: str, vcs_ref: str | None) -> CommandError:
    """The one-line error for a failed copy, chosen by the exception's class.

    Copier's own classes say what went wrong. A plain ``ValueError``/``TypeError``/
    ``YAMLError`` comes from reading an answer, or from a template Copier could not open (a
    missing folder, an unknown ``--vcs-ref``); only then is the template opened again
    without the answers: if that works, the answers are at fault (status 2).
    """
    if is_answer_error(error) and template_opens(source, vcs_ref):
        return invalid_answer(error)
    return from_copier(error, unsafe_hint=UNSAFE_HINT)


def run_copier_copy(source: str, destination: Path, **options: Any) -> Any:
    """``copy`` with Copier's exceptions turned into one-line command errors."""
    try:
        return copy(source, destination, **options)
    except KeyboardInterrupt as interrupt:  # CopierAnswersInterrupt too: it is one
        raise CommandError("interrupted; nothing was rendered") from interrupt
    except Exception as error:  # Copier raises many types; `blame` maps each to one line
        raise blame(error, source, options.get("vcs_ref")) from error


def interview(
    source: str,
    destination: Path,
    given: dict[str, Any],
    preset: dict[str, Any],
    *,
    defaults: bool,
    vcs_ref: str | None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Ask (or take from ``--data``, the preset or the defaults) every answer; write nothing.

    Copier's pretend mode runs the whole interview and its validators without rendering.
    Returns the answers of the questions that apply; a question skipped by its ``when``
    (say mixed_precision after accelerator=cpu) is left out, so it gets the template's
    default at render time, never a preset value that only fits the questions as asked.

    Also returns every value the render will use (the summary's context), or ``None`` when
    a skipped question was given a value, which the render replaces by its default: the
    summary then asks Copier for the values again.
    """
    worker = run_copier_copy(
        source, destination, data=given, user_defaults=preset, defaults=defaults, vcs_ref=vcs_ref, pretend=True
    )
    # `hidden`: the questions Copier skipped, which its answers file leaves out (the same set
    # since Copier 9.4; tests/test_interview.py fails if a preset leaks past it).
    hidden = worker.answers.hidden
    answers = {name: value for name, value in worker.answers.user.items() if name not in hidden}
    overridden = hidden & (set(given) | set(preset))
    return answers, None if overridden else dict(worker.answers.combined)


def render(source: str, destination: Path, answers: dict[str, Any], *, vcs_ref: str | None, force: bool) -> None:
    """Render the project from the interview's answers, without asking anything again.

    The answers go to Copier as data, so each one passes the same parsing and validators
    as a ``--data`` answer whichever way it was given (a prompt, a preset, a default).
    """
    run_copier_copy(source, destination, data=answers, defaults=True, vcs_ref=vcs_ref, overwrite=force)
