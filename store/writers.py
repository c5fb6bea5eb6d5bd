"""Idempotent bulk writers: re-writing the same rows leaves the store identical."""
from __future__ import annotations

import datetime as dt
import json
from functools import partial
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Table, and_, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from config.facts import COUNT_COLUMNS, FACT_COLUMNS, KEY_COLUMNS
from store import bulk, rollups
from store.schema import collection_runs, dossier_facts, quarantine, unit_status, units

FACT_WRITE_COLUMNS = FACT_COLUMNS + ("collected_at",)
SQLITE_BATCH = 20_000
T = TypeVar("T")


def upsert_units(engine: Engine, frame: pd.DataFrame) -> int:
    """Insert or refresh registry units (code is the key)."""
    columns = [c.name for c in units.columns]
    rows = frame[columns].to_dict("records")
    return _upsert(engine, units, rows, key=("code",))


def upsert_facts(engine: Engine, facts: pd.DataFrame, collected_at: dt.datetime) -> int:
    """Write fact rows keyed by (unit, day, field, source); later values replace earlier ones.

    Of rows repeating a key, the last one is written. When none of the batch's (unit, day) keys has
    facts yet (a new day, a backfill), rows are inserted without conflict handling (a concurrent
    writer of the same keys makes this transaction fail, never double-count). The rollups of the
    keys written are maintained in the same transaction (from the batch alone when its units have no
    other facts around its days: see store.rollups).
    """
    if facts.empty:
        return 0
    frame = _prepared(facts)
    stamp = pd.Timestamp(collected_at).strftime("%Y-%m-%d %H:%M:%S.%f")
    with engine.begin() as connection:
        staged = rollups.stage(connection, frame)
        fresh = staged != rollups.STORED
        postgres = engine.dialect.name == "postgresql"
        batch_sums = partial(rollups.batch_sums, frame, staged == rollups.ISOLATED, postgres) if fresh else lambda: None
        if postgres:
            sums = _write_facts_postgres(connection, frame, stamp, fresh, batch_sums)
        else:
            _write_facts_sqlite(connection, frame, stamp, fresh)
            sums = batch_sums()
        rollups.refresh(connection, sums)
    return len(frame)


def replace_facts(engine: Engine, facts: pd.DataFrame, collected_at: dt.datetime, source: str,
                  unit_codes: Iterable[str]) -> int:
    """Replace every stored fact of `source` for `unit_codes` by `facts` (rows as upsert_facts takes them),
    in one transaction that maintains the rollups of the (unit, day) keys deleted or written: days the
    new facts no longer cover lose their rollup rows too.
    """
    owned = and_(dossier_facts.c.source == source, dossier_facts.c.unit_code.in_(list(unit_codes)))
    frame = _prepared(facts) if not facts.empty else pd.DataFrame(columns=list(FACT_COLUMNS))
    stamp = pd.Timestamp(collected_at).strftime("%Y-%m-%d %H:%M:%S.%f")
    with engine.begin() as connection:
        rollups.stage_replacing(connection, frame, select(dossier_facts.c.unit_code, dossier_facts.c.day)
                                .where(owned).distinct())
        connection.execute(delete(dossier_facts).where(owned))
        if not frame.empty and engine.dialect.name == "postgresql":
            _write_facts_postgres(connection, frame, stamp, False, lambda: None)
        elif not frame.empty:
            _write_facts_sqlite(connection, frame, stamp, False)
        rollups.refresh(connection, None)
    return len(frame)


def _prepared(facts: pd.DataFrame) -> pd.DataFrame:
    """Fact columns with days as ISO text and integer counts, in key order, one row per key (the last).

    Key order makes every index insert land next to the previous one (2-3x faster than arrival order).
    """
    frame = facts.reindex(columns=FACT_COLUMNS)
    frame = frame.assign(unit_code=frame["unit_code"].astype(str), day=bulk.iso_days(frame["day"]))
    frame = bulk.as_counts(frame, COUNT_COLUMNS)
    frame = frame.sort_values(list(KEY_COLUMNS), kind="stable", ignore_index=True)  # stable: the last stays last
    repeated = np.ones(len(frame), dtype=bool)
    for column in KEY_COLUMNS:
        repeated &= frame[column].eq(frame[column].shift(-1)).fillna(False).to_numpy(dtype=bool)
    return frame[~repeated].reset_index(drop=True) if repeated.any() else frame


def _write_facts_sqlite(connection: Connection, frame: pd.DataFrame, stamp: str, fresh: bool) -> None:
    """One prepared INSERT run over plain tuples: the fast path on SQLite."""
    columns = list(FACT_WRITE_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in KEY_COLUMNS)
    conflict = "" if fresh else f" ON CONFLICT (unit_code, day, field, source) DO UPDATE SET {updates}"
    sql = f"INSERT INTO dossier_facts ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}){conflict}"
    # collected_at as SQLAlchemy's SQLite DateTime stores it, so reads round-trip.
    connection.exec_driver_sql(sql, bulk.plain_rows(frame, constants=(stamp,)))


