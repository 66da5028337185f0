"""``mlscaffold options``: the reference of every question, read from ``copier.yml`` itself.

One source of truth: the question's ``help`` is what the interview asks, the ``#:`` comment
lines right above it say what it changes in the project, the section headings open the
help of each section's first question, and choices, defaults and ``when`` come from the
question's own keys. The README's options reference is this module's Markdown, so the two
cannot drift (``tests/test_options.py``; ``make readme-options`` rewrites the block).

Copier documents no extra keys on a question, so the descriptions live in comments, which
YAML (and so Copier) ignores whatever its version.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlscaffold.template import config_questions, read_config

# "[3/8] Targets: what a model must reach to be released" as the first line of a help text.
HEADING = re.compile(r"\A\[(\d+)/(\d+)\] (.+?)\n")
JINJA_NAMES = re.compile(r"\b[a-z_][a-z0-9_]*\b")
REFERENCE_START = "<!-- options-reference:start -->"
REFERENCE_END = "<!-- options-reference:end -->"
TYPE_WORDS = {"str": "text", "bool": "yes/no", "int": "whole number", "float": "number", "yaml": "YAML", "json": "JSON"}


@dataclass(frozen=True)
class Choice:
    value: Any
    title: str
    conditional: bool  # it has a validator: refused after earlier answers it does not fit


@dataclass(frozen=True)
class Question:
    name: str
    section: str
    help: str
    changes: str
    kind: str
    choices: tuple[Choice, ...]
    multiselect: bool
    default: Any  # the value with every earlier answer at its default
    default_from: tuple[str, ...]  # the earlier questions a computed default depends on
    asked: str  # when it is asked, in words


def doc_comments(config_text: str) -> dict[str, str]:
    """The ``#:`` lines right above each top-level key, joined into one paragraph."""
    found: dict[str, str] = {}
    pending: list[str] = []
    for line in config_text.splitlines():
        if line.startswith("#:"):
            pending.append(line[2:].strip())
            continue
        key = re.match(r"([A-Za-z_][A-Za-z0-9_]*):", line)
        if key and pending:
            found[key.group(1)] = " ".join(pending)
        pending = []
    return found


def split_heading(help_text: str) -> tuple[str | None, str]:
    """``(section heading or None, the question's own help)`` of a help text."""
    match = HEADING.match(help_text)
    if not match:
        return None, help_text
    return match.group(3), help_text[match.end() :]


