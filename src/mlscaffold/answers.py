"""Answers given on the command line (``--data``) and in presets (``--answers-file``).

Everything here runs before Copier does, on the template's ``copier.yml``, so a mistyped
key or a value Copier would silently coerce is refused with the fix before anything is
written. What the answers mean (ranges, choices, the template's validators) stays
Copier's job.
"""

from pathlib import Path
from typing import Any

import yaml

from mlscaffold.errors import EXIT_FAILURE, EXIT_USAGE, CommandError, one_line
from mlscaffold.template import config_questions

# The yes/no spellings accepted (any case); copier.yml's validators accept the same ones.
YES_NO = frozenset({"true", "false", "yes", "no", "y", "n", "on", "off", "1", "0"})


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
            return config_questions(yaml.safe_load(config_file.read_text(encoding="utf-8")) or {})
    if root.exists():
        raise CommandError(f"{template} is not a Copier template (no copier.yml in it)", EXIT_FAILURE)
    return None


def question_type(details: dict[str, Any]) -> str:
    """A question's type as Copier infers it: the ``type`` key, else the default's type."""
    declared = details.get("type")
    if isinstance(declared, str) and declared:
        return declared
    return {bool: "bool", int: "int", float: "float"}.get(type(details.get("default")), "str")


def is_yes_no(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, int | float):
        return value in (0, 1)
    return isinstance(value, str) and value.strip().lower() in YES_NO


def is_number(value: Any, kind: str) -> bool:
    """Whether Copier's int()/float() reads ``value`` as it was meant (no bool, no 7.5 -> 7)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return kind == "float" or value.is_integer()
    if isinstance(value, str):
        try:
            int(value) if kind == "int" else float(value)
        except ValueError:
            return False
        return True
    return False


def refuse_mistyped_answers(answers: dict[str, Any], questions: dict[str, Any] | None) -> None:
    """Refuse yes/no and number answers Copier would coerce or report without the question.

    Copier casts any text it does not recognise to *yes* (``-d serving=flase`` would render a
    server), and a non-number to a bare "could not convert string to float". Ranges and
    finiteness are the template validators' job; this only checks the kind of value.
    """
    if questions is None:
        return
    for name, value in answers.items():
        kind = question_type(questions[name])
        if kind == "bool" and not is_yes_no(value):
            raise CommandError(
                f"invalid answer for {name}: answer yes or no (true/false, y/n, on/off, 1/0), not '{value}'",
                EXIT_USAGE,
            )
        if kind in ("int", "float") and not is_number(value, kind):
            wanted = "a whole number" if kind == "int" else "a number"
            raise CommandError(f"invalid answer: {name} must be {wanted}, got '{value}'", EXIT_USAGE)


def refuse_unknown_keys(answers: dict[str, Any], questions: dict[str, Any] | None, origin: str) -> None:
    if questions is None:
        return
    unknown = sorted(set(answers) - set(questions))
    if unknown:
        raise CommandError(
            f"unknown {origin} key(s): {', '.join(unknown)}. Valid keys: {', '.join(questions)}",
            EXIT_USAGE,
        )


def given_answers(data: list[str], answers_file: Path | None, template: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``--data`` answers and the preset, each checked against the template's questions."""
    given = parse_data_options(data)
    preset = read_answers_file(answers_file) if answers_file else {}
    questions = template_questions(template)
    refuse_unknown_keys(given, questions, "--data")
    refuse_unknown_keys(preset, questions, "answers file")
    refuse_mistyped_answers(preset, questions)
    refuse_mistyped_answers(given, questions)
    return given, preset
