"""Copier's exceptions as one-line command errors, chosen by the exception's class.

Copier 9 raises its own classes (``copier.errors``) for what it checks itself, and plain
``ValueError``/``TypeError``/``yaml.YAMLError`` from parsing and validating an answer.
A template it cannot open (a missing folder, an unknown ``--vcs-ref``) is also a plain
``ValueError``, so the class alone cannot say whose fault those are: ``new`` asks Copier to
open the template on its own when one of them comes (see ``new.blame``), never the text.
"""

import re

import yaml
from copier.errors import CopierError, InteractiveSessionError, UnsafeTemplateError, UserMessageError

from mlscaffold.errors import EXIT_FAILURE, EXIT_USAGE, CommandError, one_line

# What Copier's questions raise for an answer they cannot parse or that a validator
# refuses: a ValueError (a choice, a validator, a number), InvalidTypeError (a TypeError)
# for a value of the wrong kind, a YAMLError for a malformed list or mapping.
ANSWER_ERRORS: tuple[type[Exception], ...] = (ValueError, TypeError, yaml.YAMLError)

# Copier's own error classes, most specific first, and the status each ends with. Any
# other exception (git failing to clone, a file that cannot be written) ends with 1.
COPIER_ERRORS: tuple[tuple[type[CopierError], int], ...] = (
    (InteractiveSessionError, EXIT_USAGE),
    (UnsafeTemplateError, EXIT_FAILURE),
    (UserMessageError, EXIT_FAILURE),
    (CopierError, EXIT_FAILURE),
)

# How Copier names the question in its answer errors: used only to shorten the line to
# "invalid answer for NAME: why" once the error's class has said it is an answer's fault.
QUESTION_PREFIX = re.compile(r"^(?:Validation error for question|Invalid choice for) '(\w+)': ")


def message_of(error: BaseException) -> str:
    return one_line(str(error)) or type(error).__name__


def is_answer_error(error: Exception) -> bool:
    """Whether Copier raised this while reading an answer (not one of its own classes)."""
    return isinstance(error, ANSWER_ERRORS) and not isinstance(error, CopierError)


def invalid_answer(error: Exception) -> CommandError:
    """An answer Copier refused, as a usage error naming the question where Copier does."""
    message = message_of(error)
    named = QUESTION_PREFIX.match(message)
    if named:
        return CommandError(f"invalid answer for {named.group(1)}: {message[named.end() :]}", EXIT_USAGE)
    return CommandError(f"invalid answer: {message}", EXIT_USAGE)


def from_copier(error: Exception, *, unsafe_hint: str) -> CommandError:
    """One of Copier's own errors, or any other exception, as a one-line failure.

    ``unsafe_hint`` replaces Copier's advice for a template with tasks or migrations
    (``UnsafeTemplateError``), which names ``copier``'s options, not this command's.
    """
    message = message_of(error)
    if isinstance(error, UnsafeTemplateError):
        message = f"{one_line(str(error).splitlines()[0]).rstrip('.')}; {unsafe_hint}"
    elif isinstance(error, InteractiveSessionError):
        message = f"{message}; add --defaults (with --data KEY=VALUE for the answers you want)"
    for kind, exit_code in COPIER_ERRORS:
        if isinstance(error, kind):
            return CommandError(message, exit_code)
    return CommandError(message, EXIT_FAILURE)
