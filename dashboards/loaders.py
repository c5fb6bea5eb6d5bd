"""Cached data loaders: the only way pages reach the store.

Each loader reads through store.readers and derives KPIs with kpis; results are cached in
process, keyed on the arguments plus the time of the newest collection run, so a new collection
invalidates them without any explicit signal. Returned frames are copies: callers may modify them.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from kpis import indicators
from kpis.change import previous_period
from kpis.definitions import KPIS
from store import readers

CACHE_SIZE = 256
KPI_KEYS = tuple(k.key for k in KPIS)
UNIT_INFO_COLUMNS = ["code", "name", "short_name", "type", "level", "lat", "lon"]


def data_stamp(engine: Engine) -> dt.datetime | None:
    """When the newest collection run finished: the cache key that new data changes."""
    return readers.last_collection(engine)


def units(engine: Engine, province_code: str) -> pd.DataFrame:
    """Stored units of the province (commune and province level)."""
    return _units(engine, province_code, data_stamp(engine)).copy()


def province_kpis(engine: Engine, province_code: str, start: dt.date, end: dt.date) -> dict[str, float]:
    """KPI values for the whole province over [start, end]; NaN where there is no data."""
    return dict(_province_kpis(engine, province_code, start, end, data_stamp(engine)))


def province_kpis_with_previous(engine: Engine, province_code: str, start: dt.date,
                                end: dt.date) -> tuple[dict[str, float], dict[str, float]]:
    """KPI values for the period and for the previous period of equal length."""
    previous_start, previous_end = previous_period(start, end)
    return (province_kpis(engine, province_code, start, end),
            province_kpis(engine, province_code, previous_start, previous_end))


def unit_kpis(engine: Engine, province_code: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """One row per unit of the province with its KPIs over [start, end]; units without data keep NaN."""
    return _unit_kpis(engine, province_code, start, end, data_stamp(engine)).copy()


def daily_trend(engine: Engine, province_code: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Per day: received online, received direct/postal and the Biểu 06 on-time rate of the day."""
    return _daily_trend(engine, province_code, start, end, data_stamp(engine)).copy()


def clear() -> None:
    """Drop every cached result (tests, or after a manual data fix)."""
    for cached in (_units, _province_kpis, _unit_kpis, _daily_trend):
        cached.cache_clear()


@lru_cache(maxsize=32)
def _units(engine, province_code, stamp) -> pd.DataFrame:
    return readers.load_units(engine, province_code)


@lru_cache(maxsize=CACHE_SIZE)
def _province_kpis(engine, province_code, start, end, stamp) -> dict[str, float]:
    totals = readers.period_totals(engine, start, end, province_code=province_code, group_by=())
    if totals.empty:
        return {key: np.nan for key in KPI_KEYS}
    row = indicators.with_indicators(totals).iloc[0]
    return {key: _float(row[key]) for key in KPI_KEYS}


@lru_cache(maxsize=CACHE_SIZE)
def _unit_kpis(engine, province_code, start, end, stamp) -> pd.DataFrame:
    totals = readers.period_totals(engine, start, end, province_code=province_code, group_by=("unit_code",))
    derived = indicators.with_indicators(totals)[["unit_code", "days_with_data", *KPI_KEYS]]
    info = _units(engine, province_code, stamp)[UNIT_INFO_COLUMNS].rename(columns={"code": "unit_code"})
    frame = info.merge(derived, on="unit_code", how="left")
    frame[list(KPI_KEYS)] = frame[list(KPI_KEYS)].astype("float64")
    frame["has_data"] = frame["days_with_data"].notna()
    return frame


@lru_cache(maxsize=CACHE_SIZE)
def _daily_trend(engine, province_code, start, end, stamp) -> pd.DataFrame:
    daily = readers.daily_totals(engine, start, end, province_code=province_code)
    # A day has no carried-over stock of its own; the Biểu 06 rate does not need one.
    daily["carried_over"] = np.nan
    columns = ["day", "received_online", "received_direct"]
    frame = daily[columns].copy()
    frame["on_time_bieu06"] = indicators.on_time_rate_bieu06(daily) if len(daily) else pd.Series(dtype="float64")
    return frame.reset_index(drop=True)


def _float(value) -> float:
    return np.nan if value is None or pd.isna(value) else float(value)