def section_headings(questions: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Each question's section, from the heading that opens its section's first question."""
    sections: dict[str, str] = {}
    current = "Questions"
    for name, details in questions.items():
        heading, _ = split_heading(str(details.get("help", "")))
        current = heading or current
        sections[name] = current
    return sections


def when_in_words(when: Any) -> str:
    """A ``when:`` condition as a reader says it; anything not recognised is quoted verbatim."""
    if when is True or when is None:
        return "always"
    expression = str(when).strip()
    inner = re.fullmatch(r"\{\{\s*(.+?)\s*\}\}", expression, re.DOTALL)
    body = inner.group(1) if inner else expression
    patterns = [
        (r"([a-z_]\w*)", "only if {0} is yes"),
        (r"([a-z_]\w*) == '([^']*)'", "only if {0} is {1}"),
        (r"([a-z_]\w*) != '([^']*)'", "only if {0} is not {1}"),
        (r"([a-z_]\w*)\.replace\(',', ' '\)\.strip\(\) != ''", "only if {0} names at least one column"),
    ]
    for pattern, words in patterns:
        match = re.fullmatch(pattern, body)
        if match:
            return words.format(*match.groups())
    return f"only if `{body}`"


def choices_of(details: dict[str, Any]) -> tuple[Choice, ...]:
    """A question's choices in Copier's three spellings: a list, title: value, title: {value, validator}."""
    raw = details.get("choices") or []
    if isinstance(raw, list):
        return tuple(Choice(value, str(value), False) for value in raw)
    choices = []
    for title, value in raw.items():
        if isinstance(value, dict):
            choices.append(Choice(value["value"], str(title), "validator" in value))
        else:
            choices.append(Choice(value, str(title), False))
    return tuple(choices)


def depends_on(details: dict[str, Any], names: list[str], own: str) -> tuple[str, ...]:
    """The other questions a templated default reads (none for a plain value)."""
    default = details.get("default")
    if not isinstance(default, str) or "{" not in default:
        return ()
    used = set(JINJA_NAMES.findall(default))
    return tuple(name for name in names if name in used and name != own)


def template_values(template_root: Path, answers: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every question's value for ``answers`` (the rest at their defaults), computed by Copier.

    The values the template renders with, as ``mlscaffold new`` renders (``--data`` with
    ``--defaults``): Copier renders the templated defaults (with its own Jinja filters) in a
    pretend copy of ``copier.yml`` alone, with an empty template folder: nothing is
    written, and the repository (with uncommitted edits) is not cloned.
    """
    import copier

    config = template_root / "copier.yml"
    with tempfile.TemporaryDirectory(prefix="mlscaffold-options-") as scratch:
        root = Path(scratch)
        shutil.copy(config, root / "copier.yml")
        subdirectory = read_config(template_root).get("_subdirectory", "")
        (root / subdirectory).mkdir(parents=True, exist_ok=True)
        worker = copier.run_copy(str(root), root / "out", data=answers or {}, defaults=True, pretend=True, quiet=True)
        return dict(worker.answers.combined)


def render_help(text: str, answers: dict[str, Any]) -> str:
    """A help text with its Jinja rendered for the default answers (as the interview shows it)."""
    if "{" not in text:
        return text
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment().from_string(text).render(answers)


def read_questions(template_root: Path) -> list[Question]:
    """Every question of ``template_root/copier.yml`` in interview order (computed values left out)."""
    questions = config_questions(read_config(template_root))
    comments = doc_comments((template_root / "copier.yml").read_text(encoding="utf-8"))
    sections, defaults, names = section_headings(questions), template_values(template_root), list(questions)
    return [
        Question(
            name=name,
            section=sections[name],
            help=render_help(split_heading(str(details.get("help", "")))[1], defaults).strip(),
            changes=comments.get(name, ""),
            kind=str(details.get("type", "str")),
            choices=choices_of(details),
            multiselect=bool(details.get("multiselect", False)),
            default=defaults.get(name),
            default_from=depends_on(details, names, name),
            asked=when_in_words(details.get("when", True)),
        )
        for name, details in questions.items()
    ]


def shown(value: Any) -> str:
    """An answer as the reference and the summary print it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value == "":
        return "(empty)"
    if value in ([], None):
        return "none"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def choice_text(choice: Choice) -> str:
    title = "" if choice.title == str(choice.value) else f": {choice.title}"
    return f"`{choice.value}`{title}{' *' if choice.conditional else ''}"


def question_markdown(question: Question) -> list[str]:
    """One question's entry: name and help, then type, choices, default, when asked, changes."""
    kind = "several of" if question.multiselect else "one of" if question.choices else TYPE_WORDS.get(question.kind)
    default = f"`{shown(question.default)}`"
    if question.default_from:
        default += f" (computed from {', '.join(question.default_from)})"
    lines = [f"**`{question.name}`**: {question.help}", ""]
    if question.choices:
        lines.append(f"- {kind}: {'; '.join(choice_text(choice) for choice in question.choices)}")
    else:
        lines.append(f"- type: {kind}")
    lines += [f"- default: {default}", f"- asked: {question.asked}"]
    if question.changes:
        lines.append(f"- changes: {question.changes}")
    return [*lines, ""]


def reference_markdown(questions: list[Question]) -> str:
    """The options reference as Markdown: what ``mlscaffold options`` prints and the README holds."""
    lines = [
        f"{len(questions)} questions. Defaults are those of a project answered with `--defaults`; "
        "a computed default follows earlier answers. A choice marked * is refused after earlier "
        "answers it does not fit (the prompt shows it disabled, with the reason).",
        "",
    ]
    section = None
    for question in questions:
        if question.section != section:
            section = question.section
            lines += [f"#### {section}", ""]
        lines += question_markdown(question)
    return "\n".join(lines).rstrip("\n")
