"""Bulk loading of data frames inside a caller's transaction: COPY on PostgreSQL, executemany on SQLite.

Frames hold plain values: text (dates as ISO text, which both databases read as dates) and counts.
Counts are written as integers (a float column of counts would write 7.0) and NULL for missing.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat
from typing import Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.csv as pyarrow_csv
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Connection

T = TypeVar("T")
COPY_BLOCK_ROWS = 50_000


def iso_days(values: pd.Series) -> pd.Series:
    """Dates (date objects, timestamps or ISO text) as 'YYYY-MM-DD' text, formatting each distinct day once."""
    codes, uniques = pd.factorize(values)
    text = pyarrow.array(pd.to_datetime(pd.Series(uniques)).dt.strftime("%Y-%m-%d").to_numpy(dtype=object),
                         pyarrow.string())
    return pd.Series(text.take(pyarrow.array(codes, mask=codes < 0)), index=values.index, dtype="str")


def as_counts(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """The frame with the count columns as integers: int64 kept, anything else as nullable Int64."""
    changed = {c: pd.to_numeric(frame[c]).astype("Int64") for c in columns
               if c in frame.columns and not pd.api.types.is_integer_dtype(frame[c].dtype)}
    return frame.assign(**changed) if changed else frame


@dataclass(frozen=True)
class CsvRows:
    """A frame already formatted for COPY (FORMAT csv): formatted while the server is busy with something
    else (see copy_csv's `meanwhile`), then sent without delay."""
    columns: tuple[str, ...]
    blocks: tuple[bytes, ...]


def csv_rows(frame: pd.DataFrame) -> CsvRows:
    return CsvRows(tuple(frame.columns), tuple(_csv_blocks(pyarrow.Table.from_pandas(frame, preserve_index=False))))


def load(connection: Connection, table: str, frame: pd.DataFrame | CsvRows) -> None:
    """Append the frame's rows (columns named as the table's) to `table`; CsvRows on PostgreSQL only."""
    if isinstance(frame, CsvRows):
        cursor = connection.connection.cursor()
        with cursor.copy(f"COPY {table} ({', '.join(frame.columns)}) FROM STDIN WITH (FORMAT csv)") as copy:
            for block in frame.blocks:
                copy.write(block)
        return
    if frame.empty:
        return
    columns = ", ".join(frame.columns)
    if connection.dialect.name == "postgresql":
        copy_csv(connection, f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)", frame)
        return
    marks = ", ".join("?" * len(frame.columns))
    connection.exec_driver_sql(f"INSERT INTO {table} ({columns}) VALUES ({marks})", plain_rows(frame))


def copy_csv(connection: Connection, statement: str, frame: pd.DataFrame, constants: Mapping[str, str] = {},
             meanwhile: Callable[[], T] | None = None) -> T | None:
    """Run a COPY .. FROM STDIN (FORMAT csv) with the frame's rows (then the `constants` columns), sent in
    blocks by a worker thread: the server inserts one block while the next is formatted, and while
    `meanwhile` (returned) runs once all are queued. NULL is an unquoted empty field.
    """
    table = pyarrow.Table.from_pandas(frame, preserve_index=False)
    for name, value in constants.items():
        table = table.append_column(name, pyarrow.repeat(pyarrow.scalar(value, pyarrow.string()), len(table)))
    cursor = connection.connection.cursor()
    result = None
    with cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
        for block in _csv_blocks(table):
            copy.write(block)
        if meanwhile is not None:
            result = meanwhile()
    return result


def _csv_blocks(table: pyarrow.Table) -> Iterator[bytes]:
    """CSV text of COPY_BLOCK_ROWS rows at a time (NULL as an unquoted empty field)."""
    options = pyarrow_csv.WriteOptions(include_header=False, quoting_style="needed")
    for batch in table.to_batches(max_chunksize=COPY_BLOCK_ROWS):
        sink = pyarrow.BufferOutputStream()
        pyarrow_csv.write_csv(batch, sink, options)
        yield sink.getvalue().to_pybytes()


def plain_rows(frame: pd.DataFrame, constants: Sequence = ()) -> list[tuple]:
    """Rows as tuples of Python values (None for NULL), each followed by the `constants`."""
    columns = [_plain_column(frame[c]) for c in frame.columns] + [repeat(v) for v in constants]
    return list(zip(*columns))


def _plain_column(series: pd.Series) -> list:
    numpy_ints = isinstance(series.dtype, np.dtype) and series.dtype.kind in "iu"  # hold no NULL (Int64 may)
    if not numpy_ints and series.isna().any():
        return series.astype(object).where(series.notna(), None).tolist()
    return series.tolist()
