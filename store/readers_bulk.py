"""Bulk export reads: store.readers_export's bucket totals, for big exports, at hundreds of thousands of rows/s.

store.readers_export asks SQL for each chunk of about a month of buckets: one CASE per bucket and one
lookback join per bucket end. For fine grains over a whole province that is most of the time of an
export (a 1,000,000-row daily CSV spent ~2 s of server time per 31 days). Here the fact rows of a
chunk are read as they are stored (PostgreSQL: COPY .. TO STDOUT as CSV, parsed by Arrow), and the
buckets are computed in numpy: flows summed per (bucket, unit, field), stocks taken per source from
its newest row within the lookback before each bucket end. The numbers are the same as
store.readers_export (a test compares them bucket by bucket, with gaps and two sources).

Chunks are sized by rows, not days (`target_rows`, from an estimate of rows per day), and the rows
of the lookback window are carried from one chunk to the next instead of being read again, so each
fact row is read once and memory stays bounded by the chunk. When a single bucket would hold more
raw rows than a chunk (a month of the whole nation), the SQL aggregation of store.readers_export is
used instead: it returns one row per group rather than per fact.
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Engine, Integer, cast, func, literal, select

from config.facts import FLOW_COLUMNS, OPTIONAL_COLUMNS, STOCK_COLUMNS
from store import readers_export
from store.readers import STOCK_LOOKBACK_DAYS
from store.readers_export import KEYS, OUTPUT_COLUMNS, Bucket, bucket_chunks, period_buckets
from store.schema import dossier_facts as facts, units as units_table

# Fact rows per chunk: a chunk costs a worker ~1 KB per row at its peak (the rows, Arrow and pandas copies,
# ~8 MB of CSV out), so ~60-80 MB; bigger chunks do not make the export faster.
TARGET_ROWS = 60_000
EPOCH = dt.date(1970, 1, 1)
COUNTS = list(FLOW_COLUMNS) + list(STOCK_COLUMNS) + ["carried_over", "days_with_data"]


@dataclass(frozen=True)
class BucketFrame:
    """One chunk of bucket totals: `frame` has `bucket` (index into `buckets`), categorical unit_code and
    field (sorted categories), the counts and optional columns; rows sorted by (bucket, unit, field)."""

    buckets: list[Bucket]
    frame: pd.DataFrame

    def output(self) -> pd.DataFrame:
        """The same rows as store.readers_export.bucket_totals (period labels and dates, plain strings)."""
        frame = self.frame
        index = frame["bucket"].to_numpy()
        out = pd.DataFrame({
            "period": np.array([b.label for b in self.buckets], dtype=object)[index].tolist(),
            "period_start": np.array([b.start for b in self.buckets], dtype=object)[index],
            "period_end": np.array([b.end for b in self.buckets], dtype=object)[index],
            "unit_code": frame["unit_code"].astype(str), "field": frame["field"].astype(str)})
        for column in OUTPUT_COLUMNS[5:]:
            out[column] = frame[column].to_numpy() if column in frame else np.nan
        return out[OUTPUT_COLUMNS]


def plan(start: dt.date, end: dt.date, by: str, rows_per_day: int,
         target_rows: int = TARGET_ROWS) -> list[list[Bucket]] | None:
    """Chunks of whole buckets holding about target_rows fact rows, or None when one bucket holds more."""
    buckets = period_buckets(start, end, by)
    chunk_days = max(1, target_rows // max(1, rows_per_day))
    if max((b.end - b.start).days + 1 for b in buckets) > chunk_days:
        return None
    return bucket_chunks(buckets, chunk_days)


def chunk_count(start: dt.date, end: dt.date, by: str, rows_per_day: int, target_rows: int = TARGET_ROWS) -> int:
    """How many BucketFrames iter_bucket_frames yields for these arguments (progress bars)."""
    chunks = plan(start, end, by, rows_per_day, target_rows)
    return readers_export.chunk_count(start, end, by) if chunks is None else len(chunks)


def iter_bucket_frames(engine: Engine, start: dt.date, end: dt.date, by: str, *, rows_per_day: int,
                       province_code: str | None = None, unit_codes: Sequence[str] | None = None,
                       fields: Sequence[str] | None = None, optional: bool = True,
                       target_rows: int = TARGET_ROWS) -> Iterator[BucketFrame]:
    """Bucket totals over [start, end] chunk by chunk, in period order; optional=False skips OPTIONAL_COLUMNS.

    `rows_per_day` estimates the fact rows of one day in the filter (units x fields): it sizes chunks.
    """
    scope = {"province_code": province_code, "unit_codes": unit_codes, "fields": fields}
    chunks = plan(start, end, by, rows_per_day, target_rows)
    if chunks is None:
        for chunk in bucket_chunks(period_buckets(start, end, by)):
            yield _from_totals(chunk, readers_export.bucket_totals(engine, chunk, **scope))
        return
    columns = list(FLOW_COLUMNS) + list(STOCK_COLUMNS) + (list(OPTIONAL_COLUMNS) if optional else [])
    carried = None
    for chunk in chunks:
        first = _days(chunk[0].start)
        since = first - 1 - STOCK_LOOKBACK_DAYS   # the opening stock's lookback
        rows = _read_rows(engine, since if carried is None else first, _days(chunk[-1].end), columns, scope)
        if carried is not None:
            rows = pd.concat([carried, rows], ignore_index=True)
        yield BucketFrame(chunk, _bucketed(rows, chunk, columns))
        following = _days(chunk[-1].end) + 1
        carried = rows[rows["day"] >= following - 1 - STOCK_LOOKBACK_DAYS].reset_index(drop=True)


# --- reading ------------------------------------------------------------------------------------

def _read_rows(engine: Engine, first: int, last: int, columns: list[str], scope: dict) -> pd.DataFrame:
    """Fact rows with first <= day <= last (days since 1970-01-01, as int32), filtered like readers_export."""
    if engine.dialect.name == "postgresql":
        day = (facts.c.day - literal(EPOCH)).label("day")
    else:  # SQLite stores ISO text; julianday() counts days
        day = cast(func.julianday(facts.c.day) - 2440587.5, Integer).label("day")
    query = select(facts.c.unit_code, facts.c.field, facts.c.source, day, *[facts.c[c] for c in columns])
    query = query.where(facts.c.day.between(EPOCH + dt.timedelta(days=int(first)), EPOCH + dt.timedelta(days=int(last))))
    query = _filtered(query, **scope)
    names = ["unit_code", "field", "source", "day"] + columns
    if engine.dialect.name == "postgresql":
        frame = _copy_out(engine, query, names, columns)
    else:
        with engine.connect() as connection:
            frame = pd.DataFrame(connection.execute(query).all(), columns=names)
    frame["day"] = frame["day"].astype("int32")
    for column in FLOW_COLUMNS + STOCK_COLUMNS:
        if column in frame:
            frame[column] = frame[column].astype("int64")
    for column in OPTIONAL_COLUMNS:
        if column in frame:
            frame[column] = frame[column].astype("float64")
    return frame


def _copy_out(engine: Engine, query, names: list[str], columns: list[str]) -> pd.DataFrame:
    """Run the query as COPY .. TO STDOUT (CSV) and parse it with Arrow: ~5x faster than fetching rows."""
    import pyarrow as pa
    from pyarrow import csv as arrow_csv

    compiled = query.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
    buffer = io.BytesIO()
    with engine.connect() as connection:
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv)", compiled.params) as copy:
            for data in copy:
                buffer.write(data)
    if not buffer.tell():
        return pd.DataFrame({name: pd.Series(dtype="float64" if name in OPTIONAL_COLUMNS else "object")
                             for name in names})
    buffer.seek(0)
    types = {"unit_code": pa.string(), "field": pa.string(), "source": pa.string(), "day": pa.int32(),
             **{c: (pa.float64() if c in OPTIONAL_COLUMNS else pa.int64()) for c in columns}}
    table = arrow_csv.read_csv(buffer, read_options=arrow_csv.ReadOptions(column_names=names),
                               convert_options=arrow_csv.ConvertOptions(column_types=types))
    return table.to_pandas()


def _filtered(query, province_code, unit_codes, fields):
    # The same scoping as store.readers_export._filtered: access rules live in the data layer.
    if province_code is not None:
        query = query.where(facts.c.unit_code.in_(
            select(units_table.c.code).where(units_table.c.province_code == province_code)))
    if unit_codes is not None:
        query = query.where(facts.c.unit_code.in_(list(unit_codes)))
    if fields is not None:
        query = query.where(facts.c.field.in_(list(fields)))
    return query


# --- bucketing ----------------------------------------------------------------------------------

def _bucketed(rows: pd.DataFrame, buckets: list[Bucket], columns: list[str]) -> pd.DataFrame:
    """Bucket totals of one chunk from its fact rows (and the carried lookback rows before it)."""
    unit, unit_codes = pd.factorize(rows["unit_code"], sort=True)
    field, field_codes = pd.factorize(rows["field"], sort=True)
    source, _ = pd.factorize(rows["source"], sort=True)
    size = (max(len(unit_codes), 1), max(len(field_codes), 1), int(source.max(initial=0)) + 1)
    day = rows["day"].to_numpy()
    starts = np.array([_days(b.start) for b in buckets])
    ends = np.array([_days(b.end) for b in buckets])
    flows = _flows(rows, day, unit, field, starts, ends[-1], size, [c for c in columns if c not in STOCK_COLUMNS])
    closing, opening = _stocks(rows, day, unit, field, source, starts, ends, size)
    keys = _distinct(np.concatenate([flows.index.to_numpy(), closing.index.to_numpy()]))
    frame = pd.DataFrame({"bucket": (keys // (size[0] * size[1])).astype("int64")})
    frame["unit_code"] = pd.Categorical.from_codes((keys // size[1]) % size[0], categories=_categories(unit_codes))
    frame["field"] = pd.Categorical.from_codes(keys % size[1], categories=_categories(field_codes))
    for part in (flows, closing):
        position = np.searchsorted(keys, part.index.to_numpy())
        for column in part.columns:
            values = np.zeros(len(keys), dtype="int64") if column not in OPTIONAL_COLUMNS \
                else np.full(len(keys), np.nan)
            values[position] = part[column].to_numpy()
            frame[column] = values
    carried = opening.reindex(keys, fill_value=0)
    frame["carried_over"] = carried.to_numpy(dtype="int64")
    for column in COUNTS:
        if column not in frame:
            frame[column] = np.zeros(len(keys), dtype="int64")
    return frame


def _flows(rows, day, unit, field, starts, last, size, columns) -> pd.DataFrame:
    """Flows per group key (bucket, unit, field) over the chunk's days, with days_with_data."""
    inside = day >= starts[0]
    bucket = np.searchsorted(starts, day[inside], side="right") - 1
    keys = (bucket * size[0] + unit[inside]) * size[1] + field[inside]
    values = pd.DataFrame({c: rows[c].to_numpy()[inside] for c in columns})
    sums = values.groupby(keys, sort=True).sum(min_count=1)
    span = int(last - starts[0] + 1)
    days_by_key = _distinct(keys * span + (day[inside] - starts[0])) // span   # distinct (key, day) pairs
    found, first = _runs(days_by_key)
    counts = np.diff(np.append(first, len(days_by_key)))
    sums["days_with_data"] = pd.Series(counts, index=found).reindex(sums.index, fill_value=0).to_numpy()
    for column in FLOW_COLUMNS:
        sums[column] = sums[column].fillna(0).astype("int64")
    return sums


