"""Reading the user's table files and checking them before any training starts.

Problems in data are cheapest to report here, with the file and column named, rather
than as a shape error three modules later.
"""

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..errors import DataError

READERS = {"csv": pd.read_csv, "parquet": pd.read_parquet}


def read_table(path: str | Path, file_format: str | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame, with a clear error for each failure.

    ``file_format`` defaults to the file's suffix, so ``data.path=x.parquet`` just works.
    """
    path = Path(path)
    file_format = (file_format or path.suffix.lstrip(".")).lower()
    if file_format not in READERS:
        raise DataError(
            f"cannot read {path}: unknown format '{file_format}'. "
            f"Set data.format to one of {', '.join(READERS)}."
        )
    if not path.is_file():
        raise DataError(
            f"data file not found: {path}. Point data.path at your file "
            "(relative to the project root), or train on the built-in demo data with data=demo."
        )
    if path.stat().st_size == 0:
        raise DataError(f"data file {path} is empty; it needs a header row and at least one data row.")
    try:
        frame = READERS[file_format](path)
    except pd.errors.EmptyDataError as error:
        raise DataError(f"data file {path} has no columns: {error}") from error
    except (pd.errors.ParserError, ValueError, OSError) as error:
        raise DataError(f"could not read {path} as {file_format}: {error}") from error
    if frame.empty:
        raise DataError(f"data file {path} has a header but no rows; add data rows.")
    return frame


def require_columns(frame: pd.DataFrame, columns: Sequence[str], source: str) -> None:
    """Raise a :class:`DataError` naming every configured column the table lacks."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DataError(
            f"column(s) {', '.join(repr(c) for c in missing)} not found in {source}. "
            f"Available columns: {', '.join(map(str, frame.columns))}. "
            "Fix data.target_column / data.numeric_columns / data.categorical_columns "
            "/ data.sensitive_columns in your data config."
        )


def handle_missing_values(
    frame: pd.DataFrame, columns: Sequence[str], policy: str, source: str
) -> pd.DataFrame:
    """Apply ``data.missing_values``: ``error`` (default) reports them, ``drop`` removes rows.

    Silently imputing would hide data problems from the people who own the data, so the
    default is to stop and say where the gaps are.
    """
    counts = frame[list(columns)].isna().sum()
    counts = counts[counts > 0]
    if counts.empty:
        return frame
    if policy == "drop":
        return frame.dropna(subset=list(columns)).reset_index(drop=True)
    if policy != "error":
        raise DataError(f"data.missing_values must be 'error' or 'drop', got '{policy}'.")
    details = ", ".join(f"{column}: {count}" for column, count in counts.items())
    raise DataError(
        f"{source} has missing values ({details}). Fill them in the file, "
        "or set data.missing_values=drop to drop those rows."
    )
