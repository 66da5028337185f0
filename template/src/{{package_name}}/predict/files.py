"""Reading and writing CSV, JSON Lines and Parquet a chunk at a time, so memory never grows with the file.

Readers yield ``pandas`` frames of at most ``rows`` rows (pandas' chunked CSV and JSON readers,
pyarrow's Parquet batches). :class:`TableWriter` appends frames to a temporary file that replaces
the target only once every chunk is written (``core/atomic.py``): a crash never leaves half an
output, and readers of the target see the previous file until then.
"""

from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..core.atomic import atomic_writer
from ..core.errors import ProjectError

FORMATS = ("csv", "jsonl", "parquet")
# Floats keep every digit in JSON Lines (pandas' default keeps 10), as they do in CSV and Parquet.
JSON_DIGITS = 15


def table_format(path: Path) -> str:
    """The format of ``path`` by its suffix, or an error naming the ones there are."""
    suffix = path.suffix.lstrip(".").lower()
    if suffix not in FORMATS:
        raise ProjectError(f"cannot tell the format of {path}: name it .csv, .jsonl or .parquet.")
    return suffix


def read_chunks(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    """The rows of ``path`` in order, at most ``rows`` at a time; empty chunks are skipped."""
    file_format = table_format(path)
    try:
        for chunk in _chunks(path, file_format, rows):
            if len(chunk):
                yield chunk
    except (pd.errors.ParserError, pd.errors.EmptyDataError, pa.ArrowException, ValueError) as error:
        raise ProjectError(
            f"cannot read {path} as {file_format}: {error}. Fix the file or its suffix."
        ) from None


def count_rows(path: Path) -> int:
    """About how many rows ``path`` holds, read cheaply for a progress bar's total: a Parquet file's
    metadata, or a CSV's (less its header) or JSON Lines file's lines (a CSV's blank lines and
    quoted line breaks make it a little high)."""
    file_format = table_format(path)
    if file_format == "parquet":
        return int(pq.ParquetFile(path).metadata.num_rows)
    lines, last = 0, b"\n"
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            lines, last = lines + block.count(b"\n"), block[-1:]
    lines += last != b"\n"  # a last line without a line break
    return max(lines - (file_format == "csv"), 0)


def read_header(path: Path) -> pd.DataFrame:
    """A frame without rows of ``path``'s columns (JSON Lines files without rows have none)."""
    file_format = table_format(path)
    if file_format == "parquet":
        return pq.read_schema(path).empty_table().to_pandas()
    if file_format == "csv" and path.stat().st_size:
        return pd.read_csv(path, nrows=0)
    return pd.DataFrame()


def _chunks(path: Path, file_format: str, rows: int) -> Iterator[pd.DataFrame]:
    if file_format == "parquet":
        for batch in pq.ParquetFile(path).iter_batches(batch_size=rows):
            yield batch.to_pandas()
    elif file_format == "csv":
        with pd.read_csv(path, chunksize=rows) as reader:
            yield from reader
    else:
        with pd.read_json(path, lines=True, chunksize=rows) as reader:
            yield from reader


class TableWriter:
    """Frames appended to ``path`` in its format, which appears only when the writer closes cleanly.

    ``empty`` (a frame with no rows, of the output's columns and types) is written when no
    chunk was, so that a shard or a run without rows still leaves a readable file.
    """

    def __init__(self, path: Path, empty: pd.DataFrame) -> None:
        self.path = path
        self.format = table_format(path)
        self.empty = empty
        self.rows = 0
        self._context = atomic_writer(path)
        self._handle: Any = None
        self._parquet: pq.ParquetWriter | None = None

    def __enter__(self) -> "TableWriter":
        self._handle = self._context.__enter__()
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame``'s rows (the first write also writes the CSV header)."""
        frame = frame.reset_index(drop=True)
        if self.format == "parquet":
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._parquet is None:
                # The sink stays open for atomic_writer to sync and rename: only the writer closes.
                self._parquet = pq.ParquetWriter(pa.PythonFile(self._handle, mode="w"), table.schema)
            self._parquet.write_table(table.cast(self._parquet.schema))
        elif self.format == "csv":
            self._handle.write(frame.to_csv(index=False, header=self.rows == 0, lineterminator="\n").encode())
        elif len(frame):
            text = frame.to_json(
                orient="records", lines=True, double_precision=JSON_DIGITS, force_ascii=False
            )
            self._handle.write((text.rstrip("\n") + "\n").encode())
        self.rows += len(frame)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None and self.rows == 0:
            self.write(self.empty)
        if self._parquet is not None:
            self._parquet.close()
        self._context.__exit__(kind, error, trace)
