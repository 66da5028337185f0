"""Exit statuses and the one-line error every command ends with.

Scripts rely on the statuses: 0 success, 2 usage (a bad option or answer, a non-empty
folder, no terminal to ask in), 1 anything else. Kept free of Copier so that ``--help``
and ``--version`` stay fast; Copier's exceptions are mapped in ``copier_errors``.
"""

import re

EXIT_FAILURE = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """A failure to report as one line, with the exit status to end on."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def one_line(text: str) -> str:
    """Collapse a multi-line message (Copier's validators and git wrap theirs) into one line."""
    return re.sub(r"\s+", " ", text).strip()
