"""Health readers -> DataFrames: current status, uptime, latency series, incidents, maintenance, gauges.

Times are naive and in the province's local clock, like every other timestamp in the store. Readers
that take `unit_codes` keep provincial targets (no unit) and only those commune targets: access
scoping lives here, in the data layer.
"""
from __future__ import annotations

import datetime as dt
from typing import Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, and_, case, func, or_, select

from store.health_schema import (
    health_gauges, health_incidents, health_systems, health_targets, maintenance_windows, probe_results,
    probe_rollups,
)

UPTIME_WINDOWS = {"uptime_24h": 24, "uptime_7d": 7 * 24, "uptime_30d": 30 * 24, "uptime_90d": 90 * 24}
HOUR = dt.timedelta(hours=1)


def floor_hour(moment: dt.datetime) -> dt.datetime:
    """The start of the hour containing `moment`."""
    return moment.replace(minute=0, second=0, microsecond=0)


def _read(source: Engine | Connection, query, dates: Sequence[str] = ()) -> pd.DataFrame:
    if isinstance(source, Connection):  # several reads of one answer share a connection
        frame = pd.read_sql(query, source)
    else:
        with source.connect() as connection:
            frame = pd.read_sql(query, connection)
    for column in dates:  # all-NULL columns come back as object; keep them datetime
        frame[column] = pd.to_datetime(frame[column])
    return frame


def _scoped(query, systems: Sequence[str] | None, unit_codes: Sequence[str] | None):
    if systems is not None:
        query = query.where(health_targets.c.system.in_(list(systems)))
    if unit_codes is not None:
        query = query.where(or_(health_targets.c.unit_code.is_(None), health_targets.c.unit_code.in_(list(unit_codes))))
    return query


# --- maintenance -------------------------------------------------------------------------------

def maintenance_windows_frame(engine: Engine | Connection) -> pd.DataFrame:
    """Every defined maintenance window (one-off and recurring), as stored."""
    return _read(engine, select(maintenance_windows).order_by(maintenance_windows.c.id))


