"""A real pseudo-terminal for the tests of what a person sees: progress bars and colours.

Not a stand-in: ``os.openpty`` gives a terminal device, so ``isatty`` answers as it does in a
user's shell, and everything written to it is read back as the person would see it.
"""

import fcntl
import os
import struct
import subprocess
import termios
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

COLUMNS = 100  # a new pseudo-terminal is 0 columns wide, too narrow for a bar


class Screen:
    """Everything written to a pseudo-terminal, read as it comes (a full terminal would block the writer)."""

    def __init__(self, reader: int) -> None:
        self.reader = reader
        self.chunks: list[bytes] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.reader, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                return
            if not chunk:
                return
            self.chunks.append(chunk)

    def text(self, timeout: float = 30) -> str:
        """What was shown, once every writer has closed the terminal."""
        self.thread.join(timeout)
        return b"".join(self.chunks).decode(errors="replace")


def open_terminal() -> tuple[int, int]:
    """``(reader, writer)``: the two ends of a new pseudo-terminal, ``COLUMNS`` wide."""
    reader, writer = os.openpty()
    fcntl.ioctl(writer, termios.TIOCSWINSZ, struct.pack("HHHH", 24, COLUMNS, 0, 0))
    return reader, writer


@contextmanager
def terminal_stream() -> Iterator[tuple[IO[str], Screen]]:
    """A text stream writing to a pseudo-terminal, and the screen that reads it back."""
    reader, writer = open_terminal()
    screen = Screen(reader)
    stream = os.fdopen(writer, "w", buffering=1, encoding="utf-8")
    try:
        yield stream, screen
    finally:
        stream.close()
        screen.thread.join(10)
        os.close(reader)


def run_in_terminal(
    command: list[str], *, cwd: Path, env: Mapping[str, str], timeout: float
) -> tuple[int, str]:
    """Run ``command`` with a pseudo-terminal as its stdout and stderr: its exit status and screen."""
    reader, writer = open_terminal()
    screen = Screen(reader)
    process = subprocess.Popen(
        command, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=writer, stderr=writer
    )
    os.close(writer)
    try:
        status = process.wait(timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = screen.text()
    os.close(reader)
    return status, text
