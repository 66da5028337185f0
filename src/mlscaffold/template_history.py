"""Earlier template releases, carried by every mlscaffold so old projects can still update.

``copier update`` re-renders the template version a project's answers file records, diffs
it with the project and replays the owners' edits on the newer version. A teammate who
installs a newer mlscaffold has never rendered the version the project was made with, so
that version must come with the package: each wheel carries ``history.bundle``, a git
bundle with one commit per release of the template (``copier.yml`` and ``template/`` at
each ``vX.Y.Z`` tag of the mlscaffold repository), built when the wheel is built
(``hatch_build.py``). The template store imports the releases it lacks from it.

This module (and ``mlscaffold.git``) uses the standard library only: the wheel's build hook imports it in a build
environment where mlscaffold's own dependencies are not installed.
"""

from __future__ import annotations

import hashlib
import re
import tarfile
import tempfile
from pathlib import Path

from mlscaffold.git import GIT_IDENTITY, git

# Final releases only: development builds (``.postN``, ``.devN``) are never carried along.
RELEASE_TAG = re.compile(r"^v\d+(\.\d+)*$")
TEMPLATE_PATHS = ("copier.yml", "template")
DIGEST_FILE = ".mlscaffold-template-digest"
BUNDLE_NAME = "history.bundle"


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


def release_tags(repository: Path) -> list[str]:
    """The release tags (``vX.Y.Z``) of a git repository or bundle, oldest first."""
    if repository.is_file():  # a bundle
        heads = git(repository.parent, "bundle", "list-heads", str(repository)).split()
        names = [ref.removeprefix("refs/tags/") for ref in heads if ref.startswith("refs/tags/")]
    else:
        names = git(repository, "tag", "--list").split()
    releases = [name for name in names if RELEASE_TAG.match(name)]
    return sorted(releases, key=lambda tag: tuple(int(part) for part in tag[1:].split(".")))


def extract_release(source: Path, ref: str, destination: Path) -> None:
    """Write ``copier.yml`` and ``template/`` of ``source`` at ``ref`` (a tag or commit) into ``destination``."""
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch) / "release.tar"
        git(source, "archive", "--format=tar", f"--output={archive}", ref, *TEMPLATE_PATHS)
        with tarfile.open(archive) as tar:
            # the "data" filter (no links out, no absolute paths) where this Python has it
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(destination, **safe)


def build_bundle(source: Path, bundle: Path) -> list[str]:
    """Bundle the template of every release tag of the ``source`` repository; returns the tags.

    Nothing is written when ``source`` is not a git repository or has no release tags (an
    sdist, a shallow CI checkout): the wheel then carries no history, which only matters to
    projects made with an earlier release.
    """
    if not (source / ".git").exists():
        return []
    tags = release_tags(source)
    if not tags:
        return []
    with tempfile.TemporaryDirectory() as scratch:
        history = Path(scratch) / "history"
        history.mkdir()
        git(history, "init", "--quiet", "-b", "main")
        for tag in tags:
            for entry in history.iterdir():
                if entry.name != ".git":
                    _remove(entry)
            extract_release(source, tag, history)
            (history / DIGEST_FILE).write_text(digest(history) + "\n")
            git(history, "add", "--all")
            git(history, "commit", "--quiet", "--allow-empty", "-m", f"mlscaffold template {tag}", env=GIT_IDENTITY)
            git(history, "tag", tag)
        bundle.parent.mkdir(parents=True, exist_ok=True)
        git(history, "bundle", "create", str(bundle.resolve()), "--tags")
    return tags


def import_releases(bundle: Path, store: Path) -> list[str]:
    """Fetch into the ``store`` repository the release tags of ``bundle`` it lacks."""
    if not bundle.is_file():
        return []
    present = set(git(store, "tag", "--list").split())
    missing = [tag for tag in release_tags(bundle) if tag not in present]
    if missing:
        git(store, "fetch", "--quiet", "--no-tags", str(bundle), *(f"refs/tags/{t}:refs/tags/{t}" for t in missing))
    return missing


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        for child in path.iterdir():
            _remove(child)
        path.rmdir()
    else:
        path.unlink()
