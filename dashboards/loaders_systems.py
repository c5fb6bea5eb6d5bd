"""Cached loaders of the system-health room: the only way /systems reaches the health store.

Health data changes every probe round, not every collection run, so these results are keyed on the
time of the last probe round (the health "stamp") plus the minute of the app's clock: a new round
invalidates them at once, and time-window edges move at most once a minute. Reads go through a
store.scoped.ScopedReader (the page passes the caller's; a bare Engine is a trusted caller reading
everything) and the reader, hence the scope, is part of every cache key. Returned frames are copies.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from dashboards import cache

from store import health_readers as readers
from store.scoped import ScopedReader, as_reader

CACHE_SIZE = 128
WINDOWS = {"24h": dt.timedelta(hours=24), "7d": dt.timedelta(days=7), "30d": dt.timedelta(days=30),
           "90d": dt.timedelta(days=90)}
MAINTENANCE_AHEAD = dt.timedelta(days=14)
CONNECTIVITY_COLUMNS = ["unit_code", "targets", "targets_up", "targets_down", "share_up"]

Units = Sequence[str] | None
Source = Engine | ScopedReader



def health_stamp(source: Source) -> dt.datetime | None:
    """When the last probe round was recorded (None before the first): the cache key new rounds change."""
    # health_systems holds one row per system (about ten): this is far cheaper than any frame-building reader.
    reader = as_reader(source)
    return cache.stamp(reader.engine, "health", reader.health_stamp)


def window_bounds(window: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a named window ('24h', '7d', '30d', '90d') ending now."""
    if window not in WINDOWS:
        raise ValueError(f"Unknown time window {window!r}; expected one of {', '.join(WINDOWS)}")
    return now - WINDOWS[window], now


def system_status(source: Source, now: dt.datetime, slow_ms: float, cert_warn_days: float,
                  unit_codes: Units = None) -> pd.DataFrame:
    """One row per system: state, since, targets down/amber, last check, median latency, maintenance.

    Provincial targets always count; commune targets only of the reader's scope (narrowed to `unit_codes`).
    """
    reader = as_reader(source)
    return _memo("status", reader, now, (slow_ms, cert_warn_days, _key(unit_codes)), lambda: reader.current_status(
        now, slow_ms=slow_ms, cert_warn_days=cert_warn_days, unit_codes=unit_codes))


def system_catalog(source: Source) -> pd.DataFrame:
    """The monitored systems (code, name, level): names only, for choosers."""
    return as_reader(source).system_catalog()


def target_status(source: Source, now: dt.datetime, slow_ms: float, cert_warn_days: float,
                  unit_codes: Units = None) -> pd.DataFrame:
    """One row per target with its state, since, last attempt and last failure reason."""
    reader = as_reader(source)
    return _memo("targets", reader, now, (slow_ms, cert_warn_days, _key(unit_codes)), lambda: reader.target_status(
        now, slow_ms=slow_ms, cert_warn_days=cert_warn_days, unit_codes=unit_codes))


def commune_connectivity(source: Source, now: dt.datetime, slow_ms: float, cert_warn_days: float,
                         systems: Sequence[str] | None = None, unit_codes: Units = None) -> pd.DataFrame:
    """Per commune: how many of its targets (of `systems`, default all) answered their last probe."""
    targets = target_status(source, now, slow_ms, cert_warn_days, unit_codes)
    return connectivity_by_unit(targets, systems)


def connectivity_by_unit(targets: pd.DataFrame, systems: Sequence[str] | None = None) -> pd.DataFrame:
    """Share of each commune's probed targets whose last attempt succeeded (pure; NaN = never probed)."""
    frame = targets[targets["unit_code"].notna()]
    if systems is not None:
        frame = frame[frame["system"].isin(list(systems))]
    if frame.empty:
        return pd.DataFrame(columns=CONNECTIVITY_COLUMNS)
    probed = frame["last_at"].notna()
    up = probed & frame["last_success"].eq(True)
    grouped = pd.DataFrame({"unit_code": frame["unit_code"], "probed": probed, "up": up,
                            "down": frame["state"].eq("red")}).groupby("unit_code")
    result = grouped.agg(targets=("probed", "size"), probed=("probed", "sum"), targets_up=("up", "sum"),
                         targets_down=("down", "sum")).reset_index()
    result["share_up"] = (result["targets_up"] / result["probed"]).where(result["probed"] > 0, np.nan)
    return result[CONNECTIVITY_COLUMNS].astype({"targets": "int64", "targets_up": "int64", "targets_down": "int64"})


