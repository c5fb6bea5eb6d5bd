"""Cached loaders of the overview room: levels, procedure fields, service index, alerts, incidents.

Store reads are cached like dashboards.loaders (keyed on the arguments and the newest collection
run); anything that depends on the clock (staleness, system state) is derived after the cache from
the `now` the caller passes, so it is never stale itself. Returned frames are copies.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from dashboards.loaders import CACHE_SIZE, KPI_KEYS, UNIT_INFO_COLUMNS, data_stamp, units
from kpis import alerts as rules
from kpis import indicators
from kpis.change import previous_period
from kpis.service_index import service_index_frame
from store import health_readers, readers

COMMUNE_LEVEL, PROVINCE_LEVEL = "xa", "tinh"
SERVICE_INDEX = "service_index"   # column added to unit frames: the index normalised to 0-100
STREAK_LOOKBACK_DAYS = 31         # how far back a below-threshold run is followed
Fields = tuple[str, ...] | None


@dataclass(frozen=True)
class OverviewAlerts:
    """The alert groups of the overview, each a frame with unit (or system) names."""

    overdue: pd.DataFrame        # unit_code, name, count
    nearly_due: pd.DataFrame     # unit_code, name, count
    behind: pd.DataFrame         # unit_code, name, streak_days, since, latest
    stale: pd.DataFrame          # unit_code, name, last_success_at, age_s
    systems: pd.DataFrame        # system, name, state, since, targets_down, ...


def level_codes(engine: Engine, province_code: str, level: str) -> tuple[str, ...]:
    """Codes of the province's units at a level ('xa' communes, 'tinh' the province-level unit)."""
    frame = units(engine, province_code)
    return tuple(frame.loc[frame["level"] == level, "code"].astype(str))


def level_kpis(engine: Engine, province_code: str, start: dt.date, end: dt.date, level: str = COMMUNE_LEVEL,
               fields: Fields = None) -> dict[str, float]:
    """KPI values over [start, end] for the units of one level; NaN where there is no data."""
    codes = level_codes(engine, province_code, level)
    return dict(_level_kpis(engine, province_code, codes, start, end, fields, data_stamp(engine)))


def level_kpis_with_previous(engine: Engine, province_code: str, start: dt.date, end: dt.date,
                             level: str = COMMUNE_LEVEL, fields: Fields = None) -> tuple[dict, dict]:
    """KPI values of a level for the period and for the previous period of equal length."""
    before = previous_period(start, end)
    return (level_kpis(engine, province_code, start, end, level, fields),
            level_kpis(engine, province_code, *before, level, fields))


def unit_kpis(engine: Engine, province_code: str, start: dt.date, end: dt.date, fields: Fields = None,
              service_index_config=None) -> pd.DataFrame:
    """One row per unit with its KPIs, end stocks and (given a config) the service index; NaN = no data."""
    stamp = data_stamp(engine)
    totals = _unit_totals(engine, province_code, start, end, fields, stamp)
    derived = indicators.with_indicators(totals)[["unit_code", "days_with_data", "nearly_due", *KPI_KEYS]]
    info = units(engine, province_code)[UNIT_INFO_COLUMNS].rename(columns={"code": "unit_code"})
    frame = info.merge(derived, on="unit_code", how="left")
    frame[list(KPI_KEYS)] = frame[list(KPI_KEYS)].astype("float64")
    frame["has_data"] = frame["days_with_data"].notna()
    if service_index_config is not None:
        index = service_index_frame(totals, service_index_config)[["unit_code", "score"]]
        frame = frame.merge(index.rename(columns={"score": SERVICE_INDEX}), on="unit_code", how="left")
        frame[SERVICE_INDEX] = frame[SERVICE_INDEX].astype("float64")
    return frame


def daily_trend(engine: Engine, province_code: str, start: dt.date, end: dt.date, level: str = COMMUNE_LEVEL,
                fields: Fields = None) -> pd.DataFrame:
    """Per day for one level: received online, received direct/postal and the day's Biểu 06 on-time rate."""
    codes = level_codes(engine, province_code, level)
    return _daily_trend(engine, province_code, codes, start, end, fields, data_stamp(engine)).copy()


def stale_units(engine: Engine, province_code: str, now: dt.datetime, stale_after_s: float) -> pd.DataFrame:
    """Units of the province whose last successful collection is older than the limit."""
    freshness = _freshness(engine, province_code, data_stamp(engine))
    return rules.stale_units(freshness, now, stale_after_s)


def incidents(engine: Engine, start: dt.date, end: dt.date, now: dt.datetime) -> pd.DataFrame:
    """System incidents overlapping the days [start, end] (open ones end at `now`)."""
    first = dt.datetime.combine(start, dt.time())
    last = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
    return _incidents(engine, first, last, _minute(now)).copy()


