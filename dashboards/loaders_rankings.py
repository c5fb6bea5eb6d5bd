"""Cached loaders of the rankings and commune rooms: service index, rank history, a commune's details.

Like dashboards.loaders, results are cached keyed on the arguments plus the newest collection run
(so new data invalidates them) and returned as copies. The service-index configuration travels as
its JSON so that it can be part of the cache key. Reads go through a store.scoped.ScopedReader:
the rankings table passes the caller's rankings reader (access.scope.current_reader(engine,
rankings=True): every commune's score and rank), a commune's details the caller's own reader, which
refuses units outside the scope. The reader is part of every cache key.
"""
from __future__ import annotations

import datetime as dt
from typing import Sequence

import numpy as np
import pandas as pd

from config.service_index import ServiceIndexConfig
from kpis import indicators
from kpis.change import previous_period
from kpis.climb import LEVERS, ClimbStep, climb, climb_options
from kpis.service_index import service_index_frame
from dashboards.loaders import UNIT_INFO_COLUMNS, Source, data_stamp, units
from dashboards.cache import memoize
from store.scoped import ScopedReader, as_reader

CACHE_SIZE = 128
COMMUNE_LEVEL = "xa"
HISTORY_MONTHS = 6


def scored_communes(source: Source, province_code: str, start: dt.date, end: dt.date,
                    config: ServiceIndexConfig) -> pd.DataFrame:
    """Every commune of the province with its service index over [start, end] and its rank change.

    Units without data keep NaN scores and no rank. `previous_rank` is the rank over the previous
    period of equal length; `rank_change` = previous_rank - rank (positive = climbed).
    """
    reader = as_reader(source, province_code)
    return _scored(reader, start, end, config.model_dump_json(), True, data_stamp(reader)).copy()


def commune_totals(source: Source, province_code: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Period totals of the province's communes (one row per commune with data)."""
    reader = as_reader(source, province_code)
    return _commune_totals(reader, start, end, data_stamp(reader)).copy()


def climb_for(source: Source, province_code: str, start: dt.date, end: dt.date, unit_code: str,
              config: ServiceIndexConfig, steps: int = 3) -> tuple[list[ClimbStep], list[ClimbStep]]:
    """The on-time ladder (next `steps` better levels) and the fewest dossiers on each other lever."""
    reader = as_reader(source, province_code)
    return _climb(reader, start, end, unit_code, config.model_dump_json(), steps, data_stamp(reader))


def rank_history(source: Source, province_code: str, unit_code: str, end: dt.date,
                 config: ServiceIndexConfig, months: int = HISTORY_MONTHS,
                 since: dt.date | None = None) -> pd.DataFrame:
    """The unit's rank, score and number of ranked communes per calendar month up to `end`.

    Months that end before `since` (the start of history) are left out. Every month is read at once
    (store.readers.unit_periods_totals) and the ranks of all communes are cached, so every commune's
    history of the same months shares one read.
    """
    reader = as_reader(source, province_code)
    periods = tuple(p for p in month_periods(end, months) if since is None or p[1] >= since)
    ranks = _month_ranks(reader, periods, config.model_dump_json(), data_stamp(reader))
    rows = []
    for i, (first, _last) in enumerate(periods):
        month = ranks[ranks["period"] == i]
        mine = month[month["unit_code"] == unit_code]
        rows.append({"month": first, "rank": mine["rank"].iloc[0] if len(mine) else pd.NA,
                     "score": mine["score"].iloc[0] if len(mine) else np.nan,
                     "ranked": int(month["rank"].notna().sum())})
    return pd.DataFrame(rows, columns=["month", "rank", "score", "ranked"])


def month_periods(end: dt.date, months: int) -> list[tuple[dt.date, dt.date]]:
    """The last `months` calendar months up to `end` (the newest one ends at `end`), oldest first."""
    periods, first = [], end.replace(day=1)
    for _ in range(months):
        last = min(end, _month_end(first))
        periods.append((first, last))
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return periods[::-1]


def unit_fields(source: Source, unit_code: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The unit's period totals and KPIs by procedure field (OutOfScopeError outside the reader's scope)."""
    reader = as_reader(source)
    return _unit_fields(reader, unit_code, start, end, data_stamp(reader)).copy()


def unit_daily(source: Source, unit_code: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The unit's daily received (online, direct) and Biểu 06 on-time rate of the day."""
    reader = as_reader(source)
    return _unit_daily(reader, unit_code, start, end, data_stamp(reader)).copy()


def unit_systems(source: Source, unit_code: str, now: dt.datetime, slow_ms: float = 3000.0,
                 cert_warn_days: float = 14.0) -> pd.DataFrame:
    """The commune's own monitored targets (not the provincial ones): state and uptime windows."""
    reader = as_reader(source)
    status = reader.target_status(now, slow_ms=slow_ms, cert_warn_days=cert_warn_days, unit_codes=[unit_code])
    status = status[status["unit_code"] == unit_code]
    uptime = reader.uptime_table(now, by="target", unit_codes=[unit_code])
    uptime = uptime[uptime["unit_code"] == unit_code][["key", "uptime_24h", "uptime_7d", "uptime_30d"]]
    return status.merge(uptime, on="key", how="left").reset_index(drop=True)


def clear() -> None:
    """Drop every cached result."""
    for cached in (_scored, _commune_periods, _month_ranks, _climb, _unit_fields, _unit_daily):
        cached.cache_clear()


@memoize
def _commune_periods(reader: ScopedReader, periods, stamp) -> pd.DataFrame:
    """Period totals of the communes (one row per period index and commune with data), one read."""
    totals = reader.unit_periods_totals(periods)
    communes = units(reader, reader.scope.province_code)
    codes = set(communes.loc[communes["level"] == COMMUNE_LEVEL, "code"])
    return totals[totals["unit_code"].isin(codes)].reset_index(drop=True)


def _commune_totals(reader: ScopedReader, start, end, stamp) -> pd.DataFrame:
    """The communes' totals over [start, end], from the read that also holds the previous period."""
    both = _commune_periods(reader, ((start, end), previous_period(start, end)), stamp)
    return both[both["period"] == 0].drop(columns="period").reset_index(drop=True)


@memoize
def _month_ranks(reader: ScopedReader, periods, config_json, stamp) -> pd.DataFrame:
    """Every commune's score and rank in each period (columns period, unit_code, score, rank)."""
    config = ServiceIndexConfig.model_validate_json(config_json)
    totals = _commune_periods(reader, periods, stamp)
    frames = [service_index_frame(totals[totals["period"] == i], config)[["unit_code", "score", "rank"]].assign(period=i)
              for i in range(len(periods))]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["unit_code", "score", "rank", "period"])


