"""What a stage shows a person while it runs and when it ends: progress, verdicts, summary.

A person at a terminal gets a progress bar (tqdm, on stderr) with the rate and the time left,
redrawn in place, while log lines print above it. Anywhere else (output piped to a file, a CI
job: ``CI`` set, or ``TERM=dumb``) the same progress is plain log lines: one at each tenth of
the way (at most one per ``interval_s`` seconds) and one at the end, with no carriage returns
or escape codes, so a log file stays readable and greppable. Pass/fail verdicts are coloured
for a terminal only, and never when ``NO_COLOR`` is set (https://no-color.org).
"""

import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

log = logging.getLogger(__name__)

# The bar names the time left "ETA", as the log lines do.
BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} {unit} [{elapsed}, ETA {remaining}, {rate_fmt}{postfix}]"
COUNT_FORMAT = "{desc}: {n_fmt} {unit} [{elapsed}, {rate_fmt}{postfix}]"  # no total: no ETA either
# SGR colours of the verdict statuses; a status not listed (not applicable, ...) stays plain.
COLOURS = {"pass": "32", "waived": "33", "fail": "31", "not measured": "31"}
DEFAULT_INTERVAL_S = 30.0


def is_terminal(stream: IO[str]) -> bool:
    """Whether ``stream`` is a terminal (a closed stream, or a stand-in without ``isatty``, is not)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def interactive(stream: IO[str] | None = None) -> bool:
    """Whether a person watches ``stream`` (stderr by default): a terminal, outside CI."""
    stream = sys.stderr if stream is None else stream
    return is_terminal(stream) and not os.environ.get("CI") and os.environ.get("TERM") != "dumb"


def colour_enabled(stream: IO[str] | None = None) -> bool:
    """Whether text printed to ``stream`` (stdout by default) may carry colour codes."""
    return is_terminal(sys.stdout if stream is None else stream) and not os.environ.get("NO_COLOR")


def paint(text: str, status: str, stream: IO[str] | None = None) -> str:
    """``text`` in the colour of ``status`` (green pass, yellow waived, red fail) for a terminal."""
    code = COLOURS.get(status)
    return f"\x1b[{code}m{text}\x1b[0m" if code and colour_enabled(stream) else text


def clock(seconds: float) -> str:
    """``h:mm:ss`` or ``m:ss``: how long something took or will take."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def log_summary(
    logger: logging.Logger, stage: str, headline: str, written: Iterable[str | Path] = ()
) -> None:
    """The one line every stage ends with: its headline figures, then what it wrote where."""
    paths = ", ".join(str(path) for path in written)
    logger.info("%s done: %s%s", stage, headline, f" -> {paths}" if paths else "")


class Progress(AbstractContextManager["Progress"]):
    """Progress through ``total`` units of work (``None``: not known, so no ETA).

    ``initial`` units were done before (a resumed run): the rate and the time left count only
    the work done since this object was made.
    """

    def __init__(
        self,
        description: str,
        total: int | None,
        *,
        unit: str = "batches",
        initial: int = 0,
        interval_s: float = DEFAULT_INTERVAL_S,
        stream: IO[str] | None = None,
        logger: logging.Logger = log,
    ) -> None:
        self.description, self.total, self.unit = description, total, unit
        self.logger = logger
        self.done = self._initial = initial
        self.interval_s = interval_s
        self.note = ""
        self._closed = False
        self._started = self._last_line = time.perf_counter()
        self._next_tenth = self._tenth_after(initial)
        self._bar: Any = None
        self._redirect: AbstractContextManager[None] | None = None
        stream = sys.stderr if stream is None else stream
        if interactive(stream):
            self._bar = tqdm(
                total=total,
                initial=initial,
                desc=description,
                unit=unit,
                file=stream,
                bar_format=BAR_FORMAT if total else COUNT_FORMAT,
                dynamic_ncols=True,
            )
            # Log lines go above the bar instead of through it (console handlers only).
            self._redirect = logging_redirect_tqdm()
            self._redirect.__enter__()

    def update(self, count: int = 1) -> None:
        """``count`` more units done: redraw the bar, or log a line at each tenth of the way."""
        self.done += count
        if self.total is not None and self.done > self.total:  # an estimated total was short
            self.total = self.done
            if self._bar is not None:
                self._bar.total = self.done
        if self._bar is not None:
            self._bar.update(count)
        elif self.total and self._next_tenth <= self.done < self.total and not self._closed:
            now = time.perf_counter()
            if now - self._last_line >= self.interval_s:  # the last line is close()'s
                self._last_line = now
                self.logger.info("%s", self.line(now))
            self._next_tenth = self._tenth_after(self.done)

    def set_note(self, note: str) -> None:
        """A short status shown after the figures (the latest loss, the epoch)."""
        self.note = note
        if self._bar is not None:
            self._bar.set_postfix_str(note, refresh=False)

    def line(self, now: float | None = None, *, final: bool = False) -> str:
        """The progress as one plain line: share done, rate, elapsed and time left (or, ``final``,
        how much was done in how long)."""
        elapsed = (time.perf_counter() if now is None else now) - self._started
        per_second = (self.done - self._initial) / elapsed if elapsed > 0 else 0.0
        rate = f"{per_second:.{2 if per_second < 10 else 0}f} {self.unit}/s"
        count = f"{self.done}/{self.total} {self.unit}" if self.total else f"{self.done} {self.unit}"
        note = f", {self.note}" if self.note else ""
        if final:
            return f"{self.description}: {count} in {clock(elapsed)} ({rate}){note}"
        if not self.total:
            return f"{self.description}: {count}, {rate}, elapsed {clock(elapsed)}{note}"
        done = self.done - self._initial
        left = (self.total - self.done) * elapsed / done if done else None
        eta = f", ETA {clock(left)}" if left is not None else ""
        share = f"{100 * self.done / self.total:.0f}%"
        return f"{self.description}: {share} ({count}), {rate}, elapsed {clock(elapsed)}{eta}{note}"

    def close(self) -> None:
        """Leave the finished bar on screen, or log the last line; idempotent."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            if self._redirect is not None:
                self._redirect.__exit__(None, None, None)
                self._redirect = None
        elif not self._closed:
            self.logger.info("%s", self.line(final=True))
        self._closed = True

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _tenth_after(self, done: int) -> int:
        """The count at which the next tenth of ``total`` is reached."""
        if not self.total:
            return sys.maxsize
        tenths = done * 10 // self.total + 1
        return -(-tenths * self.total // 10)


def tracked(
    items: Iterable[Any], description: str, total: int | None, unit: str = "batches"
) -> Iterator[Any]:
    """``items`` (a loader's batches), with a :class:`Progress` advanced by one per item and
    closed at the end."""
    with Progress(description, total, unit=unit) as progress:
        for item in items:
            yield item
            progress.update()
