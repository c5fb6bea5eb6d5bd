"""Export readers: period totals per calendar bucket (day, week, month, quarter, year), streamed in chunks.

Bucket boundaries are computed here in Python (ISO weeks start on Monday, quarters are 1..4) and
handed to SQL as literal dates, so SQLite and PostgreSQL bucket identically: no dialect date
functions are involved. Each bucket row means exactly what store.readers.period_totals means for
the bucket's range: flows summed over it, stocks as at its last day, carried_over = the stock at
the end of the day before it (both within the same 31-day lookback). Groups without data are absent.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterator, Sequence

import pandas as pd
from sqlalchemy import Date, Engine, and_, case, func, literal, select, union_all
from sqlalchemy.sql import Select

from config.facts import FLOW_COLUMNS, OPTIONAL_COLUMNS, PERIOD_COLUMNS, STOCK_COLUMNS
from store.readers import STOCK_LOOKBACK_DAYS
from store.schema import dossier_facts as facts, units

GRAINS = ("day", "week", "month", "quarter", "year")
KEYS = ["unit_code", "field"]
# A chunk spans about a month of days: one flows query and one stocks query per chunk keeps memory
# flat and gives progress steps, while a month of buckets stays one cheap indexed range scan.
CHUNK_DAYS = 31
BUCKET_COLUMNS = ["period", "period_start", "period_end"]
OUTPUT_COLUMNS = BUCKET_COLUMNS + KEYS + list(PERIOD_COLUMNS) + ["days_with_data"]


@dataclass(frozen=True)
class Bucket:
    """One calendar bucket, clipped to the requested range; `label` names the whole calendar bucket."""

    label: str
    start: dt.date
    end: dt.date


def check_grain(by: str) -> str:
    """Return the grain if known, else raise ValueError saying which grains exist."""
    if by not in GRAINS:
        raise ValueError(f"Unknown period grain {by!r}; use one of {', '.join(GRAINS)}")
    return by


def bucket_start(day: dt.date, by: str) -> dt.date:
    """First day of the calendar bucket holding `day` (weeks: ISO, Monday)."""
    check_grain(by)
    if by == "day":
        return day
    if by == "week":
        return day - dt.timedelta(days=day.weekday())
    if by == "month":
        return day.replace(day=1)
    if by == "quarter":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return dt.date(day.year, 1, 1)


def next_bucket_start(start: dt.date, by: str) -> dt.date:
    """First day of the bucket after the one starting on `start`."""
    if by == "day":
        return start + dt.timedelta(days=1)
    if by == "week":
        return start + dt.timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[check_grain(by)]
    index = start.year * 12 + start.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def bucket_label(start: dt.date, by: str) -> str:
    """Name a calendar bucket: 2025-07-01, 2025-W27, 2025-07, 2025-Q3, 2025."""
    if by == "day":
        return start.isoformat()
    if by == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if by == "month":
        return f"{start.year}-{start.month:02d}"
    if by == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return str(start.year)


def period_buckets(start: dt.date, end: dt.date, by: str) -> list[Bucket]:
    """The buckets covering [start, end], the first and last clipped to it."""
    check_grain(by)
    if start > end:
        raise ValueError(f"Period start {start} is after its end {end}; pass start <= end")
    buckets, first = [], bucket_start(start, by)
    while first <= end:
        following = next_bucket_start(first, by)
        buckets.append(Bucket(bucket_label(first, by), max(first, start), min(following - dt.timedelta(days=1), end)))
        first = following
    return buckets


def bucket_chunks(buckets: Sequence[Bucket], chunk_days: int = CHUNK_DAYS) -> list[list[Bucket]]:
    """Group consecutive buckets into chunks of about `chunk_days` days (at least one bucket each)."""
    chunks: list[list[Bucket]] = []
    for bucket in buckets:
        if chunks and (bucket.end - chunks[-1][0].start).days < chunk_days:
            chunks[-1].append(bucket)
        else:
            chunks.append([bucket])
    return chunks


def bucket_totals(engine: Engine, buckets: Sequence[Bucket], *, province_code: str | None = None,
                  unit_codes: Sequence[str] | None = None, fields: Sequence[str] | None = None) -> pd.DataFrame:
    """Period totals per (bucket, unit, field) for consecutive buckets, one row per group with data."""
    if not buckets:
        return pd.DataFrame(columns=OUTPUT_COLUMNS)
    scope = (province_code, unit_codes, fields)
    flows = _read(engine, _flows_query(buckets, *scope))
    as_of = [buckets[0].start - dt.timedelta(days=1)] + [b.end for b in buckets]
    stocks = _read(engine, _stocks_query(as_of, *scope))
    stocks["as_of"] = pd.to_datetime(stocks["as_of"]).dt.date
    closing = _by_bucket(stocks, {b.end: i for i, b in enumerate(buckets)}, list(STOCK_COLUMNS))
    opening = _by_bucket(stocks, {b.start - dt.timedelta(days=1): i for i, b in enumerate(buckets)},
                         ["pending_on_time", "pending_overdue"])
    opening["carried_over"] = opening.pop("pending_on_time") + opening.pop("pending_overdue")
    frame = flows.merge(closing, on=["bucket"] + KEYS, how="outer").merge(opening, on=["bucket"] + KEYS, how="left")
    counts = list(FLOW_COLUMNS) + list(STOCK_COLUMNS) + ["carried_over", "days_with_data"]
    frame[counts] = frame[counts].fillna(0).astype("int64")
    frame[list(OPTIONAL_COLUMNS)] = frame[list(OPTIONAL_COLUMNS)].astype("float64")
    index = frame.pop("bucket").astype("int64")
    frame["period"] = [buckets[i].label for i in index]
    frame["period_start"] = [buckets[i].start for i in index]
    frame["period_end"] = [buckets[i].end for i in index]
    frame = frame.sort_values(["period_start"] + KEYS, kind="stable")
    return frame[OUTPUT_COLUMNS].reset_index(drop=True)


def iter_bucket_totals(engine: Engine, start: dt.date, end: dt.date, by: str, *, province_code: str | None = None,
                       unit_codes: Sequence[str] | None = None, fields: Sequence[str] | None = None,
                       chunk_days: int = CHUNK_DAYS) -> Iterator[pd.DataFrame]:
    """Yield bucket totals over [start, end] chunk by chunk, in period order (see bucket_chunks)."""
    for chunk in bucket_chunks(period_buckets(start, end, by), chunk_days):
        yield bucket_totals(engine, chunk, province_code=province_code, unit_codes=unit_codes, fields=fields)


def chunk_count(start: dt.date, end: dt.date, by: str, chunk_days: int = CHUNK_DAYS) -> int:
    """How many frames iter_bucket_totals will yield (for progress bars)."""
    return len(bucket_chunks(period_buckets(start, end, by), chunk_days))


def _flows_query(buckets, province_code, unit_codes, fields) -> Select:
    bucket = case(*[(facts.c.day.between(b.start, b.end), literal(i)) for i, b in enumerate(buckets)]).label("bucket")
    sums = [func.sum(facts.c[c]).label(c) for c in FLOW_COLUMNS + OPTIONAL_COLUMNS]
    days = func.count(func.distinct(facts.c.day)).label("days_with_data")
    query = select(bucket, facts.c.unit_code, facts.c.field, *sums, days)
    query = query.where(facts.c.day.between(buckets[0].start, buckets[-1].end))
    return _filtered(query, province_code, unit_codes, fields).group_by(bucket, facts.c.unit_code, facts.c.field)


def _stocks_query(as_of: Sequence[dt.date], province_code, unit_codes, fields) -> Select:
    """Stocks summed per (as_of, unit, field) over the newest day <= as_of of each source, within the lookback."""
    dates = union_all(*[select(literal(day, Date).label("as_of"),
                               literal(day - dt.timedelta(days=STOCK_LOOKBACK_DAYS), Date).label("since"))
                        for day in sorted(set(as_of))]).subquery("as_of_dates")
    latest = select(dates.c.as_of, facts.c.unit_code, facts.c.field, facts.c.source,
                    func.max(facts.c.day).label("day")).select_from(
        facts.join(dates, facts.c.day.between(dates.c.since, dates.c.as_of)))
    latest = _filtered(latest, province_code, unit_codes, fields)
    latest = latest.group_by(dates.c.as_of, facts.c.unit_code, facts.c.field, facts.c.source).subquery("latest")
    joined = facts.join(latest, and_(facts.c.unit_code == latest.c.unit_code, facts.c.field == latest.c.field,
                                     facts.c.source == latest.c.source, facts.c.day == latest.c.day))
    sums = [func.sum(facts.c[c]).label(c) for c in STOCK_COLUMNS]
    return (select(latest.c.as_of, facts.c.unit_code, facts.c.field, *sums).select_from(joined)
            .group_by(latest.c.as_of, facts.c.unit_code, facts.c.field))


def _by_bucket(stocks: pd.DataFrame, bucket_of: dict[dt.date, int], columns: list[str]) -> pd.DataFrame:
    """Stocks as at the given dates, keyed by the bucket each date belongs to as an opening or closing."""
    picked = stocks[stocks["as_of"].isin(bucket_of.keys())]
    result = picked[KEYS + columns].copy()
    result["bucket"] = picked["as_of"].map(bucket_of).astype("int64")
    return result


def _filtered(query: Select, province_code, unit_codes, fields) -> Select:
    # Same scoping as store.readers: access rules live in the data layer.
    if province_code is not None:
        query = query.where(facts.c.unit_code.in_(select(units.c.code).where(units.c.province_code == province_code)))
    if unit_codes is not None:
        query = query.where(facts.c.unit_code.in_(list(unit_codes)))
    if fields is not None:
        query = query.where(facts.c.field.in_(list(fields)))
    return query


def _read(engine: Engine, query: Select) -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.read_sql(query, connection)
