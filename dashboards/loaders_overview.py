"""Cached loaders of the overview room: levels, procedure fields, service index, alerts, incidents.

Store reads are cached like dashboards.loaders (keyed on the arguments and the newest collection
run); anything that depends on the clock (staleness, system state) is derived after the cache from
the `now` the caller passes, so it is never stale itself. Every read goes through a
store.scoped.ScopedReader (see dashboards.loaders: pages pass the caller's, a bare Engine reads the
whole province), and caches key on it, so the scope is part of every key. Returned frames are copies.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from config.facts import OPTIONAL_COLUMNS
from dashboards.loaders import CACHE_SIZE, KPI_KEYS, UNIT_INFO_COLUMNS, Source, data_stamp, units
from kpis import alerts as rules
from kpis import indicators
from kpis.change import previous_period
from kpis.service_index import service_index_frame
from dashboards.cache import memoize
from store.scoped import ScopedReader, as_reader

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


def level_codes(source: Source, province_code: str, level: str) -> tuple[str, ...]:
    """Codes of the units at a level ('xa' communes, 'tinh' the province-level unit) that the scope may read."""
    reader = as_reader(source, province_code)
    frame = units(reader, province_code)
    codes = frame.loc[frame["level"] == level, "code"].astype(str)
    allowed = reader.scope.unit_codes
    return tuple(code for code in codes if allowed is None or code in allowed)


def level_kpis(source: Source, province_code: str, start: dt.date, end: dt.date, level: str = COMMUNE_LEVEL,
               fields: Fields = None) -> dict[str, float]:
    """KPI values over [start, end] for the units of one level; NaN where there is no data."""
    reader = as_reader(source, province_code)
    codes = level_codes(reader, province_code, level)
    current = _unit_totals(reader, start, end, fields, data_stamp(reader)).assign(period=0)
    return _level_values(current, codes, 0)


def level_kpis_with_previous(source: Source, province_code: str, start: dt.date, end: dt.date,
                             level: str = COMMUNE_LEVEL, fields: Fields = None) -> tuple[dict, dict]:
    """KPI values of a level for the period and for the previous period of equal length.

    Both come from the per-unit totals of the two periods (one read, shared with the map, the
    rankings and the alerts of the same view): a level's totals are the sums of its units'.
    """
    reader = as_reader(source, province_code)
    codes = level_codes(reader, province_code, level)
    both = _periods(reader, start, end, fields, data_stamp(reader))
    return _level_values(both, codes, 0), _level_values(both, codes, 1)


def unit_kpis(source: Source, province_code: str, start: dt.date, end: dt.date, fields: Fields = None,
              service_index_config=None) -> pd.DataFrame:
    """One row per unit with its KPIs, end stocks and (given a config) the service index; NaN = no data."""
    reader = as_reader(source, province_code)
    stamp = data_stamp(reader)
    totals = _unit_totals(reader, start, end, fields, stamp)
    derived = indicators.with_indicators(totals)[["unit_code", "days_with_data", "nearly_due", *KPI_KEYS]]
    if service_index_config is not None:  # one row per totals row, in its order: no second merge
        derived[SERVICE_INDEX] = service_index_frame(totals, service_index_config)["score"].to_numpy(dtype="float64")
    info = units(reader, province_code)[UNIT_INFO_COLUMNS].rename(columns={"code": "unit_code"})
    frame = info.merge(derived, on="unit_code", how="left")
    frame[list(KPI_KEYS)] = frame[list(KPI_KEYS)].astype("float64")
    frame.insert(len(info.columns) + 2 + len(KPI_KEYS), "has_data", frame["days_with_data"].notna())
    return frame


def daily_trend(source: Source, province_code: str, start: dt.date, end: dt.date, level: str = COMMUNE_LEVEL,
                fields: Fields = None) -> pd.DataFrame:
    """Per day for one level: received online, received direct/postal and the day's Biểu 06 on-time rate."""
    reader = as_reader(source, province_code)
    codes = level_codes(reader, province_code, level)
    return _daily_trend(reader, codes, start, end, fields, data_stamp(reader)).copy()


def stale_units(source: Source, province_code: str, now: dt.datetime, stale_after_s: float) -> pd.DataFrame:
    """Units of the province (in the scope) whose last successful collection is older than the limit."""
    reader = as_reader(source, province_code)
    freshness = _freshness(reader, data_stamp(reader))
    return rules.stale_units(freshness, now, stale_after_s)


def incidents(source: Source, start: dt.date, end: dt.date, now: dt.datetime) -> pd.DataFrame:
    """System incidents overlapping the days [start, end] (open ones end at `now`)."""
    first = dt.datetime.combine(start, dt.time())
    last = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
    return _incidents(as_reader(source), first, last, _minute(now)).copy()


