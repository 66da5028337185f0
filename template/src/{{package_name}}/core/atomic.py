"""Writing files so that a crash never leaves half of one, and cleaning up after crashes that did.

Every artifact is written to a temporary file beside it, fsynced and renamed over it: a
rename is atomic, so readers see the old or the new file, never a mix. A writer killed
mid-write (SIGKILL, OOM, power cut) leaves its temporary file ``.<name>.<pid>.<random>.tmp``,
as large as a checkpoint; the next write of that file removes such leftovers (logged), but
only once their writer has ended, and nothing but names of that pattern (or of the earlier
``.<name>.<8 characters>.tmp`` and ``.<name>.tmp``) for exactly the file being written.
"""

import logging
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)


def temporary_pattern(name: str) -> re.Pattern[str]:
    """The names of temporary files of writes of ``name``; group ``pid`` is the writer's, if recorded."""
    current = r"\.(?P<pid>\d+)\.[0-9a-f]{8}"  # see create_temporary
    earlier = r"\.[a-z0-9_]{8}"  # tempfile.mkstemp's 8 random characters, or nothing
    return re.compile(rf"\.{re.escape(name)}(?:{current}|{earlier})?\.tmp")


def writer_has_ended(pid: int | None) -> bool:
    """Whether the process that named a temporary file can no longer be writing it: no pid (an
    earlier version's name) or our own (a previous process with our id, e.g. a container's
    main process) count as ended; another only if it does not exist (unknowable on Windows)."""
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
        log.warning("removed %s (%d bytes), left by an interrupted write of %s", candidate, size, path.name)
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
    """A binary file (readable too, to hash what was written) that replaces ``path`` only if the
    block completes; if it raises, the temporary file is deleted and ``path`` left as it was."""
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


def create_temporary(path: Path) -> tuple[Path, int]:
    """Create ``.<name>.<pid>.<8 hex digits>.tmp`` for a write of ``path``, never an existing file."""
    while True:
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            return temporary, os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # 32 random bits collided: draw again
            continue


def write_text_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) in one step (see :func:`atomic_writer`)."""
    with atomic_writer(path) as handle:
        handle.write(text.encode("utf-8"))
