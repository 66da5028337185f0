"""Presets shipped with mlscaffold: answer files for common starts, found by name.

``mlscaffold new DEST --preset credit-risk`` is ``--answers-file <the shipped
credit-risk.yml>``: the same file, read and checked the same way (``answers``), so a
preset can be copied, edited and passed with ``--answers-file`` as a team's own. The
wheel carries ``presets/`` as ``mlscaffold/_presets/`` (pyproject.toml's force-include),
so names resolve in an installed mlscaffold with no checkout around it; in a source
checkout (editable install) they are read from the repository's ``presets/`` folder.

This module imports nothing heavy: the CLI lists the names in ``--help``.
"""

from pathlib import Path

from mlscaffold.errors import EXIT_USAGE, CommandError
from mlscaffold.template import CHECKOUT_ROOT

PACKAGED_PRESETS = Path(__file__).parent / "_presets"
CHECKOUT_PRESETS = CHECKOUT_ROOT / "presets"
SUFFIX = ".yml"


def presets_dir() -> Path | None:
    """The folder of shipped presets: the wheel's copy first, else the checkout's."""
    for candidate in (PACKAGED_PRESETS, CHECKOUT_PRESETS):
        if candidate.is_dir():
            return candidate
    return None


def preset_names() -> list[str]:
    """Names of the shipped presets (file names without ``.yml``), sorted."""
    folder = presets_dir()
    if folder is None:
        return []
    return sorted(path.name.removesuffix(SUFFIX) for path in folder.glob(f"*{SUFFIX}") if path.is_file())


def preset_path(name: str) -> Path:
    """The answers file of the preset ``name``; an unknown name is a usage error listing the known ones."""
    names = preset_names()
    if name not in names:
        known = ", ".join(names) if names else "none (this installation ships no presets)"
        raise CommandError(f"unknown preset '{name}'. Presets: {known}", EXIT_USAGE)
    folder = presets_dir()
    assert folder is not None  # names were found in it
    return folder / f"{name}{SUFFIX}"


def resolve_answers_file(preset: str | None, answers_file: Path | None) -> Path | None:
    """The answers file ``mlscaffold new`` reads: ``--preset``'s or ``--answers-file``, never both.

    Two presets would need a merge order nobody can see from the command line; a team that
    wants a shipped preset plus its own answers copies the preset file and edits it.
    """
    if preset is None:
        return answers_file
    if answers_file is not None:
        raise CommandError("--preset and --answers-file both give a preset; use one", EXIT_USAGE)
    return preset_path(preset)
