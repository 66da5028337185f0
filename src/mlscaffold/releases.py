"""The template release that projects update from to this one, named in one place.

``copier update`` re-renders the version a project recorded and replays its owners' edits
on the new one; the release notes (``docs/releases.md``) say what moved and how owners
carry their edits over. mlscaffold's tests update a project made with the previous release
to the current template (``tests/test_update.py``).

The repository has no release tags yet, so the previous release is the mlscaffold commit
whose template (``copier.yml`` and ``template/``) it shipped: the last commit before the
layout of one package per stage (issue 12). Once releases are tagged, set this to the tag.
"""

from pathlib import Path

from mlscaffold.git import GitError, git
from mlscaffold.template_history import extract_release

PREVIOUS_RELEASE = "f17361ca03b80ad1f64d0f1fcc2c23fc76843ccd"
RELEASE_NOTES = Path("docs/releases.md")


def extract_previous_release(repository: Path, destination: Path, release: str = PREVIOUS_RELEASE) -> None:
    """Write the template of ``release`` (``copier.yml`` and ``template/``) into ``destination``.

    ``repository`` is a git checkout of mlscaffold with its history; a shallow clone or an
    unpacked sdist has none, and gets an error that says how to fetch it.
    """
    try:
        git(repository, "cat-file", "-e", f"{release}^{{commit}}")
    except GitError as error:
        raise GitError(
            f"the previous template release {release[:12]} is not in the git history of {repository} "
            "(a shallow clone, or no git checkout at all): run `git fetch --unshallow` there, or clone "
            "the repository without --depth, then run this again"
        ) from error
    extract_release(repository, release, destination)
