"""Health writers: targets, every probe attempt, target state, incidents, rollups, maintenance, pruning.

Every attempt is stored (no hidden retries). Writes are idempotent where a caller may repeat them:
re-recording the same (target, at) or re-rolling an hour changes nothing.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd
from sqlalchemy import Engine, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from store.health_readers import (
    HOUR, expand_maintenance, floor_hour, maintenance_mask, maintenance_windows_frame, raw_results,
)
from store.health_schema import (
    health_gauges, health_incidents, health_systems, health_targets, maintenance_windows, probe_results,
    probe_rollups,
)

BATCH = 10_000
RESULT_COLUMNS = ("target_id", "at", "success", "duration_ms", "reason", "status_code", "connect_ms",
                  "first_byte_ms", "cert_days", "detail")
STATE_COLUMNS = ("consecutive_failures", "consecutive_successes", "streak_started_at", "down", "state_since",
                 "last_at", "last_success", "last_reason", "last_duration_ms", "last_cert_days")
RECURRENCES = ("once", "daily", "weekly")


def _dialect_insert(engine: Engine, table):
    return (sqlite if engine.dialect.name == "sqlite" else postgresql).insert(table)


def _execute_batches(engine: Engine, statement, rows: Sequence[Mapping[str, Any]]) -> int:
    if not rows:
        return 0
    with engine.begin() as connection:
        for start in range(0, len(rows), BATCH):
            connection.execute(statement, list(rows[start:start + BATCH]))
    return len(rows)


def sync_targets(engine: Engine, targets: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Insert or refresh targets (key, system, name, unit_code, url, recipe, interval_s); returns key -> id.

    Their state-machine columns are left untouched, so restarting the collector keeps open streaks.
    """
    rows = [{**{c: t.get(c) for c in ("key", "system", "name", "unit_code", "url", "recipe", "interval_s")},
             "consecutive_failures": 0, "consecutive_successes": 0, "down": False} for t in targets]
    statement = _dialect_insert(engine, health_targets)
    described = ("system", "name", "unit_code", "url", "recipe", "interval_s")
    statement = statement.on_conflict_do_update(index_elements=["key"],
                                                set_={c: statement.excluded[c] for c in described})
    _execute_batches(engine, statement, rows)
    with engine.connect() as connection:
        return dict(connection.execute(select(health_targets.c.key, health_targets.c.id)).all())


def sync_systems(engine: Engine, systems: Iterable[Mapping[str, str]]) -> None:
    """Insert or rename systems (code, name, level); a new system starts green without a since."""
    rows = [dict(code=s["code"], name=s["name"], level=s["level"], state="green") for s in systems]
    statement = _dialect_insert(engine, health_systems)
    statement = statement.on_conflict_do_update(index_elements=["code"], set_={
        "name": statement.excluded.name, "level": statement.excluded.level})
    _execute_batches(engine, statement, rows)


def record_results(engine: Engine, rows: Sequence[Mapping[str, Any]]) -> int:
    """Store attempts (RESULT_COLUMNS); an attempt already stored for (target, at) is kept as is."""
    rows = [{c: r.get(c) for c in RESULT_COLUMNS} for r in rows]
    statement = _dialect_insert(engine, probe_results).on_conflict_do_nothing(index_elements=["target_id", "at"])
    return _execute_batches(engine, statement, rows)


def save_target_states(engine: Engine, states: Sequence[Mapping[str, Any]]) -> int:
    """Write per-target state rows (id plus STATE_COLUMNS)."""
    rows = [{"target_id": s["id"], **{c: s.get(c) for c in STATE_COLUMNS}} for s in states]
    statement = (update(health_targets).where(health_targets.c.id == bindparam("target_id"))
                 .values({c: bindparam(c) for c in STATE_COLUMNS}))
    return _execute_batches(engine, statement, rows)


def save_system_states(engine: Engine, states: Mapping[str, str | tuple[str, dt.datetime]], now: dt.datetime) -> None:
    """Set each system's state (or (state, since) pair); `since` moves only when the state changes."""
    with engine.begin() as connection:
        stored = {code: (state, since) for code, state, since in connection.execute(
            select(health_systems.c.code, health_systems.c.state, health_systems.c.since))}
        for code, value in states.items():
            state, since = value if isinstance(value, tuple) else (value, now)
            values = {"state": state, "updated_at": now}
            previous_state, previous_since = stored.get(code, (None, None))
            if previous_state != state or previous_since is None:
                values["since"] = since
            connection.execute(update(health_systems).where(health_systems.c.code == code).values(**values))


def open_incident(engine: Engine, system: str, started_at: dt.datetime, reason: str,
                  targets: Sequence[str], detail: str | None = None) -> int:
    """Open an incident for a system; returns its id."""
    with engine.begin() as connection:
        result = connection.execute(insert(health_incidents).values(
            system=system, started_at=started_at, reason=reason, targets=list(targets), detail=detail))
        return int(result.inserted_primary_key[0])


def update_incident(engine: Engine, incident_id: int, *, targets: Sequence[str] | None = None,
                    ended_at: dt.datetime | None = None) -> None:
    """Add affected targets to an incident and/or close it."""
    values: dict[str, Any] = {}
    if targets is not None:
        values["targets"] = list(targets)
    if ended_at is not None:
        values["ended_at"] = ended_at
    if values:
        with engine.begin() as connection:
            connection.execute(update(health_incidents).where(health_incidents.c.id == incident_id).values(**values))


def record_gauges(engine: Engine, rows: Sequence[Mapping[str, Any]]) -> int:
    """Store gauge readings (system, name, at, value); a repeated reading replaces the earlier one."""
    statement = _dialect_insert(engine, health_gauges)
    statement = statement.on_conflict_do_update(index_elements=["system", "name", "at"],
                                                set_={"value": statement.excluded.value})
    return _execute_batches(engine, statement, [dict(r) for r in rows])