def overview_alerts(source: Source, settings, start: dt.date, end: dt.date, now: dt.datetime,
                    fields: Fields = None) -> OverviewAlerts:
    """Every alert group for the commune-level units, as of the end of the period (never after now)."""
    province_code, config = settings.province_code, settings.alerts
    reader = as_reader(source, province_code)
    communes = units(reader, province_code)
    communes = communes[communes["level"] == COMMUNE_LEVEL][["code", "name"]].rename(columns={"code": "unit_code"})
    totals = _unit_totals(reader, start, end, fields, data_stamp(reader))
    totals = totals[totals["unit_code"].isin(communes["unit_code"])]
    as_of = min(end, now.date())
    behind = rules.below_threshold(_recent_daily(reader, province_code, as_of, config.consecutive_days, fields),
                                   config.below_threshold_kpi, config.threshold, config.consecutive_days)
    stale = stale_units(reader, province_code, now, settings.stale_after_s)
    named = lambda frame: frame.merge(communes, on="unit_code", how="inner")  # noqa: E731 - keeps rule order
    return OverviewAlerts(
        overdue=named(rules.stock_alerts(totals, "pending_overdue")),
        nearly_due=named(rules.stock_alerts(totals, "nearly_due")),
        behind=named(behind), stale=named(stale),
        systems=rules.systems_down(system_status(reader, settings, now)))


def system_status(source: Source, settings, now: dt.datetime) -> pd.DataFrame:
    """Current state of each monitored system (green/amber/red), from the targets the scope may see."""
    health = settings.health
    return _system_status(as_reader(source), _minute(now), health.slow_ms, health.cert_warn_days).copy()


def clear() -> None:
    """Drop every cached result of this module."""
    for cached in (_periods, _current, _daily_trend, _freshness, _incidents, _system_status, _recent):
        cached.cache_clear()


def _recent_daily(reader: ScopedReader, province_code, as_of, consecutive_days, fields) -> pd.DataFrame:
    days = max(consecutive_days, STREAK_LOOKBACK_DAYS)
    codes = level_codes(reader, province_code, COMMUNE_LEVEL)
    daily = _recent(reader, codes, as_of - dt.timedelta(days=days - 1), as_of, fields, data_stamp(reader))
    return daily.copy()


def _level_values(both: pd.DataFrame, codes: tuple[str, ...], period: int) -> dict[str, float]:
    """KPIs of the summed totals of `codes` in one period of a _periods frame (NaN dict without data)."""
    chosen = both[(both["period"] == period) & both["unit_code"].isin(codes)]
    if chosen.empty or not codes:
        return {key: np.nan for key in KPI_KEYS}
    counts = [c for c in chosen.columns if c not in OPTIONAL_COLUMNS and c not in ("period", "unit_code")]
    summed = {c: int(total) for c, total in zip(counts, chosen[counts].to_numpy(dtype="int64").sum(axis=0))}
    row = indicators.indicators_of(summed)  # the KPIs need no optional column
    return {key: np.nan if pd.isna(row[key]) else float(row[key]) for key in KPI_KEYS}


@memoize
def _periods(reader: ScopedReader, start, end, fields, stamp) -> pd.DataFrame:
    """Per-unit totals of the period (period 0) and of the one before it (period 1), one read."""
    return reader.unit_periods_totals(((start, end), previous_period(start, end)), fields=fields)


def _unit_totals(reader: ScopedReader, start, end, fields, stamp) -> pd.DataFrame:
    """Per-unit totals of the period: from the strip's two-period read when it is cached, else read alone
    (the map, rankings and alerts need no previous period, and need not wait for one)."""
    both = _periods.cached(reader, start, end, fields, stamp)
    if both is None:
        return _current(reader, start, end, fields, stamp)
    return both[both["period"] == 0].drop(columns="period").reset_index(drop=True)


@memoize
def _current(reader: ScopedReader, start, end, fields, stamp) -> pd.DataFrame:
    return reader.period_totals(start, end, fields=fields, group_by=("unit_code",))


@memoize
def _daily_trend(reader: ScopedReader, codes, start, end, fields, stamp) -> pd.DataFrame:
    daily = reader.daily_totals(start, end, unit_codes=codes, fields=fields)
    daily["carried_over"] = np.nan  # a day has no carried-over stock; the Biểu 06 rate does not need one
    frame = daily[["day", "received_online", "received_direct"]].copy()
    frame["on_time_bieu06"] = indicators.on_time_rate_bieu06(daily) if len(daily) else pd.Series(dtype="float64")
    return frame.reset_index(drop=True)


@memoize
def _recent(reader: ScopedReader, codes, start, end, fields, stamp) -> pd.DataFrame:
    return reader.daily_totals(start, end, unit_codes=codes, fields=fields, by_unit=True)


@memoize
def _freshness(reader: ScopedReader, stamp) -> pd.DataFrame:
    return reader.unit_freshness()


@memoize
def _incidents(reader: ScopedReader, start, end, now) -> pd.DataFrame:
    return reader.incidents(start, end, now=now)


@memoize
def _system_status(reader: ScopedReader, now, slow_ms, cert_warn_days) -> pd.DataFrame:
    return reader.current_status(now, slow_ms=slow_ms, cert_warn_days=cert_warn_days)


def _minute(moment: dt.datetime) -> dt.datetime:
    # Health caches are keyed on the minute: probes change state far more often than collections run.
    return moment.replace(second=0, microsecond=0)