def _stocks(rows, day, unit, field, source, starts, ends, size) -> tuple[pd.DataFrame, pd.Series]:
    """Closing stocks per group key and the opening stock (carried_over) per group key.

    Per (unit, field, source), the stock as at a date is its newest row within the lookback; the
    sources are then summed, as store.readers_export._stocks_query does.
    """
    as_of = np.concatenate([[starts[0] - 1], ends])                 # as_of[i] opens bucket i, as_of[i+1] closes it
    series = (unit.astype("int64") * size[1] + field) * size[2] + source
    base = int(starts[0] - 1 - STOCK_LOOKBACK_DAYS)
    span = int(ends[-1] - base + 1)
    order = np.argsort(series * span + (day - base), kind="stable")
    ordered = (series * span + (day - base))[order]
    present = _distinct(series)
    target = (present[:, None] * span + (as_of[None, :] - base)).ravel()
    at = np.searchsorted(ordered, target, side="right") - 1
    clipped = np.maximum(at, 0)
    newest_day = ordered[clipped] % span + base
    valid = (at >= 0) & (ordered[clipped] // span == np.repeat(present, len(as_of))) \
        & (newest_day >= np.tile(as_of, len(present)) - STOCK_LOOKBACK_DAYS)
    picked = order[clipped[valid]]
    moment = np.tile(np.arange(len(as_of)), len(present))[valid]
    pair = np.repeat(present // size[2], len(as_of))[valid]          # unit * fields + field
    stocks = pd.DataFrame({c: rows[c].to_numpy()[picked] for c in STOCK_COLUMNS})
    summed = stocks.groupby(moment * (size[0] * size[1]) + pair, sort=True).sum()
    moment_of = summed.index.to_numpy() // (size[0] * size[1])
    pair_of = summed.index.to_numpy() % (size[0] * size[1])
    closes = moment_of >= 1
    closing = summed[closes]
    closing.index = (moment_of[closes] - 1) * (size[0] * size[1]) + pair_of[closes]
    opens = moment_of < len(starts)
    opening = (summed["pending_on_time"] + summed["pending_overdue"])[opens]
    opening.index = moment_of[opens] * (size[0] * size[1]) + pair_of[opens]
    return closing, opening


def _from_totals(buckets: list[Bucket], totals: pd.DataFrame) -> BucketFrame:
    """A BucketFrame from store.readers_export.bucket_totals output (the SQL-aggregated path)."""
    index = {b.start: i for i, b in enumerate(buckets)}
    frame = totals.drop(columns=["period", "period_start", "period_end"])
    frame.insert(0, "bucket", totals["period_start"].map(index).astype("int64"))
    for key in KEYS:
        frame[key] = pd.Categorical(frame[key], categories=sorted(frame[key].unique()))
    return BucketFrame(buckets, frame.reset_index(drop=True))


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based: numpy's hash-based unique is several times slower on int keys)."""
    ordered = np.sort(values)
    return ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])] if len(ordered) else ordered


def _runs(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(value, first position) of each run of equal values in a sorted array."""
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]])) if len(ordered) else ordered
    return ordered[starts], starts


def _categories(codes) -> pd.Index:
    return pd.Index(list(codes), dtype=object)


def _days(day: dt.date) -> int:
    return (day - EPOCH).days
