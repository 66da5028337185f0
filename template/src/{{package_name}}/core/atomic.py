"""Writing files so that a crash never leaves half of one, and cleaning up after crashes that did.

Every artifact (checkpoints, JSON reports, documents) is written to a temporary file in the
destination's folder, flushed to the disk (fsync) and renamed over the destination. A
rename within one filesystem is atomic, so a reader sees the previous complete file or the
new complete file, never a mix, and a failure while writing leaves the previous file as it
was.

Temporary files are named ``.<name>.<pid>.<random>.tmp``: hidden, beside the file they
become, and carrying the id of the process that writes them. A process killed in the middle
of a write (SIGKILL, the OOM killer, a power cut) cannot delete its temporary file, which
for a checkpoint is as large as the model. The next write of the same file removes such
leftovers, with a log line for each, but only once the process that wrote one has ended:
two processes writing the same file at the same time never delete each other's work in
progress. Nothing else is ever deleted, only names of exactly this pattern for exactly the
file being written (and the two patterns earlier versions of the project wrote:
``.<name>.<8 random characters>.tmp`` and ``.<name>.tmp``).
"""

import io
import logging
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO

log = logging.getLogger(__name__)

TEMPORARY_SUFFIX = ".tmp"
RANDOM_HEX_DIGITS = 8


def temporary_path(path: Path) -> Path:
    """A fresh temporary name for a write of ``path`` by this process (not created yet)."""
    token = secrets.token_hex(RANDOM_HEX_DIGITS // 2)
    return path.with_name(f".{path.name}.{os.getpid()}.{token}{TEMPORARY_SUFFIX}")


def temporary_pattern(name: str) -> re.Pattern[str]:
    """The names of temporary files of writes of ``name``; group ``pid`` is the writer's, if recorded."""
    escaped = re.escape(name)
    current = r"\.(?P<pid>\d+)\.[0-9a-f]{8}"  # the pid and RANDOM_HEX_DIGITS of temporary_path
    earlier = r"\.[a-z0-9_]{8}"  # tempfile.mkstemp's 8 random characters, or nothing
    return re.compile(rf"\.{escaped}(?:{current}|{earlier})?{re.escape(TEMPORARY_SUFFIX)}")


def writer_has_ended(pid: int | None) -> bool:
    """Whether the process that named a temporary file can no longer be writing it.

    No pid (a name from an earlier version of the project) and this process's own pid (a
    process with the same id before a restart: a container's main process, typically) both
    count as ended. Another pid counts as ended only when no such process exists; where that
    cannot be asked without side effects (Windows) the file is left alone.
    """
    if pid is None or pid == os.getpid():
        return True
    if os.name != "posix":
        return False
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, under another user
        return False
    return False


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Delete the temporary files that interrupted writes of ``path`` left behind; return them."""
    folder = path.parent
    if not folder.is_dir():
        return []
    pattern = temporary_pattern(path.name)
    removed = []
    for candidate in sorted(folder.iterdir()):
        match = pattern.fullmatch(candidate.name)
        if match is None or not candidate.is_file() or candidate.is_symlink():
            continue
        pid = match.group("pid")
        if not writer_has_ended(int(pid) if pid else None):
            continue
        size = candidate.stat().st_size
        candidate.unlink(missing_ok=True)
        removed.append(candidate)
        log.warning(
            "removed %s (%d bytes): a temporary file left by an interrupted write of %s",
            candidate,
            size,
            path.name,
        )
    return removed


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries to the disk, so that a rename in it survives a power cut (POSIX)."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """A binary file to write ``path`` through: it replaces ``path`` only if the block completes.

    The file is opened for reading too, so a caller can read back what it wrote (to hash
    it, say) before it replaces ``path``. Permissions follow the umask, as for any newly
    created file. If the block raises, the temporary file is deleted and ``path`` is left
    as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    temporary, descriptor = create_temporary(path)
    handle = os.fdopen(descriptor, "w+b")
    try:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        os.replace(temporary, path)
    except BaseException:
        handle.close()
        temporary.unlink(missing_ok=True)
        raise
    sync_folder(path.parent)


@contextmanager
def atomic_text_writer(path: Path) -> Iterator[TextIO]:
    """:func:`atomic_writer` for UTF-8 text."""
    with atomic_writer(path) as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8")
        try:
            yield text
        finally:
            text.detach()  # flushes; the binary handle stays open for atomic_writer to sync and close


def create_temporary(path: Path) -> tuple[Path, int]:
    """Create a temporary file for a write of ``path`` (exclusively: never an existing file)."""
    while True:
        temporary = temporary_path(path)
        try:
            return temporary, os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # 32 random bits collided: draw again
            continue


def write_bytes_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step (see :func:`atomic_writer`)."""
    with atomic_writer(path) as handle:
        handle.write(data)


def write_text_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) in one step (see :func:`atomic_writer`)."""
    with atomic_text_writer(path) as handle:
        handle.write(text)
