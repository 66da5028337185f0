"""Checksums that make a damaged model fail loudly instead of producing garbage.

A few flipped bits on a disk, a truncated copy or a half-finished upload can leave a
checkpoint that still loads: the damage lands inside a weight tensor, and every stage that
uses it runs, exits 0 and reports wrong numbers. So every model file is hashed (SHA-256)
when it is saved, and every loader compares the file with that hash before using it:

* a single file (a PyTorch checkpoint ``best.pt``) gets a sidecar ``best.pt.sha256`` in
  ``sha256sum`` format, so ``sha256sum -c best.pt.sha256`` checks it by hand too. A save
  deletes the previous sidecar just before it renames the new checkpoint into place and
  writes the new sidecar (atomically) just after, so a kill in between leaves a checkpoint
  without a sidecar, never one with another file's hash.
* a folder (a Hugging Face model, a Trainer checkpoint) gets ``checksums.json``, the hash
  of every file of the save. It is written as ``{"complete": false}`` before the save
  starts and with the hashes once it has finished, so a save that was interrupted half-way
  is recognised as such instead of being loaded.

A file or folder without checksums (saved by a version of the project from before they
were recorded, copied without its sidecar, or saved by a run killed between the rename and
the sidecar) still loads, with a warning that it cannot be verified: refusing it would
strand every model trained before. Training again (or the next save of a resumed run)
records the checksums.
"""

import hashlib
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from .atomic import write_text_atomically
from .errors import CheckpointError

log = logging.getLogger(__name__)

PACKAGE = __name__.split(".")[0]
HASH_CHUNK_BYTES = 1 << 20
CHECKSUM_SUFFIX = ".sha256"
FOLDER_MANIFEST = "checksums.json"
MANIFEST_FORMAT = 1
RECOVERY = f"Restore it from a backup, or train again (python -m {PACKAGE}.training)."


class Digest(Protocol):
    """What hashing a file needs of a ``hashlib`` object."""

    def update(self, data: bytes, /) -> None: ...


def update_with_stream(digest: Digest, handle: BinaryIO) -> None:
    """Feed what is left to read of ``handle`` to ``digest`` in chunks (constant memory for any size)."""
    while chunk := handle.read(HASH_CHUNK_BYTES):
        digest.update(chunk)


def update_with_file(digest: Digest, path: Path) -> None:
    """Feed the bytes of ``path`` to ``digest``."""
    with path.open("rb") as handle:
        update_with_stream(digest, handle)


def file_sha256(path: Path) -> str:
    """The SHA-256 of one file, as 64 hexadecimal digits."""
    digest = hashlib.sha256()
    update_with_file(digest, path)
    return digest.hexdigest()


def checksum_path(path: Path) -> Path:
    """The sidecar that records the hash of ``path``: ``<path>.sha256``."""
    return path.with_name(path.name + CHECKSUM_SUFFIX)


def write_file_checksum(path: Path, digest: str) -> None:
    """Record ``digest`` as the hash of ``path`` (``sha256sum`` format, written atomically)."""
    write_text_atomically(checksum_path(path), f"{digest}  {path.name}\n")


def recorded_file_checksum(path: Path) -> str | None:
    """The hash recorded for ``path``, or ``None`` if it has no sidecar."""
    sidecar = checksum_path(path)
    if not sidecar.is_file():
        return None
    fields = sidecar.read_text(encoding="utf-8").split()
    if not fields or len(fields[0]) != 64:
        raise CheckpointError(
            f"{sidecar} does not hold a SHA-256 (expected '<64 hex digits>  {path.name}'). {RECOVERY}"
        )
    return fields[0].lower()


def verify_file(path: Path, what: str = "checkpoint") -> None:
    """Compare ``path`` with its recorded hash; a mismatch raises, no record only warns."""
    expected = recorded_file_checksum(path)
    if expected is None:
        log.warning(
            "%s %s has no recorded checksum (%s is missing: saved by an earlier version of the project, "
            "copied without it, or its save was interrupted), so it cannot be checked for damage; "
            "train again to record one",
            what,
            path,
            checksum_path(path).name,
        )
        return
    actual = file_sha256(path)
    if actual != expected:
        raise CheckpointError(mismatch_message(what, path, actual, expected, checksum_path(path)))


def mismatch_message(what: str, path: Path, actual: str, expected: str, record: Path) -> str:
    """The one-line error of a file whose bytes are not those that were saved."""
    return (
        f"{what} {path} is damaged: its SHA-256 is {actual[:16]}..., but {record.name} recorded "
        f"{expected[:16]}... when it was saved, so the file changed on disk since (a failing disk, "
        f"an incomplete copy or an edit). {RECOVERY}"
    )


# ---------------------------------------------------------------------------- folders
def begin_folder_save(folder: Path) -> None:
    """Mark ``folder`` as being saved, so an interrupted save is never mistaken for a model."""
    folder.mkdir(parents=True, exist_ok=True)
    write_manifest(folder, {"format_version": MANIFEST_FORMAT, "complete": False})


def record_folder_checksums(folder: Path, files: Iterable[Path] | None = None) -> dict[str, str]:
    """Hash ``files`` (default: every file of ``folder`` but the manifest) and mark the save complete."""
    chosen = sorted(files) if files is not None else sorted(saved_files(folder))
    hashes = {path.relative_to(folder).as_posix(): file_sha256(path) for path in chosen}
    write_manifest(folder, {"format_version": MANIFEST_FORMAT, "complete": True, "files": hashes})
    return hashes


def saved_files(folder: Path) -> list[Path]:
    """Every regular file under ``folder``, except the manifest and hidden (temporary) files."""
    return [
        path
        for path in folder.rglob("*")
        if path.is_file()
        and path.name != FOLDER_MANIFEST
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    ]


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    write_text_atomically(folder / FOLDER_MANIFEST, json.dumps(manifest, indent=2) + "\n")


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of ``folder``, or ``None`` if it has none."""
    path = folder / FOLDER_MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path} is unreadable ({error}). {RECOVERY}") from error
    if not isinstance(manifest, dict) or "complete" not in manifest:
        raise CheckpointError(f"{path} is not a checksum manifest of this project. {RECOVERY}")
    return manifest


def folder_save_state(folder: Path) -> str:
    """``complete``, ``interrupted`` (the save began and never finished) or ``unrecorded`` (no manifest)."""
    manifest = read_manifest(folder)
    if manifest is None:
        return "unrecorded"
    return "complete" if manifest["complete"] else "interrupted"


def verify_folder(folder: Path, what: str = "model") -> None:
    """Compare every file the manifest of ``folder`` lists with its hash; refuse any difference.

    Files the manifest does not list (written beside the model later, such as the drift
    reference profile) are not checked here; they are checked by their own readers.
    """
    manifest = read_manifest(folder)
    record = folder / FOLDER_MANIFEST
    if manifest is None:
        log.warning(
            "%s %s has no %s (saved by an earlier version of the project, or copied without it), "
            "so its files cannot be checked for damage; train again to record their checksums",
            what,
            folder,
            FOLDER_MANIFEST,
        )
        return
    if not manifest["complete"]:
        raise CheckpointError(
            f"{what} {folder} is incomplete: its save was interrupted ({record.name} was never completed). {RECOVERY}"
        )
    for name, expected in manifest.get("files", {}).items():
        path = folder / name
        if not path.is_file():
            raise CheckpointError(f"{what} {folder} is missing {name}, which {record.name} lists. {RECOVERY}")
        actual = file_sha256(path)
        if actual != expected:
            raise CheckpointError(mismatch_message(f"{what} file", path, actual, expected, record))