@memoize
def _scored(reader: ScopedReader, start, end, config_json, with_previous, stamp) -> pd.DataFrame:
    config = ServiceIndexConfig.model_validate_json(config_json)
    current = _with_kpis(_commune_totals(reader, start, end, stamp), config)
    both = _commune_periods(reader, ((start, end), previous_period(start, end)), stamp)
    before = both[both["period"] == 1] if with_previous else both.iloc[0:0]
    previous = service_index_frame(before.drop(columns="period"), config)[["unit_code", "rank", "score"]]
    previous = previous.rename(columns={"rank": "previous_rank", "score": "previous_score"})
    info = units(reader, reader.scope.province_code)
    info = info[info["level"] == COMMUNE_LEVEL][UNIT_INFO_COLUMNS].rename(columns={"code": "unit_code"})
    frame = info.merge(current, on="unit_code", how="left").merge(previous, on="unit_code", how="left")
    frame["rank"] = frame["rank"].astype("Int64")
    frame["previous_rank"] = frame["previous_rank"].astype("Int64")
    frame["rank_change"] = (frame["previous_rank"] - frame["rank"]).astype("Int64")
    return frame.reset_index(drop=True)


SHOWN_KPIS = {"received": indicators.received, "resolved": indicators.resolved,
              "on_time_766": indicators.on_time_rate_766, "on_time_bieu06": indicators.on_time_rate_bieu06,
              "online_share": indicators.online_share, "overdue_pending": indicators.overdue_pending}


def _with_kpis(totals: pd.DataFrame, config: ServiceIndexConfig) -> pd.DataFrame:
    scored = service_index_frame(totals, config)  # one row per totals row, in its order
    for key, indicator in SHOWN_KPIS.items():
        scored[key] = indicator(totals).to_numpy()
    return scored


@memoize
def _climb(reader: ScopedReader, start, end, unit_code, config_json, steps, stamp):
    config = ServiceIndexConfig.model_validate_json(config_json)
    totals = _commune_totals(reader, start, end, stamp)
    if unit_code not in set(totals["unit_code"]):
        return [], []
    scores = service_index_frame(totals, config)  # once for the ladder and every other lever
    ladder = climb(totals, unit_code, config, "on_time", steps=steps, scores=scores)
    others = climb_options(totals, unit_code, config, scores=scores,
                           levers=tuple(key for key in LEVERS if key != "on_time"))
    return ladder, others


@memoize
def _unit_fields(reader: ScopedReader, unit_code, start, end, stamp) -> pd.DataFrame:
    totals = reader.period_totals(start, end, unit_codes=[unit_code], group_by=("field",))
    return indicators.with_indicators(totals)


@memoize
def _unit_daily(reader: ScopedReader, unit_code, start, end, stamp) -> pd.DataFrame:
    daily = reader.daily_totals(start, end, unit_codes=[unit_code])
    daily["carried_over"] = np.nan
    frame = daily[["day", "received_online", "received_direct"]].copy()
    frame["on_time_bieu06"] = indicators.on_time_rate_bieu06(daily) if len(daily) else pd.Series(dtype="float64")
    return frame.reset_index(drop=True)


def _month_end(first: dt.date) -> dt.date:
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


__all__: Sequence[str] = ("scored_communes", "commune_totals", "climb_for", "rank_history", "month_periods",
                          "unit_fields", "unit_daily", "unit_systems", "clear")
