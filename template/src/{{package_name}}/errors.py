"""Errors a user can cause and fix.

Every stage catches :class:`ProjectError` at its entry point and prints only the message,
so a wrong path or column ends in one readable line instead of a library traceback.
Messages therefore say what went wrong *and* what to do about it.
"""


class ProjectError(Exception):
    """Base class of the errors that end a stage with a message for the user."""


class DataError(ProjectError):
    """The data files or their columns cannot be used as configured."""


class CheckpointError(ProjectError):
    """A checkpoint is missing, unreadable or does not fit the configured model."""


class NonFiniteLossError(ProjectError):
    """The training loss became NaN or infinite."""
