"""Checksums that make a damaged model fail loudly instead of producing garbage.

A few flipped bits on a disk, a truncated copy or a half-finished upload can leave a
checkpoint that still loads: the damage lands inside a weight tensor, and every stage that
uses it runs, exits 0 and reports wrong numbers. So every model file is hashed (SHA-256)
when it is saved, and every loader compares the file with that hash before using it.

A single file (a PyTorch checkpoint ``best.pt``) gets a sidecar ``best.pt.sha256`` in
``sha256sum`` format, so ``sha256sum -c best.pt.sha256`` checks it by hand too. A save
deletes the previous sidecar just before it renames the new checkpoint into place and
writes the new sidecar (atomically) just after, so a kill in between leaves a checkpoint
without a sidecar, never one with another file's hash. (A Hugging Face model folder gets
``checksums.json`` instead: ``core/checkpoint.py`` in those projects.)

A file or folder without checksums (saved by a version of the project from before they
were recorded, copied without its sidecar, or saved by a run killed between the rename and
the sidecar) still loads, with a warning that it cannot be verified: refusing it would
strand every model trained before. Training again (or the next save of a resumed run)
records the checksums.
"""

import hashlib
import logging
from pathlib import Path
from typing import BinaryIO, Protocol

from .atomic import write_text_atomically
from .errors import CheckpointError

log = logging.getLogger(__name__)

PACKAGE = __name__.split(".")[0]
HASH_CHUNK_BYTES = 1 << 20
CHECKSUM_SUFFIX = ".sha256"
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