def _write_facts_postgres(connection: Connection, frame: pd.DataFrame, stamp: str, fresh: bool,
                          meanwhile: Callable[[], T]) -> T:
    """COPY: fresh keys straight into the facts, else through a temporary table and one INSERT .. ON
    CONFLICT that leaves rows whose values did not change alone (re-runs cost little). `meanwhile` runs
    while the server inserts the rows; its result is returned.
    """
    columns = ", ".join(FACT_WRITE_COLUMNS)
    stamped = {"collected_at": stamp}
    if fresh:
        return bulk.copy_csv(connection, f"COPY dossier_facts ({columns}) FROM STDIN WITH (FORMAT csv)", frame,
                             stamped, meanwhile)
    values = [c for c in FACT_COLUMNS if c not in KEY_COLUMNS]
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in FACT_WRITE_COLUMNS if c not in KEY_COLUMNS)
    changed = (f"({', '.join('dossier_facts.' + c for c in values)}) IS DISTINCT FROM "
               f"({', '.join('EXCLUDED.' + c for c in values)})")
    connection.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS facts_incoming (LIKE dossier_facts INCLUDING DEFAULTS) "
                               "ON COMMIT DELETE ROWS")
    result = bulk.copy_csv(connection, f"COPY facts_incoming ({columns}) FROM STDIN WITH (FORMAT csv)", frame,
                           stamped, meanwhile)
    connection.exec_driver_sql(
        f"INSERT INTO dossier_facts ({columns}) SELECT {columns} FROM facts_incoming "
        f"ON CONFLICT ON CONSTRAINT pk_dossier_facts DO UPDATE SET {updates} WHERE {changed}")
    return result


def _upsert(engine: Engine, table: Table, rows: Sequence[Mapping[str, Any]], key: Sequence[str]) -> int:
    if not rows:
        return 0
    dialect = sqlite if engine.dialect.name == "sqlite" else postgresql
    statement = dialect.insert(table)
    changing = {c: statement.excluded[c] for c in rows[0] if c not in key}
    statement = statement.on_conflict_do_update(index_elements=list(key), set_=changing)
    with engine.begin() as connection:
        for start in range(0, len(rows), SQLITE_BATCH):
            connection.execute(statement, list(rows[start:start + SQLITE_BATCH]))
    return len(rows)


def start_run(engine: Engine, source: str, trigger: str, started_at: dt.datetime,
              first_day: dt.date | None = None, last_day: dt.date | None = None) -> int:
    """Record that a collection run began; returns its id."""
    values = dict(source=source, trigger=trigger, started_at=started_at, status="running",
                  first_day=first_day, last_day=last_day, units_ok=0, units_failed=0,
                  rows_written=0, rows_quarantined=0)
    with engine.begin() as connection:
        return connection.execute(insert(collection_runs).values(**values).returning(collection_runs.c.id)).scalar_one()


def finish_run(engine: Engine, run_id: int, finished_at: dt.datetime, units_ok: int, failures: Mapping[str, str],
               rows_written: int, rows_quarantined: int = 0) -> str:
    """Close a run with its outcome: ok, partial (some units failed) or failed (all did)."""
    status = "ok" if not failures else ("failed" if units_ok == 0 else "partial")
    with engine.begin() as connection:
        connection.execute(update(collection_runs).where(collection_runs.c.id == run_id).values(
            finished_at=finished_at, status=status, units_ok=units_ok, units_failed=len(failures),
            rows_written=rows_written, rows_quarantined=rows_quarantined, detail={"failures": dict(failures)}))
    return status


def record_unit_outcomes(engine: Engine, source: str, at: dt.datetime, succeeded: Mapping[str, dt.date],
                         failed: Mapping[str, str]) -> None:
    """Keep each unit's last success (and the newest day it covered) and its last error."""
    with engine.begin() as connection:
        known = {row.unit_code: row for row in connection.execute(
            select(unit_status).where(unit_status.c.source == source))}
    rows = []
    for code, last_day in succeeded.items():
        previous = known.get(code)
        newest = max(last_day, previous.last_day_collected) if previous and previous.last_day_collected else last_day
        rows.append(dict(unit_code=code, source=source, last_success_at=at, last_day_collected=newest,
                         last_error_at=previous.last_error_at if previous else None,
                         last_error=previous.last_error if previous else None, consecutive_failures=0))
    for code, reason in failed.items():
        previous = known.get(code)
        rows.append(dict(unit_code=code, source=source,
                         last_success_at=previous.last_success_at if previous else None,
                         last_day_collected=previous.last_day_collected if previous else None,
                         last_error_at=at, last_error=reason[:2000],
                         consecutive_failures=(previous.consecutive_failures if previous else 0) + 1))
    _upsert(engine, unit_status, rows, key=("unit_code", "source"))


def quarantine_records(engine: Engine, source: str, at: dt.datetime, rejected: Iterable[Mapping[str, Any]],
                       run_id: int | None = None) -> int:
    """Keep rejected records with their reason and raw payload; nothing is dropped silently."""
    rows = [dict(run_id=run_id, source=source, received_at=at, unit_code=_text(r.get("unit_code"), 16),
                 day=r.get("day") if isinstance(r.get("day"), dt.date) else None,
                 reason=str(r["reason"]), raw=_raw(r.get("raw")))
            for r in rejected]
    if rows:
        with engine.begin() as connection:
            connection.execute(insert(quarantine), rows)
    return len(rows)


def _text(value: Any, limit: int) -> str | None:
    return None if value is None else str(value)[:limit]


def _raw(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", errors="backslashreplace")
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)
