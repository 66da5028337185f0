"""``mlscaffold update``, ``check-update`` and ``setup-offline``: template versions reach projects.

``copier update`` re-renders the template version a project recorded, diffs it with the
project and replays the owners' edits on the newer version. This adds what it needs around
it: a clean git tree (so nothing uncommitted is mixed in or lost), the recorded version
present in this machine's template store, and a list of the files changed and those left
with conflicts.
"""

import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import copier
import yaml
from packaging.version import InvalidVersion, Version

from mlscaffold.copier_errors import from_copier
from mlscaffold.errors import EXIT_USAGE, CommandError
from mlscaffold.git import GitError, git
from mlscaffold.template_store import (
    PUBLIC_SOURCE,
    is_bundled_source,
    is_store,
    looks_like_another_machines_store,
    newest_first,
    prepare_store,
    store_rule,
    template_source,
    version_tags,
)

CONFLICT_MARKER = re.compile(r"^(<{7}|>{7})( |$)", re.MULTILINE)
CONFLICT_MODES = ("inline", "rej")
UNSAFE_HINT = "pass --trust if you trust its source"
RELEASE_NOTES_URL = "https://github.com/mlscaffold/mlscaffold/blob/main/docs/releases.md"


@dataclass
class UpdateOutcome:
    """What an update did: the versions before and after, changed and conflicting files."""

    before: str | None
    after: str | None = None
    changed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    # Files the new version no longer has (removed or moved): Copier deletes them even
    # where the owners had edited them, so the command points at the release notes.
    removed: list[str] = field(default_factory=list)


def git_in(project: Path, *args: str) -> str:
    """``git`` for a command: a failure becomes its one-line error (status 1)."""
    try:
        return git(project, *args)
    except GitError as error:
        raise CommandError(str(error)) from error


def read_project_answers(project: Path) -> dict[str, Any]:
    answers_path = project / ".copier-answers.yml"
    if not answers_path.is_file():
        raise CommandError(
            f"{project} has no .copier-answers.yml; run this in a project made by mlscaffold new (or copier copy)",
            EXIT_USAGE,
        )
    answers = yaml.safe_load(answers_path.read_text(encoding="utf-8")) or {}
    if "_src_path" not in answers:
        raise CommandError(f"{answers_path} does not record its template source (_src_path)")
    if looks_like_another_machines_store(answers["_src_path"]):
        raise CommandError(
            f"{answers_path} records the template store of another machine ({answers['_src_path']}); "
            f"set _src_path: {PUBLIC_SOURCE} in it, commit, and run this again"
        )
    return answers


def require_clean_git_tree(project: Path) -> None:
    """Copier merges through git: uncommitted edits could be lost or mixed into the update."""
    inside = git_in(project, "rev-parse", "--is-inside-work-tree").strip() if (project / ".git").exists() else ""
    if inside != "true":
        raise CommandError(
            f"{project} is not a git repository; updates merge through git. "
            "Run `git init && git add -A && git commit -m 'Generated project'` first"
        )
    dirty = git_in(project, "status", "--porcelain")
    if dirty.strip():
        files = ", ".join(line[3:] for line in dirty.splitlines()[:5])
        raise CommandError(f"{project} has uncommitted changes ({files}); commit or stash them first, then update")


def refresh_store_if_used(answers: dict[str, Any]) -> None:
    """Make the installed template and the releases it carries available in the store.

    A project made with mlscaffold's own template updates from the store; its recorded
    version must be there, or the update cannot tell the owners' edits from the template.
    """
    source = answers["_src_path"]
    if not (is_bundled_source(source) or is_store(source)):
        return
    repository, _ = prepare_store()
    recorded = answers.get("_commit")
    if recorded and recorded not in version_tags(repository):
        base = recorded.lstrip("v").split(".post")[0].split("+")[0]
        raise CommandError(
            f"the project's template version {recorded} is not in this machine's template store ({repository}); "
            f"run `pipx run --spec mlscaffold=={base} mlscaffold setup-offline` once (any run of that version "
            "adds it to the store), then run this again"
        )


