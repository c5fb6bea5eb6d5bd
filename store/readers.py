"""Readers: aggregate in SQL, return DataFrames shaped as config.facts describes.

Every reader takes an explicit unit filter (`province_code` and/or `unit_codes`) so that access
scoping can be enforced here, in the data layer, rather than in pages.
"""
from __future__ import annotations

import datetime as dt
from typing import Sequence

import pandas as pd
from sqlalchemy import Engine, and_, func, literal, select
from sqlalchemy.sql import Select

from config.facts import FLOW_COLUMNS, OPTIONAL_COLUMNS, PERIOD_COLUMNS, STOCK_COLUMNS
from store.schema import collection_runs, dossier_facts as facts, unit_status, units

# A stock older than this before a period boundary is treated as unknown, not as still true.
STOCK_LOOKBACK_DAYS = 31
GROUPINGS = ("unit_code", "field")


def load_units(engine: Engine, province_code: str | None = None) -> pd.DataFrame:
    """Units as stored (registry copy), optionally of one province."""
    query = select(units).order_by(units.c.code)
    if province_code is not None:
        query = query.where(units.c.province_code == province_code)
    with engine.connect() as connection:
        return pd.read_sql(query, connection)


def period_totals(engine: Engine, start: dt.date, end: dt.date, *, province_code: str | None = None,
                  unit_codes: Sequence[str] | None = None, fields: Sequence[str] | None = None,
                  group_by: Sequence[str] = ("unit_code",)) -> pd.DataFrame:
    """Flows summed over [start, end], carried_over and end stocks, one row per group.

    Groups with no fact rows at all are absent: callers show them as "no data", never as zero.
    """
    keys = _check_grouping(group_by)
    flows = _read(engine, _flows_query(start, end, province_code, unit_codes, fields, keys))
    closing = _read(engine, _stock_query(end, province_code, unit_codes, fields, keys, list(STOCK_COLUMNS)))
    opening = _read(engine, _stock_query(start - dt.timedelta(days=1), province_code, unit_codes, fields, keys,
                                         ["pending_on_time", "pending_overdue"]))
    opening["carried_over"] = opening.pop("pending_on_time") + opening.pop("pending_overdue")
    frame = _merge(flows, closing, keys)
    frame = frame[frame[list(FLOW_COLUMNS)].notna().any(axis=1) | frame[list(STOCK_COLUMNS)].notna().any(axis=1)]
    frame = _merge(frame, opening, keys, how="left")
    counts = list(FLOW_COLUMNS) + list(STOCK_COLUMNS) + ["carried_over"]
    frame[counts] = frame[counts].fillna(0).astype("int64")
    frame["days_with_data"] = frame["days_with_data"].fillna(0).astype("int64")
    return frame[keys + list(PERIOD_COLUMNS) + ["days_with_data"]].reset_index(drop=True)


def daily_totals(engine: Engine, start: dt.date, end: dt.date, *, province_code: str | None = None,
                 unit_codes: Sequence[str] | None = None, fields: Sequence[str] | None = None,
                 by_unit: bool = False) -> pd.DataFrame:
    """One row per day (and unit): the day's flows and its end-of-day stocks."""
    keys = ["day", "unit_code"] if by_unit else ["day"]
    sums = [func.sum(facts.c[c]).label(c) for c in FLOW_COLUMNS + STOCK_COLUMNS + OPTIONAL_COLUMNS]
    query = select(*[facts.c[k] for k in keys], *sums).where(facts.c.day.between(start, end))
    query = _filtered(query, province_code, unit_codes, fields).group_by(*keys).order_by(*keys)
    frame = _read(engine, query)
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame


def last_collection(engine: Engine) -> dt.datetime | None:
    """When the newest successful or partial collection run finished."""
    query = select(func.max(collection_runs.c.finished_at)).where(collection_runs.c.status.in_(("ok", "partial")))
    with engine.connect() as connection:
        return connection.execute(query).scalar()


def unit_freshness(engine: Engine, province_code: str | None = None) -> pd.DataFrame:
    """Per unit: newest success over all sources, newest day collected, last error."""
    query = select(unit_status.c.unit_code, func.max(unit_status.c.last_success_at).label("last_success_at"),
                   func.max(unit_status.c.last_day_collected).label("last_day_collected"),
                   func.max(unit_status.c.last_error_at).label("last_error_at")).group_by(unit_status.c.unit_code)
    if province_code is not None:
        query = query.where(unit_status.c.unit_code.in_(select(units.c.code).where(units.c.province_code == province_code)))
    return _read(engine, query)


def data_extent(engine: Engine, province_code: str | None = None) -> tuple[dt.date | None, dt.date | None]:
    """First and last day with facts."""
    query = _filtered(select(func.min(facts.c.day), func.max(facts.c.day)), province_code, None, None)
    with engine.connect() as connection:
        first, last = connection.execute(query).one()
    return _as_date(first), _as_date(last)


def _flows_query(start, end, province_code, unit_codes, fields, keys) -> Select:
    sums = [func.sum(facts.c[c]).label(c) for c in FLOW_COLUMNS + OPTIONAL_COLUMNS]
    days = func.count(func.distinct(facts.c.day)).label("days_with_data")
    query = select(*[facts.c[k] for k in keys], *sums, days).where(facts.c.day.between(start, end))
    return _grouped(_filtered(query, province_code, unit_codes, fields), keys)


def _stock_query(as_of, province_code, unit_codes, fields, keys, columns) -> Select:
    """Stocks on the newest day <= as_of of every (unit, field, source), within the lookback."""
    window = facts.c.day.between(as_of - dt.timedelta(days=STOCK_LOOKBACK_DAYS), as_of)
    latest = _filtered(select(facts.c.unit_code, facts.c.field, facts.c.source, func.max(facts.c.day).label("day"))
                       .where(window), province_code, unit_codes, fields)
    latest = latest.group_by(facts.c.unit_code, facts.c.field, facts.c.source).subquery("latest")
    joined = facts.join(latest, and_(facts.c.unit_code == latest.c.unit_code, facts.c.field == latest.c.field,
                                     facts.c.source == latest.c.source, facts.c.day == latest.c.day))
    query = select(*[facts.c[k] for k in keys], *[func.sum(facts.c[c]).label(c) for c in columns]).select_from(joined)
    return _grouped(query, keys)


def _filtered(query: Select, province_code, unit_codes, fields) -> Select:
    if province_code is not None:
        query = query.where(facts.c.unit_code.in_(select(units.c.code).where(units.c.province_code == province_code)))
    if unit_codes is not None:
        query = query.where(facts.c.unit_code.in_(list(unit_codes)))
    if fields is not None:
        query = query.where(facts.c.field.in_(list(fields)))
    return query


def _grouped(query: Select, keys: list[str]) -> Select:
    if keys:
        return query.group_by(*[facts.c[k] for k in keys])
    return query.add_columns(literal(1).label("_all"))


def _merge(left: pd.DataFrame, right: pd.DataFrame, keys: list[str], how: str = "outer") -> pd.DataFrame:
    on = keys or ["_all"]
    for frame in (left, right):
        if not keys and "_all" not in frame:
            frame["_all"] = 1
    return left.merge(right, on=on, how=how)


def _check_grouping(group_by: Sequence[str]) -> list[str]:
    keys = list(group_by)
    unknown = set(keys) - set(GROUPINGS)
    if unknown:
        raise ValueError(f"Cannot group by {sorted(unknown)}; allowed: {GROUPINGS}")
    return keys


def _read(engine: Engine, query: Select) -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.read_sql(query, connection)


def _as_date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
