"""Idempotent bulk writers: re-writing the same rows leaves the store identical."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd
import pyarrow
import pyarrow.csv as pyarrow_csv
from sqlalchemy import Engine, Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from config.facts import COUNT_COLUMNS, FACT_COLUMNS, KEY_COLUMNS
from store import rollups
from store.schema import collection_runs, dossier_facts, quarantine, unit_status, units

FACT_WRITE_COLUMNS = FACT_COLUMNS + ("collected_at",)
SQLITE_BATCH = 20_000


def upsert_units(engine: Engine, frame: pd.DataFrame) -> int:
    """Insert or refresh registry units (code is the key)."""
    columns = [c.name for c in units.columns]
    rows = frame[columns].to_dict("records")
    return _upsert(engine, units, rows, key=("code",))


def upsert_facts(engine: Engine, facts: pd.DataFrame, collected_at: dt.datetime) -> int:
    """Write fact rows keyed by (unit, day, field, source); later values replace earlier ones.

    The rollups of the (unit, day) keys written are re-aggregated in the same transaction.
    """
    if facts.empty:
        return 0
    frame = facts.reindex(columns=FACT_COLUMNS).copy()
    frame["collected_at"] = collected_at
    if engine.dialect.name == "postgresql":
        return _copy_upsert_postgres(engine, frame)
    return _executemany_upsert_sqlite(engine, frame)


def _executemany_upsert_sqlite(engine: Engine, frame: pd.DataFrame) -> int:
    """One prepared INSERT .. ON CONFLICT run over plain tuples: the fast path on SQLite."""
    columns = list(FACT_WRITE_COLUMNS)
    frame = frame[columns].copy()
    # Store dates and times exactly as SQLAlchemy's SQLite types do, so reads round-trip.
    frame["day"] = pd.to_datetime(frame["day"]).dt.strftime("%Y-%m-%d")
    frame["collected_at"] = pd.to_datetime(frame["collected_at"]).dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    values = _plain_rows(frame)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in KEY_COLUMNS)
    sql = (f"INSERT INTO dossier_facts ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
           f"ON CONFLICT (unit_code, day, field, source) DO UPDATE SET {updates}")
    with engine.begin() as connection:
        connection.exec_driver_sql(sql, values)
        rollups.refresh(connection, frame)
    return len(values)


def _plain_rows(frame: pd.DataFrame) -> list[tuple]:
    """Rows as tuples of Python values: counts as int (a float column of counts would read 7.0), None for NULL."""
    return list(zip(*(_plain_column(frame[c], c in COUNT_COLUMNS) for c in frame.columns)))


def _plain_column(series: pd.Series, is_count: bool) -> list:
    if is_count:
        series = pd.to_numeric(series)
        if not series.isna().any():
            return series.astype("int64").tolist()
        series = series.astype("Int64")
    if series.isna().any():
        return series.astype(object).where(series.notna(), None).tolist()
    return series.tolist()


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


def _copy_upsert_postgres(engine: Engine, frame: pd.DataFrame) -> int:
    """COPY (one CSV block) into a temporary table, then one INSERT .. ON CONFLICT: the fast path on PostgreSQL.

    Rows whose values did not change are not rewritten, so re-running a collection costs little.
    """
    columns = list(FACT_WRITE_COLUMNS)
    values = [c for c in columns if c not in KEY_COLUMNS and c != "collected_at"]
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in KEY_COLUMNS)
    changed = (f"({', '.join('dossier_facts.' + c for c in values)}) IS DISTINCT FROM "
               f"({', '.join('EXCLUDED.' + c for c in values)})")
    with engine.begin() as connection:
        cursor = connection.connection.cursor()
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS facts_incoming (LIKE dossier_facts INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
        with cursor.copy(f"COPY facts_incoming ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(_csv_block(frame[columns]))
        cursor.execute(
            f"INSERT INTO dossier_facts ({', '.join(columns)}) SELECT {', '.join(columns)} FROM facts_incoming "
            f"ON CONFLICT ON CONSTRAINT pk_dossier_facts DO UPDATE SET {updates} WHERE {changed}"
        )
        rollups.refresh(connection, frame)
    return len(frame)


def _csv_block(frame: pd.DataFrame) -> bytes:
    """The frame as CSV for COPY: counts as integers (never 7.0), NULL as an unquoted empty field."""
    frame = frame.copy()
    for column in COUNT_COLUMNS:
        frame[column] = pd.to_numeric(frame[column]).astype("Int64")
    table = pyarrow.Table.from_pandas(frame, preserve_index=False)
    sink = pyarrow.BufferOutputStream()
    pyarrow_csv.write_csv(table, sink, pyarrow_csv.WriteOptions(include_header=False, quoting_style="needed"))
    return sink.getvalue().to_pybytes()


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
