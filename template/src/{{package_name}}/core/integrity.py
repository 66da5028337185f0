"""Checksums that make a damaged model fail loudly instead of producing garbage.

A flipped bit or a truncated copy can leave a checkpoint that still loads and silently
reports wrong numbers, so every model file is hashed (SHA-256) when saved and checked
before use. A single file gets a ``sha256sum``-format sidecar (``best.pt.sha256``); a
Hugging Face model folder gets ``checksums.json`` (its ``core/checkpoint.py``). A file
without checksums (from an earlier version, or a save killed between the rename and the
sidecar) still loads, with a warning: refusing it would strand every older model.
"""

import hashlib
import logging
from pathlib import Path

from .atomic import write_text_atomically
from .errors import CheckpointError

log = logging.getLogger(__name__)

PACKAGE = __name__.split(".")[0]
CHECKSUM_SUFFIX = ".sha256"
RECOVERY = f"Restore it from a backup, or train again (python -m {PACKAGE}.training)."


def file_sha256(path: Path) -> str:
    """The SHA-256 of ``path``, read in chunks (constant memory for any size)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def checksum_path(path: Path) -> Path:
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
        sidecar = checksum_path(path).name
        log.warning(
            "%s %s has no recorded checksum (%s), so it cannot be checked for damage", what, path, sidecar
        )
        return
    actual = file_sha256(path)
    if actual != expected:
        raise CheckpointError(mismatch_message(what, path, actual, expected, checksum_path(path)))


def mismatch_message(what: str, path: Path, actual: str, expected: str, record: Path) -> str:
    return (
        f"{what} {path} is damaged: its SHA-256 is {actual[:16]}..., but {record.name} recorded "
        f"{expected[:16]}... when it was saved, so the file changed on disk since (a failing disk, "
        f"an incomplete copy or an edit). {RECOVERY}"
    )