def overview_alerts(engine: Engine, settings, start: dt.date, end: dt.date, now: dt.datetime,
                    fields: Fields = None) -> OverviewAlerts:
    """Every alert group for the commune-level units, as of the end of the period (never after now)."""
    province_code, config = settings.province_code, settings.alerts
    communes = units(engine, province_code)
    communes = communes[communes["level"] == COMMUNE_LEVEL][["code", "name"]].rename(columns={"code": "unit_code"})
    totals = _unit_totals(engine, province_code, start, end, fields, data_stamp(engine))
    totals = totals[totals["unit_code"].isin(communes["unit_code"])]
    as_of = min(end, now.date())
    behind = rules.below_threshold(_recent_daily(engine, province_code, as_of, config.consecutive_days, fields),
                                   config.below_threshold_kpi, config.threshold, config.consecutive_days)
    stale = stale_units(engine, province_code, now, settings.stale_after_s)
    named = lambda frame: frame.merge(communes, on="unit_code", how="inner")  # noqa: E731 - keeps rule order
    return OverviewAlerts(
        overdue=named(rules.stock_alerts(totals, "pending_overdue")),
        nearly_due=named(rules.stock_alerts(totals, "nearly_due")),
        behind=named(behind), stale=named(stale),
        systems=rules.systems_down(system_status(engine, settings, now)))


def system_status(engine: Engine, settings, now: dt.datetime) -> pd.DataFrame:
    """Current state of each monitored system (green/amber/red)."""
    health = settings.health
    return _system_status(engine, _minute(now), health.slow_ms, health.cert_warn_days).copy()


def clear() -> None:
    """Drop every cached result of this module."""
    for cached in (_level_kpis, _unit_totals, _daily_trend, _freshness, _incidents, _system_status, _recent):
        cached.cache_clear()


def _recent_daily(engine, province_code, as_of, consecutive_days, fields) -> pd.DataFrame:
    days = max(consecutive_days, STREAK_LOOKBACK_DAYS)
    codes = level_codes(engine, province_code, COMMUNE_LEVEL)
    daily = _recent(engine, province_code, codes, as_of - dt.timedelta(days=days - 1), as_of, fields,
                    data_stamp(engine))
    return daily.copy()


@lru_cache(maxsize=CACHE_SIZE)
def _level_kpis(engine, province_code, codes, start, end, fields, stamp) -> dict[str, float]:
    totals = readers.period_totals(engine, start, end, province_code=province_code, unit_codes=codes,
                                   fields=fields, group_by=())
    if totals.empty or not codes:
        return {key: np.nan for key in KPI_KEYS}
    row = indicators.with_indicators(totals).iloc[0]
    return {key: np.nan if pd.isna(row[key]) else float(row[key]) for key in KPI_KEYS}


@lru_cache(maxsize=CACHE_SIZE)
def _unit_totals(engine, province_code, start, end, fields, stamp) -> pd.DataFrame:
    return readers.period_totals(engine, start, end, province_code=province_code, fields=fields,
                                 group_by=("unit_code",))


@lru_cache(maxsize=CACHE_SIZE)
def _daily_trend(engine, province_code, codes, start, end, fields, stamp) -> pd.DataFrame:
    daily = readers.daily_totals(engine, start, end, province_code=province_code, unit_codes=codes, fields=fields)
    daily["carried_over"] = np.nan  # a day has no carried-over stock; the Biểu 06 rate does not need one
    frame = daily[["day", "received_online", "received_direct"]].copy()
    frame["on_time_bieu06"] = indicators.on_time_rate_bieu06(daily) if len(daily) else pd.Series(dtype="float64")
    return frame.reset_index(drop=True)


@lru_cache(maxsize=CACHE_SIZE)
def _recent(engine, province_code, codes, start, end, fields, stamp) -> pd.DataFrame:
    return readers.daily_totals(engine, start, end, province_code=province_code, unit_codes=codes, fields=fields,
                                by_unit=True)


@lru_cache(maxsize=32)
def _freshness(engine, province_code, stamp) -> pd.DataFrame:
    return readers.unit_freshness(engine, province_code)


@lru_cache(maxsize=64)
def _incidents(engine, start, end, now) -> pd.DataFrame:
    return health_readers.incidents(engine, start, end, now=now)


@lru_cache(maxsize=16)
def _system_status(engine, now, slow_ms, cert_warn_days) -> pd.DataFrame:
    return health_readers.current_status(engine, now, slow_ms=slow_ms, cert_warn_days=cert_warn_days)


def _minute(moment: dt.datetime) -> dt.datetime:
    # Health caches are keyed on the minute: probes change state far more often than collections run.
    return moment.replace(second=0, microsecond=0)

