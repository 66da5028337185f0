"""A local git repository holding every bundled template version mlscaffold has rendered.

Copier updates a project by re-rendering its *recorded* template version, diffing it with
the project and re-applying the owners' edits on top of the newer version. That needs a git
repository with a tag per template version. A wheel has no such repository, so mlscaffold
keeps one under the user's data folder (the *store*):

* every time a bundled template is used, its files are committed there and tagged
  ``v<mlscaffold version>`` (a ``.postN`` tag if the same version's template changed, as in
  a development checkout), and the earlier releases the wheel carries (``history.bundle``,
  see ``template_history``) are imported, so a newer mlscaffold can still update a project
  made with an older one;
* projects record a source that means the same on every machine: ``_src_path`` is the
  public repository, ``PUBLIC_SOURCE``, and ``_commit`` the release tag. A path into one
  user's data folder would break on a teammate's machine or a CI runner;
* mlscaffold runs git and Copier with ``url.<store>.insteadOf=<PUBLIC_SOURCE>`` set for
  that one process (``redirect_to_store``), so ``new``, ``update`` and ``check-update``
  read the local store, offline, wherever the store lives. ``mlscaffold setup-offline``
  writes the same rule into the user's git configuration once, so that a plain
  ``copier update`` works offline too; without it, plain ``copier update`` fetches the
  public repository (or a team's mirror of it).

The location is ``$MLSCAFFOLD_DATA_DIR`` if set, otherwise the platform's user data folder.
"""

import contextlib
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

import platformdirs
from packaging.version import InvalidVersion, Version

from mlscaffold import __version__
from mlscaffold.errors import CommandError, one_line
from mlscaffold.git import GIT_IDENTITY, GitError, git
from mlscaffold.template import bundled_template
from mlscaffold.template_history import BUNDLE_NAME, DIGEST_FILE, digest, import_releases, template_files

# The template's public home: what projects record as their source (see the docstring).
PUBLIC_SOURCE = "https://github.com/mlscaffold/mlscaffold.git"


def store_path() -> Path:
    """Where the template repository lives (``$MLSCAFFOLD_DATA_DIR/template``)."""
    root = os.environ.get("MLSCAFFOLD_DATA_DIR") or platformdirs.user_data_dir("mlscaffold")
    return Path(root).expanduser().resolve() / "template"


def is_bundled_source(source: str | Path) -> bool:
    """Whether ``source`` (an answers file's ``_src_path``) is mlscaffold's own template."""
    return str(source).rstrip("/") in (PUBLIC_SOURCE, PUBLIC_SOURCE.removesuffix(".git"))


def is_store(source: str | Path) -> bool:
    """Whether ``source`` is this machine's store (projects made before ``PUBLIC_SOURCE``)."""
    try:
        return Path(source).expanduser().resolve() == store_path()
    except (OSError, ValueError):
        return False


def looks_like_another_machines_store(source: str | Path) -> bool:
    """A store path recorded by an older mlscaffold on some other machine."""
    path = Path(str(source))
    return path.is_absolute() and path.name == "template" and "mlscaffold" in path.parts and not path.exists()


def store_rule(store: Path | None = None) -> tuple[str, str]:
    """The git configuration entry (key, value) that reads ``PUBLIC_SOURCE`` from the store."""
    return f"url.{(store or store_path()).as_posix()}.insteadOf", PUBLIC_SOURCE


def redirect_environment(store: Path | None = None) -> dict[str, str]:
    """Environment variables that add ``store_rule`` to git's configuration for one process.

    Git (2.31+) reads extra configuration from ``GIT_CONFIG_COUNT``/``KEY_n``/``VALUE_n``;
    entries already there are kept.
    """
    count = int(os.environ.get("GIT_CONFIG_COUNT", "0") or 0)
    key, value = store_rule(store)
    return {"GIT_CONFIG_COUNT": str(count + 1), f"GIT_CONFIG_KEY_{count}": key, f"GIT_CONFIG_VALUE_{count}": value}


@contextlib.contextmanager
def redirect_to_store() -> Iterator[None]:
    """Within the block, git (ours and Copier's) fetches ``PUBLIC_SOURCE`` from the store."""
    from plumbum import local  # Copier runs git through plumbum, whose environment is its own copy

    variables = redirect_environment()
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        with local.env(**variables):
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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
    import_releases(template_root / BUNDLE_NAME, repository)
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
    git(
        repository,
        "commit",
        "--quiet",
        "--allow-empty",
        "-m",
        f"mlscaffold {__version__} template ({tag})",
        env=GIT_IDENTITY,
    )
    git(repository, "tag", tag)
    return repository, tag


def prepare_store() -> tuple[Path, str]:
    """``ensure_bundled_release`` for a command: a failure becomes its one-line error."""
    try:
        return ensure_bundled_release()
    except (OSError, GitError) as error:
        raise CommandError(f"cannot prepare the bundled template in {store_path()}: {one_line(str(error))}") from error


def template_source(source: str | Path) -> contextlib.AbstractContextManager[None]:
    """Where git finds ``source`` within the block: the store for mlscaffold's own template."""
    return redirect_to_store() if is_bundled_source(source) else contextlib.nullcontext()