def expand_maintenance(windows: pd.DataFrame, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    """Concrete occurrences [start, end) of the windows that overlap [start, end); columns id, scope, start, end, note."""
    rows = []
    for window in windows.itertuples(index=False):
        for begin, finish in _occurrences(window, start, end):
            rows.append((window.id, window.scope, begin, finish, window.note))
    return pd.DataFrame(rows, columns=["id", "scope", "start", "end", "note"])


def _occurrences(window, start: dt.datetime, end: dt.datetime):
    first = pd.Timestamp(window.starts_at).to_pydatetime()
    last = None if pd.isna(window.ends_at) else pd.Timestamp(window.ends_at).to_pydatetime()
    if window.kind == "once":
        if first < end and (last is None or last > start):
            yield first, last or end
        return
    length = dt.timedelta(minutes=int(window.duration_min))
    text = window.weekdays if isinstance(window.weekdays, str) else ""
    weekdays = {int(d) for d in text.split(",") if d.strip()}
    day = max((start - length).date(), first.date())
    while day <= end.date() and (last is None or day <= last.date()):
        begin = dt.datetime.combine(day, first.time())
        if (window.kind == "daily" or day.weekday() in weekdays) and begin < end and begin + length > start:
            yield begin, begin + length
        day += dt.timedelta(days=1)


def maintenance_mask(frame: pd.DataFrame, occurrences: pd.DataFrame) -> pd.Series:
    """True for rows (columns at, key, system) that fall inside an occurrence in their scope."""
    mask = pd.Series(False, index=frame.index)
    for occurrence in occurrences.itertuples(index=False):
        in_scope = (occurrence.scope == "*") | (frame["system"] == occurrence.scope) | (frame["key"] == occurrence.scope)
        mask |= in_scope & (frame["at"] >= occurrence.start) & (frame["at"] < occurrence.end)
    return mask


def maintenance_occurrences(engine: Engine | Connection, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    """Maintenance occurrences overlapping [start, end) (recurring windows expanded), for charts."""
    return expand_maintenance(maintenance_windows_frame(engine), start, end)


# --- targets and status ------------------------------------------------------------------------

def targets_frame(engine: Engine | Connection, systems: Sequence[str] | None = None,
                  unit_codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Targets with their per-target state machine columns."""
    return _read(engine, _scoped(select(health_targets).order_by(health_targets.c.key), systems, unit_codes),
                 dates=("streak_started_at", "state_since", "last_at"))


def target_status(engine: Engine | Connection, now: dt.datetime, *, slow_ms: float = 3000.0, cert_warn_days: float = 14.0,
                  systems: Sequence[str] | None = None, unit_codes: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per target: state green/amber/red, since, last attempt, latency, certificate days."""
    frame = targets_frame(engine, systems, unit_codes)
    frame["state"] = target_states(frame, slow_ms, cert_warn_days)
    frame["in_maintenance"] = _in_maintenance_now(engine, frame, now)
    columns = ["key", "system", "name", "unit_code", "url", "state", "state_since", "last_at", "last_success",
               "last_reason", "last_duration_ms", "last_cert_days", "consecutive_failures", "in_maintenance"]
    return frame[columns].rename(columns={"state_since": "since"})


def target_states(frame: pd.DataFrame, slow_ms: float, cert_warn_days: float) -> pd.Series:
    """red = incident open for the target; amber = failing, slow or certificate expiring soon; else green."""
    down = frame["down"].astype(bool)
    failing = frame["last_success"].eq(False)
    slow = frame["last_duration_ms"].astype(float).gt(slow_ms)
    expiring = frame["last_cert_days"].astype(float).lt(cert_warn_days)
    return pd.Series(np.select([down, failing | slow | expiring], ["red", "amber"], "green"), index=frame.index)


def _in_maintenance_now(engine: Engine | Connection, frame: pd.DataFrame, now: dt.datetime) -> pd.Series:
    if frame.empty:  # no target in scope: no window can cover one (and none need be read)
        return pd.Series(False, index=frame.index)
    occurrences = maintenance_occurrences(engine, now, now + dt.timedelta(seconds=1))
    probe = pd.DataFrame({"at": now, "key": frame["key"], "system": frame["system"]}, index=frame.index)
    return maintenance_mask(probe, occurrences)


def current_status(engine: Engine, now: dt.datetime, *, slow_ms: float = 3000.0, cert_warn_days: float = 14.0,
                   systems: Sequence[str] | None = None, unit_codes: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per system: state green/amber/red, since when, targets down/failing, last check, latency."""
    with engine.connect() as connection:  # targets, maintenance windows and systems: one connection
        targets = target_status(connection, now, slow_ms=slow_ms, cert_warn_days=cert_warn_days,
                                systems=systems, unit_codes=unit_codes)
        stored = _read(connection, select(health_systems), dates=("since", "updated_at"))
    # One built-in reduction per column, colours as boolean sums: named aggregation with per-group lambdas
    # cost more than the reads themselves.
    by_system = targets.assign(_red=targets["state"].eq("red"), _amber=targets["state"].eq("amber")).groupby("system")
    summary = pd.DataFrame({
        "targets": by_system.size(), "targets_down": by_system["_red"].sum(), "targets_amber": by_system["_amber"].sum(),
        "last_checked": by_system["last_at"].max(), "latency_ms": by_system["last_duration_ms"].median(),
        "cert_days_min": by_system["last_cert_days"].min(), "in_maintenance": by_system["in_maintenance"].all(),
    }).rename_axis("system").reset_index()
    frame = stored.rename(columns={"code": "system"}).merge(summary, on="system", how="inner")
    columns = ["system", "name", "level", "state", "since", "targets", "targets_down", "targets_amber",
               "last_checked", "latency_ms", "cert_days_min", "in_maintenance"]
    return frame[columns].sort_values(["level", "system"]).reset_index(drop=True)


def system_state(states: pd.Series) -> str:
    """A system's colour from its targets' colours: red when all are red, amber when any is not green."""
    if len(states) and (states == "red").all():
        return "red"
    return "amber" if (states != "green").any() else "green"


# --- uptime and latency ------------------------------------------------------------------------

def uptime_table(engine: Engine, now: dt.datetime, *, by: str = "system", systems: Sequence[str] | None = None,
                 unit_codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Uptime (0..1, NaN without attempts) over 24 h, 7 d, 30 d and 90 d, maintenance excluded.

    Each window is its last N complete hours from the rollups plus the current hour so far from the
    raw results, so the figure moves every round without re-rolling the hour.
    """
    if by not in ("system", "target"):
        raise ValueError(f"by must be 'system' or 'target', got {by!r}")
    targets = targets_frame(engine, systems, unit_codes)[["id", "key", "system", "name", "unit_code"]]
    counts = _rollup_counts(engine, floor_hour(now)).add(_partial_hour_counts(engine, now), fill_value=0)
    frame = targets.merge(counts, left_on="id", right_index=True, how="left").fillna(
        {c: 0 for c in counts.columns})
    keys = ["system"] if by == "system" else ["key", "system", "name", "unit_code"]
    grouped = frame.groupby(keys, dropna=False)[list(counts.columns)].sum().reset_index()
    for name in UPTIME_WINDOWS:
        total = grouped[f"{name}_n"]
        grouped[name] = (grouped[f"{name}_ok"] / total).where(total > 0)
        grouped[f"attempts_{name.removeprefix('uptime_')}"] = total.astype("int64")
    return grouped.drop(columns=list(counts.columns))


def _rollup_counts(engine: Engine, hour0: dt.datetime) -> pd.DataFrame:
    sums = []
    for name, hours in UPTIME_WINDOWS.items():
        inside = probe_rollups.c.hour >= hour0 - hours * HOUR
        sums.append(func.sum(case((inside, probe_rollups.c.count), else_=0)).label(f"{name}_n"))
        sums.append(func.sum(case((inside, probe_rollups.c.successes), else_=0)).label(f"{name}_ok"))
    oldest = hour0 - max(UPTIME_WINDOWS.values()) * HOUR
    query = (select(probe_rollups.c.target_id, *sums)
             .where(probe_rollups.c.hour >= oldest, probe_rollups.c.hour < hour0).group_by(probe_rollups.c.target_id))
    return _read(engine, query).set_index("target_id").astype("float64")


def _partial_hour_counts(engine: Engine, now: dt.datetime) -> pd.DataFrame:
    hour0 = floor_hour(now)
    raw = raw_results(engine, hour0, now)
    raw = raw[~maintenance_mask(raw, maintenance_occurrences(engine, hour0, now))]
    per_target = raw.groupby("target_id").agg(n=("success", "size"), ok=("success", "sum")).astype("float64")
    columns = {}
    for name in UPTIME_WINDOWS:
        columns[f"{name}_n"] = per_target["n"]
        columns[f"{name}_ok"] = per_target["ok"]
    return pd.DataFrame(columns, index=per_target.index)


def raw_results(engine: Engine, start: dt.datetime, end: dt.datetime,
                target_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Raw attempts in [start, end) with their target key and system."""
    query = (select(probe_results, health_targets.c.key, health_targets.c.system)
             .join(health_targets, health_targets.c.id == probe_results.c.target_id)
             .where(probe_results.c.at >= start, probe_results.c.at < end)
             .order_by(probe_results.c.target_id, probe_results.c.at))
    if target_ids is not None:
        query = query.where(probe_results.c.target_id.in_(list(target_ids)))
    frame = _read(engine, query, dates=("at",))
    frame["success"] = frame["success"].astype(bool)
    return frame


def rollups(engine: Engine, start: dt.datetime, end: dt.datetime, systems: Sequence[str] | None = None,
            unit_codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Hourly rollup rows in [start, end) with target key and system."""
    query = (select(probe_rollups, health_targets.c.key, health_targets.c.system)
             .join(health_targets, health_targets.c.id == probe_rollups.c.target_id)
             .where(probe_rollups.c.hour >= start, probe_rollups.c.hour < end)
             .order_by(probe_rollups.c.hour, health_targets.c.key))
    return _read(engine, _scoped(query, systems, unit_codes))


def latency_series(engine: Engine, start: dt.datetime, end: dt.datetime, *, systems: Sequence[str] | None = None,
                   unit_codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Hourly latency per system: p50 (count-weighted mean over targets), p95 and max (max over targets)."""
    frame = rollups(engine, start, end, systems, unit_codes)
    columns = ["system", "hour", "count", "successes", "p50_ms", "p95_ms", "max_ms"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["weighted"] = frame["p50_ms"] * frame["successes"]
    grouped = frame.groupby(["system", "hour"]).agg(
        count=("count", "sum"), successes=("successes", "sum"), weighted=("weighted", "sum"),
        p95_ms=("p95_ms", "max"), max_ms=("max_ms", "max")).reset_index()
    grouped["p50_ms"] = (grouped["weighted"] / grouped["successes"]).where(grouped["successes"] > 0)
    return grouped[columns]


# --- incidents and gauges ----------------------------------------------------------------------

def incidents(engine: Engine, start: dt.datetime, end: dt.datetime, *, systems: Sequence[str] | None = None,
              now: dt.datetime | None = None) -> pd.DataFrame:
    """Incidents overlapping [start, end): system, start, end (NaT while open), reason, affected targets."""
    table = health_incidents
    query = (select(table, health_systems.c.name)
             .join(health_systems, health_systems.c.code == table.c.system, isouter=True)
             .where(table.c.started_at < end, or_(table.c.ended_at.is_(None), table.c.ended_at >= start))
             .order_by(table.c.started_at, table.c.id))
    if systems is not None:
        query = query.where(table.c.system.in_(list(systems)))
    frame = _read(engine, query, dates=("started_at", "ended_at"))
    frame["open"] = frame["ended_at"].isna()
    frame["target_count"] = frame["targets"].map(len).astype("int64")
    finish = frame["ended_at"].fillna(pd.Timestamp(now or end))
    frame["duration_s"] = (finish - frame["started_at"]).dt.total_seconds()
    return frame[["id", "system", "name", "started_at", "ended_at", "open", "reason", "targets", "target_count",
                  "duration_s", "detail"]]


def open_incidents(engine: Engine) -> pd.DataFrame:
    """Incidents still open, one per system at most."""
    return _read(engine, select(health_incidents).where(health_incidents.c.ended_at.is_(None)))


def gauge_series(engine: Engine, start: dt.datetime, end: dt.datetime, *, systems: Sequence[str] | None = None,
                 names: Sequence[str] | None = None) -> pd.DataFrame:
    """Gauge readings (e.g. concurrent users) in [start, end): system, name, at, value."""
    query = select(health_gauges).where(and_(health_gauges.c.at >= start, health_gauges.c.at < end))
    if systems is not None:
        query = query.where(health_gauges.c.system.in_(list(systems)))
    if names is not None:
        query = query.where(health_gauges.c.name.in_(list(names)))
    return _read(engine, query.order_by(health_gauges.c.system, health_gauges.c.name, health_gauges.c.at))
