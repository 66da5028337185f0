"""A local git repository holding every bundled template version mlscaffold has rendered.

Copier updates a project by re-rendering its *recorded* template version, diffing it with
the project and re-applying the owners' edits on top of the newer version. That needs a git
repository with a tag per template version that stays where the answers file says it is.
A wheel has no such repository, so mlscaffold keeps one under the user's data folder:

* every time a bundled template is used, its files are committed there and tagged
  ``v<mlscaffold version>`` (a ``.postN`` tag if the same version's template changed, as in
  a development checkout);
* ``mlscaffold new`` renders from that repository at that tag, so ``.copier-answers.yml``
  records the repository as ``_src_path`` and the tag as ``_commit``;
* after ``pip install -U mlscaffold`` the next ``mlscaffold update`` or ``check-update``
  adds the new version's tag, and both ``mlscaffold update`` and a plain ``copier update``
  move the project forward, offline.

The location is ``$MLSCAFFOLD_DATA_DIR`` if set, otherwise the platform's user data folder.
"""

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

import platformdirs
from packaging.version import InvalidVersion, Version

from mlscaffold import __version__
from mlscaffold.template import bundled_template

DIGEST_FILE = ".mlscaffold-template-digest"
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "mlscaffold",
    "GIT_AUTHOR_EMAIL": "mlscaffold@localhost",
    "GIT_COMMITTER_NAME": "mlscaffold",
    "GIT_COMMITTER_EMAIL": "mlscaffold@localhost",
}


def store_path() -> Path:
    """Where the template repository lives (``$MLSCAFFOLD_DATA_DIR/template``)."""
    root = os.environ.get("MLSCAFFOLD_DATA_DIR") or platformdirs.user_data_dir("mlscaffold")
    return Path(root).expanduser().resolve() / "template"


def is_store(source: str | Path) -> bool:
    """Whether ``source`` (an answers file's ``_src_path``) is this machine's store."""
    try:
        return Path(source).expanduser().resolve() == store_path()
    except (OSError, ValueError):
        return False


def git(repository: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=repository, capture_output=True, text=True, env={**os.environ, **GIT_IDENTITY}
    )
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {repository}: {result.stderr.strip()}")
    return result.stdout


def template_files(template_root: Path) -> list[Path]:
    """The files that make the template: ``copier.yml`` and everything under ``template/``."""
    files = [template_root / "copier.yml"]
    files += sorted(
        path for path in (template_root / "template").rglob("*") if path.is_file() and "__pycache__" not in path.parts
    )
    return files


def digest(template_root: Path) -> str:
    """A content hash of the template, to tell whether a version's files changed."""
    hasher = hashlib.sha256()
    for path in template_files(template_root):
        hasher.update(path.relative_to(template_root).as_posix().encode())
        hasher.update(b"\0")
        hasher.update(path.read_bytes())
        hasher.update(b"\0")
    return hasher.hexdigest()


def newest_first(tags: Iterable[str]) -> list[tuple[Version, str]]:
    """The tags that are PEP 440 versions, newest first (the order ``copier update`` uses)."""
    versions = []
    for tag in tags:
        try:
            versions.append((Version(tag), tag))
        except InvalidVersion:
            continue
    return sorted(versions, reverse=True)


def version_tags(repository: Path) -> list[str]:
    """This repository's version tags, newest first."""
    return [tag for _, tag in newest_first(git(repository, "tag", "--list").split())]


def _tag_for_release(repository: Path, content_digest: str) -> str | None:
    """The existing tag of this mlscaffold version whose content has this digest."""
    base = Version(__version__)
    for tag in version_tags(repository):
        version = Version(tag)
        if version.release != base.release or version.pre != base.pre:
            continue
        if git(repository, "show", f"{tag}:{DIGEST_FILE}").strip() == content_digest:
            return tag
    return None


def _next_tag(repository: Path) -> str:
    base = f"v{__version__}"
    existing = set(git(repository, "tag", "--list").split())
    if base not in existing:
        return base
    number = 1
    while f"{base}.post{number}" in existing:
        number += 1
    return f"{base}.post{number}"


def _initialise(repository: Path) -> None:
    repository.mkdir(parents=True, exist_ok=True)
    git(repository, "init", "--quiet")
    git(repository, "checkout", "--quiet", "-b", "main")


def ensure_bundled_release(template_root: Path | None = None) -> tuple[Path, str]:
    """Commit and tag the installed template in the store if needed; return (repo, tag)."""
    template_root = template_root or bundled_template()
    repository = store_path()
    if not (repository / ".git").is_dir():
        _initialise(repository)
    content_digest = digest(template_root)
    existing = _tag_for_release(repository, content_digest)
    if existing:
        return repository, existing
    for entry in repository.iterdir():
        if entry.name != ".git":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    for source in template_files(template_root):
        target = repository / source.relative_to(template_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    (repository / DIGEST_FILE).write_text(content_digest + "\n")
    tag = _next_tag(repository)
    git(repository, "add", "--all")
    git(repository, "commit", "--quiet", "--allow-empty", "-m", f"mlscaffold {__version__} template ({tag})")
    git(repository, "tag", tag)
    return repository, tag