# --- maintenance -------------------------------------------------------------------------------

def add_maintenance_window(engine: Engine, *, scope: str, starts_at: dt.datetime, ends_at: dt.datetime | None = None,
                           kind: str = "once", duration_min: int | None = None,
                           weekdays: Sequence[int] | None = None, note: str = "",
                           now: dt.datetime | None = None) -> int:
    """Define a maintenance window (scope "*", a system code or a target key); returns its id.

    With `now`, hours still covered by raw results are re-rolled so uptime excludes the window.
    """
    _check_window(kind, starts_at, ends_at, duration_min, weekdays)
    values = dict(scope=scope, kind=kind, starts_at=starts_at, ends_at=ends_at, duration_min=duration_min,
                  weekdays=",".join(str(d) for d in weekdays) if weekdays else None, note=note)
    with engine.begin() as connection:
        window_id = int(connection.execute(insert(maintenance_windows).values(**values)).inserted_primary_key[0])
    if now is not None and starts_at < now:
        rollup_hours(engine, floor_hour(starts_at), floor_hour(now))
    return window_id


def _check_window(kind, starts_at, ends_at, duration_min, weekdays) -> None:
    if kind not in RECURRENCES:
        raise ValueError(f"maintenance kind {kind!r} is unknown; use one of {RECURRENCES}")
    if kind == "once" and (ends_at is None or ends_at <= starts_at):
        raise ValueError("a one-off maintenance window needs ends_at after starts_at")
    if kind != "once" and (not duration_min or duration_min <= 0):
        raise ValueError(f"a {kind} maintenance window needs duration_min > 0 (minutes per occurrence)")
    if kind == "weekly" and (not weekdays or any(d not in range(7) for d in weekdays)):
        raise ValueError("a weekly maintenance window needs weekdays, e.g. [6] for Sunday (Monday = 0)")


def delete_maintenance_window(engine: Engine, window_id: int) -> None:
    """Remove a maintenance window (hours already rolled keep their exclusion until re-rolled)."""
    with engine.begin() as connection:
        connection.execute(delete(maintenance_windows).where(maintenance_windows.c.id == window_id))


# --- rollups and retention ---------------------------------------------------------------------

def rollup_hours(engine: Engine, start: dt.datetime, end: dt.datetime) -> int:
    """(Re)compute hourly rollups for hours in [start, end) from raw results; returns rows written.

    count and successes exclude attempts inside maintenance; percentiles are over successful attempts.
    """
    start, end = floor_hour(start), floor_hour(end)
    raw = raw_results(engine, start, end)
    if raw.empty:
        return 0
    occurrences = expand_maintenance(maintenance_windows_frame(engine), start, end)
    raw["maintenance"] = maintenance_mask(raw, occurrences)
    raw["hour"] = raw["at"].dt.floor("h")
    frame = summarise_hours(raw)
    statement = _dialect_insert(engine, probe_rollups)
    statement = statement.on_conflict_do_update(
        index_elements=["target_id", "hour"],
        set_={c: statement.excluded[c] for c in ("count", "successes", "maintenance", "p50_ms", "p95_ms", "max_ms")})
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in rows:
        row["hour"] = pd.Timestamp(row["hour"]).to_pydatetime()
    return _execute_batches(engine, statement, rows)


def summarise_hours(raw: pd.DataFrame) -> pd.DataFrame:
    """Rollup rows from raw attempts with columns target_id, hour, success, duration_ms, maintenance."""
    counted = raw[~raw["maintenance"]]
    keys = ["target_id", "hour"]
    base = raw.groupby(keys).agg(maintenance=("maintenance", "sum")).astype("int64")
    tallies = counted.groupby(keys).agg(count=("success", "size"), successes=("success", "sum"))
    good = counted[counted["success"]].groupby(keys)["duration_ms"]
    latency = pd.DataFrame({"p50_ms": good.quantile(0.5), "p95_ms": good.quantile(0.95), "max_ms": good.max()})
    frame = base.join(tallies).join(latency).reset_index()
    frame[["count", "successes"]] = frame[["count", "successes"]].fillna(0).astype("int64")
    return frame[["target_id", "hour", "count", "successes", "maintenance", "p50_ms", "p95_ms", "max_ms"]]


def rollup_due(engine: Engine, now: dt.datetime) -> int:
    """Roll every complete hour not rolled yet (from the last rolled hour up to the current one)."""
    with engine.connect() as connection:
        last = connection.execute(select(probe_rollups.c.hour).order_by(probe_rollups.c.hour.desc()).limit(1)).scalar()
        first_raw = connection.execute(select(probe_results.c.at).order_by(probe_results.c.at).limit(1)).scalar()
    if first_raw is None:
        return 0
    start = last + HOUR if last is not None else floor_hour(first_raw)
    return rollup_hours(engine, start, floor_hour(now)) if start < floor_hour(now) else 0


def prune_health(engine: Engine, now: dt.datetime, *, raw_days: int = 14, rollup_days: int = 730) -> dict[str, int]:
    """Delete raw results and gauges older than raw_days and rollups older than rollup_days."""
    raw_cut = now - dt.timedelta(days=raw_days)
    rollup_cut = now - dt.timedelta(days=rollup_days)
    with engine.begin() as connection:
        counts = {
            "raw": connection.execute(delete(probe_results).where(probe_results.c.at < raw_cut)).rowcount,
            "gauges": connection.execute(delete(health_gauges).where(health_gauges.c.at < raw_cut)).rowcount,
            "rollups": connection.execute(delete(probe_rollups).where(probe_rollups.c.hour < rollup_cut)).rowcount,
        }
    return counts
