"""Errors a user can cause and fix.

Every stage catches :class:`ProjectError` at its entry point and prints only the message,
so a wrong path or column ends in one readable line instead of a library traceback.
Messages therefore say what went wrong *and* what to do about it.
"""

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
    """Run ``stage``; a :class:`ProjectError` ends the process with its message, status 1.

    Entry points use this so that a mistake in data or config prints one line saying what
    to fix, while genuine bugs still show their traceback.
    """
    try:
        stage()
    except ProjectError as error:
        raise SystemExit(f"error: {error}") from None
