"""Errors a user can cause and fix: each stage prints only the message (which says what went
wrong and what to do), not a library traceback."""

from collections.abc import Callable


class ProjectError(Exception):
    """Base class of the errors that end a stage with a message for the user."""


class DataError(ProjectError):
    """The data files or their columns cannot be used as configured."""


class CheckpointError(ProjectError):
    """A checkpoint is missing, unreadable or does not fit the configured model."""


class ExportError(ProjectError):
    """The model cannot be exported, or the exported model does not compute what it computes."""


class NonFiniteLossError(ProjectError):
    """The training loss became NaN or infinite."""


def exit_on_user_error(stage: Callable[[], object]) -> None:
    """Run ``stage``; a :class:`ProjectError` ends the process with its message (status 1),
    while genuine bugs still show their traceback."""
    try:
        stage()
    except ProjectError as error:
        raise SystemExit(f"error: {error}") from None
