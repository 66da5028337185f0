"""The summary ``mlscaffold new`` prints between the interview and the render.

It lists the answers under the interview's section headings and which optional parts of
the project the answers render. Those parts are read from the template itself: a file or
folder whose name holds a Jinja condition (``{% if serving %}serving{% endif %}``) is
rendered when its name renders non-empty, so the summary says what Copier will write, not
what a list kept beside the template claims.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

from mlscaffold.options import section_headings, shown, template_values
from mlscaffold.template import config_questions, read_config

STAGES_FOLDER = ("src", "{{package_name}}")  # a generated project's stages live in src/<package>/


@dataclass(frozen=True)
class Parts:
    """Optional parts of the project: stages (``src/<package>/<stage>/``) and the rest."""

    stages: dict[str, bool]  # stage name: rendered
    other: dict[str, bool]  # path (folders end in '/'): rendered


def render_name(parts: tuple[str, ...], context: dict[str, Any], suffix: str) -> str | None:
    """A template path as Copier names it for ``context``; ``None`` when a component renders empty."""
    environment = SandboxedEnvironment()
    rendered = []
    for part in parts:
        source = part.removesuffix(suffix) if suffix else part
        name = environment.from_string(source).render(context) if "{" in source else source
        if not name:
            return None
        rendered.append(name)
    return "/".join(rendered)


def plain_name(part: str) -> str:
    """The name a conditional path component has when its condition holds: the text between
    ``{% if ... %}`` and ``{% endif %}`` (the stage ``serving`` in ``{% if serving %}serving{% endif %}``)."""
    return part.split("%}", 1)[1].split("{%", 1)[0] if "{%" in part else part


def conditional_paths(template_dir: Path) -> list[tuple[tuple[str, ...], bool]]:
    """Every path of ``template_dir`` with a Jinja condition in its own name, and whether it is a folder."""
    found = []
    for folder, folders, files in os.walk(template_dir):
        relative = Path(folder).relative_to(template_dir).parts
        for name in sorted(folders) + sorted(files):
            if "{%" in name:
                found.append(((*relative, name), name in folders))
    return found


def optional_parts(template_root: Path, context: dict[str, Any]) -> Parts:
    """Which optional stages and other parts (root files, folders outside src/ and tests/) render."""
    config = read_config(template_root)
    template_dir = template_root / config.get("_subdirectory", "")
    suffix = config.get("_templates_suffix", ".jinja")
    stages: dict[str, bool] = {}
    other: dict[str, bool] = {}
    for parts, is_folder in conditional_paths(template_dir):
        if parts[:-1] == STAGES_FOLDER and is_folder:
            stage = plain_name(parts[-1])
            stages[stage] = stages.get(stage, False) or render_name(parts[-1:], context, suffix) is not None
        elif parts[0] not in ("src", "tests") and (is_folder or len(parts) == 1):
            label = "/".join(map(plain_name, parts)) + ("/" if is_folder else "")
            other[label] = render_name(parts, context, suffix) is not None
    return Parts(stages=dict(sorted(stages.items())), other=dict(sorted(other.items())))


def listed(entries: dict[str, bool], rendered: bool) -> str:
    names = [name for name, state in entries.items() if state is rendered]
    return ", ".join(names) if names else "none"


def answers_by_section(answers: dict[str, Any], questions: dict[str, dict[str, Any]] | None) -> list[str]:
    """The answers under the interview's headings, in interview order."""
    sections = section_headings(questions) if questions else {}
    lines: list[str] = []
    current = None
    for name in (name for name in (questions or answers) if name in answers):
        section = sections.get(name, "Answers")
        if section != current:
            current = section
            lines.append(f"{section}")
        lines.append(f"  {name}: {shown(answers[name])}")
    return lines


def summary_text(
    answers: dict[str, Any], template_root: Path | None, *, package_name: str, context: dict[str, Any] | None = None
) -> str:
    """The answers by section, then the optional parts the render will write (when the template is local).

    ``context``: every value the render uses, where the interview knows them; otherwise
    Copier computes them from ``answers`` as the render will.
    """
    questions = config_questions(read_config(template_root)) if template_root is not None else None
    lines = ["Summary of the answers (nothing is written yet):", *answers_by_section(answers, questions)]
    if template_root is None:
        return "\n".join([*lines, "Optional stages: listed for the bundled template or a local folder without git."])
    parts = optional_parts(template_root, context if context is not None else template_values(template_root, answers))
    lines += [
        f"Optional stages in src/{package_name}/:",
        f"  rendered: {listed(parts.stages, True)}",
        f"  left out: {listed(parts.stages, False)}",
        "Other optional parts:",
        f"  rendered: {listed(parts.other, True)}",
        f"  left out: {listed(parts.other, False)}",
    ]
    return "\n".join(lines)