def newer_template_tags(source: str, current: str | None) -> list[str]:
    """Release tags of ``source`` newer than ``current``, newest first."""
    with template_source(source):
        listing = git_in(Path.cwd(), "ls-remote", "--tags", "--refs", str(source))
    tags = (line.split("\t", 1)[1].removeprefix("refs/tags/") for line in listing.splitlines())
    try:
        floor = Version(current) if current else None
    except InvalidVersion:
        floor = None
    return [
        tag for version, tag in newest_first(tags) if not version.is_prerelease and (floor is None or version > floor)
    ]


def working_tree_status(project: Path) -> list[tuple[str, str]]:
    """``(XY status, path)`` of every uncommitted change, untracked files included."""
    status = git_in(project, "status", "--porcelain", "--untracked-files=all")
    return [(line[:2], line[3:].strip('"')) for line in status.splitlines() if line.strip()]


def files_with_conflicts(project: Path, changed: list[str]) -> list[str]:
    conflicts = []
    for relative in changed:
        path = project / relative
        if path.suffix == ".rej":
            conflicts.append(relative)
        elif path.is_file():
            try:
                if CONFLICT_MARKER.search(path.read_text(encoding="utf-8")):
                    conflicts.append(relative)
            except UnicodeDecodeError:
                continue
    return conflicts


def update_project(project: Path, *, vcs_ref: str | None, conflict: str, pretend: bool, trust: bool) -> UpdateOutcome:
    """Run ``copier update`` on a clean ``project``; report what changed and what conflicts."""
    if conflict not in CONFLICT_MODES:
        raise CommandError(f"--conflict must be inline or rej, got '{conflict}'", EXIT_USAGE)
    answers = read_project_answers(project)
    require_clean_git_tree(project)
    refresh_store_if_used(answers)
    outcome = UpdateOutcome(before=answers.get("_commit"))
    source = answers["_src_path"]
    with template_source(source):
        run_copier_update(
            project,
            vcs_ref=vcs_ref,
            conflict=conflict,
            pretend=pretend,
            trust=trust or is_bundled_source(source) or is_store(source),
        )
    if pretend:
        return outcome
    outcome.after = read_project_answers(project).get("_commit")
    status = working_tree_status(project)
    outcome.changed = [path for _, path in status]
    outcome.removed = [path for code, path in status if "D" in code]
    outcome.conflicts = files_with_conflicts(project, outcome.changed)
    return outcome


def run_copier_update(project: Path, *, vcs_ref: str | None, conflict: str, pretend: bool, trust: bool) -> None:
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Dirty template changes")
            copier.run_update(
                project,
                vcs_ref=vcs_ref,
                conflict=conflict,  # type: ignore[arg-type]
                pretend=pretend,
                overwrite=True,
                skip_answered=True,
                defaults=not sys.stdin.isatty(),
                unsafe=trust,
                quiet=True,
            )
    except KeyboardInterrupt as interrupt:
        raise CommandError(
            "interrupted; run `git status` and `git checkout -- .` to undo a partial update"
        ) from interrupt
    except Exception as error:  # Copier raises many types; `from_copier` maps each to one line
        raise from_copier(error, unsafe_hint=UNSAFE_HINT) from error


def check_update(project: Path) -> tuple[str | None, list[str], str]:
    """The project's template version, the newer release tags (newest first) and its source."""
    answers = read_project_answers(project)
    refresh_store_if_used(answers)
    current = answers.get("_commit")
    return current, newer_template_tags(answers["_src_path"], current), answers["_src_path"]


def setup_offline(remove: bool) -> tuple[Path, str, str]:
    """Write (or remove) the store redirect in the global git configuration.

    Returns the store, the installed template's tag and the configuration key.
    """
    repository, tag = prepare_store()
    key, value = store_rule(repository)
    if remove:
        git_in(Path.cwd(), "config", "--global", "--unset-all", key)
    else:
        git_in(Path.cwd(), "config", "--global", "--replace-all", key, value)
    return repository, tag, key
