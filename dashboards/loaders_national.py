"""Cached loaders of the nation's level (national mode): provinces' KPIs, the nation's strip and trend.

Every read goes through store.readers_national (rollups only) with the province filter of the
caller's ScopedReader: a national scope reads all provinces, a province-bound one only its own; a
scope limited to some units never reads the nation's level (OutOfScopeError). Cached like
dashboards.loaders, keyed on the reader, the arguments and the newest collection run.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from dashboards.cache import memoize
from dashboards.loaders import KPI_KEYS, data_stamp
from geo.registry import provinces
from kpis import indicators
from kpis.change import previous_period
from kpis.service_index import service_index_frame
from store import readers_national
from store.scoped import OutOfScopeError, ScopedReader

SERVICE_INDEX = "service_index"
COMMUNE_LEVEL = "xa"


def province_kpis(reader: ScopedReader, start: dt.date, end: dt.date, service_index_config=None) -> pd.DataFrame:
    """One row per province the scope sees: unit_code (= province code), name, communes, KPIs, service index.

    `unit_code` keeps the map and ranking builders unchanged; provinces without data keep NaN.
    """
    return _province_kpis(reader, start, end, service_index_config, data_stamp(reader)).copy()


def nation_kpis(reader: ScopedReader, start: dt.date, end: dt.date) -> dict[str, float]:
    """KPI values of every commune the scope sees, together (NaN where there is no data)."""
    return dict(_nation_kpis(reader, start, end, data_stamp(reader)))


def nation_kpis_with_previous(reader: ScopedReader, start: dt.date, end: dt.date) -> tuple[dict, dict]:
    """The nation's KPIs for the period and for the previous period of equal length."""
    return nation_kpis(reader, start, end), nation_kpis(reader, *previous_period(start, end))


def nation_daily(reader: ScopedReader, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Per day, all communes the scope sees: received online / direct and the Biểu 06 on-time rate."""
    return _nation_daily(reader, start, end, data_stamp(reader)).copy()


def clear() -> None:
    """Drop every cached result of this module."""
    for cached in (_province_kpis, _nation_kpis, _nation_daily):
        cached.cache_clear()


def _provinces_of(reader: ScopedReader) -> list[str] | None:
    """The province filter for the national readers (None = all), refusing unit-limited scopes."""
    if reader.scope.unit_codes is not None:
        raise OutOfScopeError(f"{reader.scope.describe()} may not read the nation's level")
    return None if reader.scope.province_code is None else [reader.scope.province_code]


@memoize
def _province_kpis(reader: ScopedReader, start, end, service_index_config, stamp) -> pd.DataFrame:
    chosen = _provinces_of(reader)
    totals = readers_national.province_totals(reader.engine, start, end, level=COMMUNE_LEVEL, province_codes=chosen)
    totals = totals.rename(columns={"province_code": "unit_code"})
    derived = indicators.with_indicators(totals)[["unit_code", "days_with_data", *KPI_KEYS]]
    info = pd.DataFrame([{"unit_code": p.code, "name": p.name, "short_name": p.short_name, "lat": p.lat,
                          "lon": p.lon, "communes": p.commune_count}
                         for p in provinces().values() if chosen is None or p.code in chosen])
    frame = info.merge(derived, on="unit_code", how="left")
    frame[list(KPI_KEYS)] = frame[list(KPI_KEYS)].astype("float64")
    frame["has_data"] = frame["days_with_data"].notna()
    if service_index_config is not None:
        index = service_index_frame(totals, service_index_config)[["unit_code", "score"]]
        frame = frame.merge(index.rename(columns={"score": SERVICE_INDEX}), on="unit_code", how="left")
        frame[SERVICE_INDEX] = frame[SERVICE_INDEX].astype("float64")
    return frame


@memoize
def _nation_kpis(reader: ScopedReader, start, end, stamp) -> dict[str, float]:
    totals = readers_national.nation_totals(reader.engine, start, end, level=COMMUNE_LEVEL,
                                            province_codes=_provinces_of(reader))
    if totals.empty:
        return {key: np.nan for key in KPI_KEYS}
    row = indicators.with_indicators(totals).iloc[0]
    return {key: np.nan if pd.isna(row[key]) else float(row[key]) for key in KPI_KEYS}


@memoize
def _nation_daily(reader: ScopedReader, start, end, stamp) -> pd.DataFrame:
    daily = readers_national.province_daily(reader.engine, start, end, level=COMMUNE_LEVEL,
                                            province_codes=_provinces_of(reader))
    daily["carried_over"] = np.nan   # a day has no carried-over stock; the Biểu 06 rate does not need one
    frame = daily[["day", "received_online", "received_direct"]].copy()
    frame["on_time_bieu06"] = indicators.on_time_rate_bieu06(daily) if len(daily) else pd.Series(dtype="float64")
    return frame.reset_index(drop=True)
