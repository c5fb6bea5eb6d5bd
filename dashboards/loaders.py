"""Cached data loaders: the only way pages reach the store.

Each loader reads through a store.scoped.ScopedReader (pages pass access.scope.current_reader(engine),
so the caller's scope is applied in SQL) and derives KPIs with kpis; results are cached in process,
keyed on the reader (engine and scope), the arguments and the time of the newest collection run,
so a new collection invalidates them without any explicit signal and one scope never sees another's
cached rows. A bare Engine means a trusted caller (scripts, tests): the whole province.
Returned frames are copies: callers may modify them.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from dashboards import cache
from dashboards.cache import memoize

from kpis import indicators
from kpis.change import previous_period
from kpis.definitions import KPIS
from store.scoped import ScopedReader, as_reader

CACHE_SIZE = 256
KPI_KEYS = tuple(k.key for k in KPIS)
UNIT_INFO_COLUMNS = ["code", "name", "short_name", "type", "level", "lat", "lon"]


Source = Engine | ScopedReader


def data_stamp(source: Source) -> dt.datetime | None:
    """When the newest collection run finished: the cache key that new data changes."""
    reader = as_reader(source)
    # Re-read at most once a second per worker inside requests: a tiny MAX() query, not one per loader call.
    return cache.stamp(reader.engine, "data", reader.last_collection)


def units(source: Source, province_code: str) -> pd.DataFrame:
    """Stored units of the province (commune and province level): the public registry, no dossier data."""
    reader = as_reader(source, province_code)
    return _units(reader, data_stamp(reader)).copy()


def province_kpis(source: Source, province_code: str, start: dt.date, end: dt.date) -> dict[str, float]:
    """KPI values for the province (the scope's part of it) over [start, end]; NaN where there is no data."""
    reader = as_reader(source, province_code)
    return dict(_province_kpis(reader, start, end, data_stamp(reader)))


def province_kpis_with_previous(source: Source, province_code: str, start: dt.date,
                                end: dt.date) -> tuple[dict[str, float], dict[str, float]]:
    """KPI values for the period and for the previous period of equal length."""
    previous_start, previous_end = previous_period(start, end)
    return (province_kpis(source, province_code, start, end),
            province_kpis(source, province_code, previous_start, previous_end))


def unit_kpis(source: Source, province_code: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """One row per unit of the province with its KPIs over [start, end]; units without data keep NaN."""
    reader = as_reader(source, province_code)
    return _unit_kpis(reader, start, end, data_stamp(reader)).copy()


def daily_trend(source: Source, province_code: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Per day: received online, received direct/postal and the Biểu 06 on-time rate of the day."""
    reader = as_reader(source, province_code)
    return _daily_trend(reader, start, end, data_stamp(reader)).copy()


def clear() -> None:
    """Drop every cached result (tests, or after a manual data fix)."""
    for cached in (_units, _province_kpis, _unit_kpis, _daily_trend):
        cached.cache_clear()


@memoize
def _units(reader: ScopedReader, stamp) -> pd.DataFrame:
    return reader.units()


@memoize
def _province_kpis(reader: ScopedReader, start, end, stamp) -> dict[str, float]:
    totals = reader.period_totals(start, end, group_by=())
    if totals.empty:
        return {key: np.nan for key in KPI_KEYS}
    row = indicators.with_indicators(totals).iloc[0]
    return {key: _float(row[key]) for key in KPI_KEYS}


@memoize
def _unit_kpis(reader: ScopedReader, start, end, stamp) -> pd.DataFrame:
    totals = reader.period_totals(start, end, group_by=("unit_code",))
    derived = indicators.with_indicators(totals)[["unit_code", "days_with_data", *KPI_KEYS]]
    info = _units(reader, stamp)[UNIT_INFO_COLUMNS].rename(columns={"code": "unit_code"})
    frame = info.merge(derived, on="unit_code", how="left")
    frame[list(KPI_KEYS)] = frame[list(KPI_KEYS)].astype("float64")
    frame["has_data"] = frame["days_with_data"].notna()
    return frame


@memoize
def _daily_trend(reader: ScopedReader, start, end, stamp) -> pd.DataFrame:
    daily = reader.daily_totals(start, end)
    # A day has no carried-over stock of its own; the Biểu 06 rate does not need one.
    daily["carried_over"] = np.nan
    columns = ["day", "received_online", "received_direct"]
    frame = daily[columns].copy()
    frame["on_time_bieu06"] = indicators.on_time_rate_bieu06(daily) if len(daily) else pd.Series(dtype="float64")
    return frame.reset_index(drop=True)


def _float(value) -> float:
    return np.nan if value is None or pd.isna(value) else float(value)