def uptime(source: Source, now: dt.datetime, unit_codes: Units = None) -> pd.DataFrame:
    """Uptime per system over 24 h, 7 d, 30 d and 90 d (0..1, NaN without attempts), maintenance excluded."""
    reader = as_reader(source)
    return _memo("uptime", reader, now, (_key(unit_codes),),
                 lambda: reader.uptime_table(now, by="system", unit_codes=unit_codes))


def latency(source: Source, now: dt.datetime, window: str, unit_codes: Units = None) -> pd.DataFrame:
    """Hourly p50/p95/max latency per system over the window."""
    start, end = window_bounds(window, now)
    reader = as_reader(source)
    return _memo("latency", reader, now, (window, _key(unit_codes)),
                 lambda: reader.latency_series(start, end, unit_codes=unit_codes))


def incident_list(source: Source, now: dt.datetime, window: str) -> pd.DataFrame:
    """Incidents overlapping the window, newest first, open ones lasting until now."""
    start, end = window_bounds(window, now)
    reader = as_reader(source)

    def compute() -> pd.DataFrame:
        frame = reader.incidents(start, end, now=now)
        return frame.sort_values(["started_at", "id"], ascending=False).reset_index(drop=True)
    return _memo("incidents", reader, now, (window,), compute)


def maintenance_calendar(source: Source, now: dt.datetime) -> pd.DataFrame:
    """Maintenance occurrences from now to 14 days ahead, with their window's recurrence and whether ongoing."""
    reader = as_reader(source)
    return _memo("calendar", reader, now, (), lambda: _occurrences(reader, now, now, now + MAINTENANCE_AHEAD))


def maintenance_during(source: Source, now: dt.datetime, window: str) -> pd.DataFrame:
    """Maintenance occurrences inside the window (for shading charts)."""
    start, end = window_bounds(window, now)
    reader = as_reader(source)
    return _memo("maintenance", reader, now, (window,), lambda: _occurrences(reader, now, start, end))


def maintenance_windows(source: Source) -> pd.DataFrame:
    """Every defined maintenance window as stored (not cached: the admin room edits them)."""
    return as_reader(source).maintenance_windows_frame()


def _occurrences(reader: ScopedReader, now: dt.datetime, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    windows = reader.maintenance_windows_frame()
    frame = readers.expand_maintenance(windows, start, end)
    frame = frame.merge(windows[["id", "kind", "weekdays"]], on="id", how="left")
    frame["ongoing"] = (frame["start"] <= now) & (frame["end"] > now)
    return frame.sort_values(["start", "id"]).reset_index(drop=True)


def gauges(source: Source, now: dt.datetime, window: str) -> pd.DataFrame:
    """Gauge readings (system, name, at, value) over the window; empty when no system publishes any."""
    start, end = window_bounds(window, now)
    reader = as_reader(source)
    return _memo("gauges", reader, now, (window,), lambda: reader.gauge_series(start, end))


def clear() -> None:
    """Drop every cached result (tests, or after a manual data fix)."""
    cache.invalidate()


def _key(unit_codes: Units) -> tuple[str, ...] | None:
    return None if unit_codes is None else tuple(sorted(unit_codes))


def _memo(name: str, reader: ScopedReader, now: dt.datetime, args: tuple,
          compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    key = (reader, args, health_stamp(reader), now.replace(second=0, microsecond=0))
    return cache.cached_call(f"{__name__}.{name}", key, compute).copy()
