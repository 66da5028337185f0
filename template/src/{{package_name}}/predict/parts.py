"""The files of a run, sharded or not, and merging a sharded run's parts into one result.

A run writes ``OUTPUT`` and its rejects, ``<stem>.rejects<suffix>`` beside it. Shard ``i`` of
``n`` writes ``<stem>.part-<i>-of-<n><suffix>`` and ``<stem>.rejects.part-<i>-of-<n><suffix>``
instead; ``python -m <package>.predict merge OUTPUT`` checks that all ``n`` parts are there and
merges them, by row number, into the files a one-shard run writes, then deletes the parts.
Each part is ordered by row number, so the merge streams them (a chunk of each in memory).
"""

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from ..core.errors import ProjectError
from .files import TableWriter, read_chunks, read_header
from .settings import PACKAGE, Shard

log = logging.getLogger(__name__)


def rejects_path(output: Path) -> Path:
    """Where the rows of ``output`` that have no prediction are listed, with why."""
    return output.with_name(f"{output.stem}.rejects{output.suffix}")


def part_path(path: Path, shard: Shard) -> Path:
    """What ``shard`` writes for ``path``: ``path`` itself when there is one shard."""
    if shard.whole:
        return path
    return path.with_name(f"{path.stem}.part-{shard.index}-of-{shard.count}{path.suffix}")


def find_parts(path: Path) -> list[Path]:
    """The parts of ``path``, one per shard in shard order, or an error naming the missing ones."""
    pattern = re.compile(rf"{re.escape(path.stem)}\.part-(\d+)-of-(\d+){re.escape(path.suffix)}")
    found: dict[tuple[int, int], Path] = {}
    for candidate in path.parent.glob(f"{path.stem}.part-*{path.suffix}"):
        if match := pattern.fullmatch(candidate.name):
            found[(int(match.group(1)), int(match.group(2)))] = candidate
    counts = sorted({count for _, count in found})
    if len(counts) != 1:
        what = "no parts" if not counts else f"parts of runs split {counts} ways"
        raise ProjectError(
            f"found {what} of {path.name} in {path.parent}: run every shard "
            f"(python -m {PACKAGE}.predict INPUT {path} --shard i/n) into an empty folder, then merge."
        )
    (count,) = counts
    missing = [index for index in range(count) if (index, count) not in found]
    if missing:
        raise ProjectError(
            f"shard(s) {', '.join(f'{index}/{count}' for index in missing)} of {path.name} are missing: "
            "run them with --shard, then merge again."
        )
    return [found[(index, count)] for index in range(count)]


def merge_parts(output: Path, rows: int) -> dict[str, int]:
    """Merge the parts of ``output`` and of its rejects; returns how many rows each holds."""
    counts = {}
    for path in (output, rejects_path(output)):
        parts = find_parts(path)
        with TableWriter(path, read_header(parts[0])) as writer:
            for frame in merged_by_row([read_chunks(part, rows) for part in parts]):
                writer.write(frame)
        counts[path.name] = writer.rows
        for part in parts:
            part.unlink()
    log.info("merged into %s", ", ".join(f"{name} ({count} rows)" for name, count in counts.items()))
    return counts


def merged_by_row(readers: list[Iterator[pd.DataFrame]]) -> Iterator[pd.DataFrame]:
    """The rows of sorted chunk streams in one ``row`` order, a chunk of each stream in memory.

    Rows up to the smallest last row among the streams' current chunks can go out: no stream
    holds a smaller row after them.
    """
    buffers = {
        index: chunk for index, reader in enumerate(readers) if (chunk := next(reader, None)) is not None
    }
    while buffers:
        limit = min(int(chunk["row"].iloc[-1]) for chunk in buffers.values())
        ready = [chunk[chunk["row"] <= limit] for chunk in buffers.values()]
        yield pd.concat(ready).sort_values("row", kind="stable")
        for index, chunk in list(buffers.items()):
            rest = chunk[chunk["row"] > limit]
            if len(rest):
                buffers[index] = rest
            elif (following := next(readers[index], None)) is not None:
                buffers[index] = following
            else:
                del buffers[index]
