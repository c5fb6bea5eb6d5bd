"""Rollups of dossier facts that keep dashboard reads small, maintained in the writers' transaction.

- rollup_unit_day (unit, day): the day's flows, end-of-day stocks and optional columns summed over
  fields and sources; `fact_rows` counts the fact rows, and `complete` = 1 when every (field, source)
  series of the unit with a row in the STOCK_LOOKBACK_DAYS window ending that day has a row on it.
  A complete day's stocks are exactly the unit's stocks "as of" that day and of any later day up to
  the next fact day within the lookback (see store.readers), so readers need not scan facts for stocks.
- rollup_unit_month (unit, month) and rollup_unit_field_month (unit, month, field): flows and
  optional columns of full calendar months, `days` (distinct days with facts) and `day_mask` (bit
  d-1 set when day d of the month has facts), so days of several units or fields can be united.
- rollup_province_day (province, level, day): rollup_unit_day summed over the units of a province
  level (units as in the `units` table), for province trends and KPI strips.

upsert_facts calls `stage(connection, facts)` (loads the batch's (unit, day) keys), writes the facts,
then `refresh(connection, sums)`: each rollup row of those keys is deleted and re-aggregated from the
facts in SQL, so rollups always equal the facts. When the keys had no facts before (new days),
`sums = batch_sums(facts)` gives the unit days and the (unit, month, field) additions from the batch.
`recompute_rollups(engine)` rebuilds everything (repair, or after bulk loads / unit changes).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import (Column, Connection, Date, Engine, Index, Integer, PrimaryKeyConstraint, SmallInteger, String, Table,
                        text)

from config.facts import FLOW_COLUMNS, OPTIONAL_COLUMNS, STOCK_COLUMNS
from store import bulk
from store.schema import metadata

LOOKBACK_DAYS = 31  # = store.readers.STOCK_LOOKBACK_DAYS (readers import it from here)
DAY_SUMS = FLOW_COLUMNS + STOCK_COLUMNS + OPTIONAL_COLUMNS
MONTH_SUMS = FLOW_COLUMNS + OPTIONAL_COLUMNS


def _counts(names: Iterable[str], optional: Iterable[str] = OPTIONAL_COLUMNS) -> list[Column]:
    return [Column(n, Integer, nullable=n in set(optional)) for n in names]


rollup_unit_day = Table(
    "rollup_unit_day", metadata,
    Column("unit_code", String(8), nullable=False),
    Column("day", Date, nullable=False),
    Column("fact_rows", Integer, nullable=False),
    Column("complete", SmallInteger, nullable=False),
    *_counts(DAY_SUMS),
    PrimaryKeyConstraint("unit_code", "day", name="pk_rollup_unit_day"),
    sqlite_with_rowid=False,  # clustered on the key: range scans read rows in order
)
# Reads without a unit filter (national exports) find each unit's newest day in a window by day.
Index("ix_rollup_unit_day_day", rollup_unit_day.c.day, rollup_unit_day.c.unit_code)
rollup_unit_month = Table(
    "rollup_unit_month", metadata,
    Column("unit_code", String(8), nullable=False),
    Column("month", Date, nullable=False),
    Column("days", Integer, nullable=False),
    Column("day_mask", Integer, nullable=False),
    *_counts(MONTH_SUMS),
    PrimaryKeyConstraint("unit_code", "month", name="pk_rollup_unit_month"),
    sqlite_with_rowid=False,  # clustered on the key: range scans read rows in order
)
rollup_unit_field_month = Table(
    "rollup_unit_field_month", metadata,
    Column("unit_code", String(8), nullable=False),
    Column("month", Date, nullable=False),
    Column("field", String(32), nullable=False),
    Column("days", Integer, nullable=False),
    Column("day_mask", Integer, nullable=False),
    *_counts(MONTH_SUMS),
    PrimaryKeyConstraint("unit_code", "month", "field", name="pk_rollup_unit_field_month"),
    sqlite_with_rowid=False,  # clustered on the key: range scans read rows in order
)
rollup_province_day = Table(
    "rollup_province_day", metadata,
    Column("province_code", String(2), nullable=False),
    Column("level", String(8), nullable=False),
    Column("day", Date, nullable=False),
    Column("units", Integer, nullable=False),
    *_counts(DAY_SUMS),
    PrimaryKeyConstraint("province_code", "level", "day", name="pk_rollup_province_day"),
    sqlite_with_rowid=False,  # clustered on the key: range scans read rows in order
)
ADVISORY_LOCK = 7_160_501  # any constant: "rollup maintenance" for pg_advisory_xact_lock
ROLLUP_TABLES = (rollup_unit_day, rollup_unit_month, rollup_unit_field_month, rollup_province_day)


def stage(connection: Connection, facts: pd.DataFrame) -> bool:
    """Begin maintenance for facts about to be written (days as ISO text): take the writers' lock and
    load the batch's (unit, day) keys. True when no fact (nor unit-day rollup) exists on any of them yet
    ("fresh" keys).
    """
    _prepare_keys(connection)
    bulk.load(connection, "rollup_keys", facts[["unit_code", "day"]].drop_duplicates())
    _analyze(connection, ("rollup_keys",))
    return not _any_stored(connection, facts["day"].min(), facts["day"].max())


def _any_stored(connection: Connection, first: str, last: str) -> bool:
    """Whether a staged key has facts, or unit-day rollups (a writer that deleted facts outside this module
    may have left some behind). A batch of days none of which is stored yet (a backfill, a bulk
    load) is told by two index range scans, without joining the keys.
    """
    days = (first, last) if connection.dialect.name == "sqlite" else tuple(map(dt.date.fromisoformat, (first, last)))
    in_range = text("SELECT 1 FROM dossier_facts WHERE day BETWEEN :first AND :last UNION ALL "
                    "SELECT 1 FROM rollup_unit_day WHERE day BETWEEN :first AND :last LIMIT 1")
    if connection.execute(in_range, dict(zip(("first", "last"), days))).first() is None:
        return False
    return connection.exec_driver_sql(
        "SELECT 1 FROM rollup_keys k JOIN dossier_facts f ON f.unit_code = k.unit_code AND f.day = k.day UNION ALL "
        "SELECT 1 FROM rollup_keys k JOIN rollup_unit_day d ON d.unit_code = k.unit_code AND d.day = k.day LIMIT 1"
    ).first() is not None


def batch_sums(facts: pd.DataFrame) -> "BatchSums":
    """What a batch of fresh keys adds to the rollups, computed from the batch alone (see `refresh`)."""
    return BatchSums(_unit_day_rows(facts), _field_month_rows(facts))


@dataclass(frozen=True)
class BatchSums:
    unit_days: pd.DataFrame     # rollup_unit_day rows of the batch's (unit, day) keys
    field_months: pd.DataFrame  # per (unit, month, field): the batch's days, day mask and sums


def refresh(connection: Connection, fresh: BatchSums | None) -> None:
    """Re-aggregate every rollup row depending on the keys staged by `stage`, once the facts are written.

    `fresh` (the keys had no facts before): the unit days are the batch's own sums, and each (unit,
    month, field) row gains the batch's days, which it did not hold: both come from the batch, not the facts.
    """
    sql = _Sql(connection.dialect.name)
    run = connection.exec_driver_sql
    _derive_scopes(connection, sql)
    if fresh is not None:
        bulk.load(connection, "rollup_unit_day", fresh.unit_days)
        _delete_keyed(run, unit_days=False, field_months=False)
        bulk.load(connection, "rollup_field_month_new", fresh.field_months)
        _merge_field_months(run)
    else:
        _delete_keyed(run)
        _insert_unit_days(run)
    _mark_incomplete(run, sql)
    _insert_months(run, sql, field_months=fresh is None)
    _insert_province_days(run)


def recompute_rollups(engine: Engine) -> None:
    """Rebuild every rollup from the facts (repair; after bulk loads or changes of units)."""
    with engine.begin() as connection:
        rebuild(connection)


def rebuild(connection: Connection) -> None:
    """Rebuild every rollup from the facts inside the caller's transaction."""
    for table in ROLLUP_TABLES:
        connection.exec_driver_sql(f"DELETE FROM {table.name}")
    _prepare_keys(connection)
    connection.exec_driver_sql("INSERT INTO rollup_keys (unit_code, day) SELECT DISTINCT unit_code, day FROM dossier_facts")
    _analyze(connection, ("rollup_keys",))
    sql = _Sql(connection.dialect.name)
    run = connection.exec_driver_sql
    _derive_scopes(connection, sql)
    _insert_unit_days(run)
    _mark_incomplete(run, sql)
    _insert_months(run, sql)
    _insert_province_days(run)


def _derive_scopes(connection: Connection, sql: "_Sql") -> None:
    """From rollup_keys: the touched (unit, month)s, each unit's touched day range and the province days."""
    run = connection.exec_driver_sql
    run(f"INSERT INTO rollup_months (unit_code, month, month_end) SELECT DISTINCT unit_code, "
        f"{sql.month_start('day')}, {sql.month_end('day')} FROM rollup_keys")
    run("INSERT INTO rollup_ranges (unit_code, lo, hi) SELECT unit_code, MIN(day), MAX(day) FROM rollup_keys "
        "GROUP BY unit_code")
    run("INSERT INTO rollup_pdays (province_code, level, day) SELECT DISTINCT u.province_code, u.level, k.day "
        "FROM rollup_keys k JOIN units u ON u.code = k.unit_code")
    _analyze(connection, ("rollup_months", "rollup_ranges", "rollup_pdays"))


def _analyze(connection: Connection, names: Iterable[str]) -> None:
    """PostgreSQL plans temporary tables blind (autovacuum never sees them) unless told their size."""
    if connection.dialect.name == "postgresql":
        for name in names:
            connection.exec_driver_sql(f"ANALYZE {name}")


def _unit_day_rows(facts: pd.DataFrame) -> pd.DataFrame:
    """rollup_unit_day rows of a batch whose (unit, day) keys had no facts: the batch's own sums."""
    groups = facts.groupby(["unit_code", "day"], sort=False)
    rows = groups[list(DAY_SUMS)].sum(min_count=1)  # SUM: NULL when every row is NULL
    rows.insert(0, "fact_rows", groups.size())
    rows.insert(1, "complete", 1)  # set by _mark_incomplete
    return bulk.as_counts(rows.reset_index(), DAY_SUMS)


def _field_month_rows(facts: pd.DataFrame) -> pd.DataFrame:
    """Per (unit, month, field): the batch's days (count and mask) and sums; days as ISO text."""
    days = facts[["unit_code", "field", "day", *MONTH_SUMS]]
    if facts["source"].nunique() > 1:  # keys are unique: with one source, so are (unit, field, day)
        days = days.groupby(["unit_code", "field", "day"], sort=False).sum(min_count=1).reset_index()
    codes, uniques = pd.factorize(days["day"])
    days["month"] = np.asarray([d[:8] + "01" for d in uniques], dtype=object)[codes]
    days["bit"] = np.asarray([1 << (int(d[8:10]) - 1) for d in uniques], dtype=np.int64)[codes]
    groups = days.groupby(["unit_code", "month", "field"], sort=False)
    rows = groups[list(MONTH_SUMS)].sum(min_count=1)
    rows.insert(0, "days", groups.size())
    rows.insert(1, "day_mask", groups["bit"].sum())
    return bulk.as_counts(rows.reset_index(), MONTH_SUMS)


def _merge_field_months(run) -> None:
    """Add the batch's days to rollup_unit_field_month: the days are new to each row, so counts, masks and
    sums add up (a sum stays NULL only when both sides are). Exactly a recomputation, without reading facts.
    """
    table = "rollup_unit_field_month"
    columns = ("unit_code", "month", "field", "days", "day_mask") + MONTH_SUMS
    sums = ", ".join(f"{c} = COALESCE({table}.{c} + excluded.{c}, {table}.{c}, excluded.{c})" for c in MONTH_SUMS)
    # "WHERE true" keeps SQLite from reading ON CONFLICT as part of a join.
    run(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM rollup_field_month_new "
        f"WHERE true ON CONFLICT (unit_code, month, field) DO UPDATE SET days = {table}.days + excluded.days, "
        f"day_mask = {table}.day_mask | excluded.day_mask, {sums}")


def _prepare_keys(connection: Connection) -> None:
    """Temporary key tables of this connection, emptied (they outlive transactions on SQLite)."""
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        # Concurrent writers share month and province rows: rebuilding them one transaction at a time
        # avoids duplicate keys between two delete-then-insert transactions (SQLite writers are serial).
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK})")
        # Re-aggregating a large batch sorts and hashes ~100 bytes per fact row: in memory, not on disk.
        connection.exec_driver_sql("SET LOCAL work_mem = '128MB'")
    suffix = " ON COMMIT DELETE ROWS" if postgres else ""
    day = "date" if postgres else "DATE"
    sums = ", ".join(f"{c} integer" for c in MONTH_SUMS)
    for name, columns in (("rollup_keys", f"unit_code varchar(8), day {day}"),
                          ("rollup_months", f"unit_code varchar(8), month {day}, month_end {day}"),
                          ("rollup_ranges", f"unit_code varchar(8), lo {day}, hi {day}, scan_from {day}"),
                          ("rollup_recheck", f"unit_code varchar(8), day {day}, complete smallint"),
                          ("rollup_gaps", f"unit_code varchar(8), last_day {day}, next_day {day}"),
                          ("rollup_pdays", f"province_code varchar(2), level varchar(8), day {day}"),
                          ("rollup_field_month_new", f"unit_code varchar(8), month {day}, field varchar(32), "
                                                     f"days integer, day_mask integer, {sums}")):
        connection.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({columns}){suffix}")
        connection.exec_driver_sql(f"DELETE FROM {name}")
    connection.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_rollup_keys ON rollup_keys (unit_code, day)")
    connection.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_rollup_gaps ON rollup_gaps (unit_code)")


def _delete_keyed(run, unit_days: bool = True, field_months: bool = True) -> None:
    # Row-value IN lets both databases find the rows through the primary key (EXISTS would scan).
    if unit_days:
        run("DELETE FROM rollup_unit_day WHERE (unit_code, day) IN (SELECT unit_code, day FROM rollup_keys)")
    for table in ("rollup_unit_month",) + (("rollup_unit_field_month",) if field_months else ()):
        run(f"DELETE FROM {table} WHERE (unit_code, month) IN (SELECT unit_code, month FROM rollup_months)")
    run("DELETE FROM rollup_province_day WHERE (province_code, level, day) IN "
        "(SELECT province_code, level, day FROM rollup_pdays)")


def _sums(columns: Iterable[str], prefix: str = "") -> str:
    return ", ".join(f"SUM({prefix}{c})" for c in columns)


def _insert_unit_days(run) -> None:
    columns = ", ".join(DAY_SUMS)
    run(f"INSERT INTO rollup_unit_day (unit_code, day, fact_rows, complete, {columns}) "
        f"SELECT f.unit_code, f.day, COUNT(*), 1, {_sums(DAY_SUMS, 'f.')} FROM dossier_facts f "
        f"JOIN rollup_keys k ON k.unit_code = f.unit_code AND k.day = f.day GROUP BY f.unit_code, f.day")


def _mark_incomplete(run, sql: "_Sql") -> None:
    """Set `complete` on the unit days the touched keys can affect: the touched range and 31 days after it.

    A series row on day d followed by its next row on day n (or none) leaves the days d+1 .. min(n-1, d+31)
    without that series: those days are incomplete. Rows before the touched range matter only through
    the unit's newest earlier day within the lookback; when that day is complete, it holds every series
    that can reach into the range, so the facts are read from it on, else from 32 days before the range.
    """
    span = LOOKBACK_DAYS + 1
    run(f"UPDATE rollup_ranges SET scan_from = COALESCE((SELECT CASE WHEN d.complete = 1 THEN d.day END "
        f"FROM rollup_unit_day d WHERE d.unit_code = rollup_ranges.unit_code AND d.day < rollup_ranges.lo "
        f"AND d.day >= {sql.plus_days('rollup_ranges.lo', -span)} ORDER BY d.day DESC LIMIT 1), "
        f"{sql.plus_days('rollup_ranges.lo', -span)})")
    run(f"INSERT INTO rollup_gaps (unit_code, last_day, next_day) SELECT unit_code, day, next_day FROM ("
        f"SELECT f.unit_code, f.day, LEAD(f.day) OVER (PARTITION BY {sql.bytewise('f.unit_code, f.field, f.source')} "
        f"ORDER BY f.day) "
        f"AS next_day FROM dossier_facts f JOIN rollup_ranges r ON r.unit_code = f.unit_code "
        f"AND f.day BETWEEN r.scan_from AND {sql.plus_days('r.hi', LOOKBACK_DAYS)}) s "
        f"WHERE next_day IS NULL OR next_day > {sql.plus_days('day', 1)}")
    run(f"INSERT INTO rollup_recheck (unit_code, day, complete) SELECT d.unit_code, d.day, CASE WHEN EXISTS ("
        f"SELECT 1 FROM rollup_gaps g WHERE g.unit_code = d.unit_code AND g.last_day < d.day "
        f"AND d.day <= {sql.plus_days('g.last_day', LOOKBACK_DAYS)} AND (g.next_day IS NULL OR g.next_day > d.day)) "
        f"THEN 0 ELSE 1 END FROM rollup_ranges r JOIN rollup_unit_day d ON d.unit_code = r.unit_code "
        f"AND d.day BETWEEN r.lo AND {sql.plus_days('r.hi', LOOKBACK_DAYS)}")
    run("UPDATE rollup_unit_day SET complete = k.complete FROM rollup_recheck k WHERE "
        "rollup_unit_day.unit_code = k.unit_code AND rollup_unit_day.day = k.day AND rollup_unit_day.complete <> k.complete")


def _insert_months(run, sql: "_Sql", field_months: bool = True) -> None:
    columns = ", ".join(MONTH_SUMS)
    run(f"INSERT INTO rollup_unit_month (unit_code, month, days, day_mask, {columns}) "
        f"SELECT m.unit_code, m.month, COUNT(*), SUM({sql.day_bit('d.day')}), {_sums(MONTH_SUMS, 'd.')} "
        f"FROM rollup_unit_day d "
        f"JOIN rollup_months m ON m.unit_code = d.unit_code AND d.day BETWEEN m.month AND m.month_end "
        f"GROUP BY m.unit_code, m.month")
    if not field_months:
        return
    run(f"INSERT INTO rollup_unit_field_month (unit_code, month, field, days, day_mask, {columns}) "
        f"SELECT m.unit_code, m.month, f.field, COUNT(DISTINCT f.day), SUM(DISTINCT {sql.day_bit('f.day')}), "
        f"{_sums(MONTH_SUMS, 'f.')} "
        f"FROM dossier_facts f JOIN rollup_months m ON m.unit_code = f.unit_code "
        f"AND f.day BETWEEN m.month AND m.month_end GROUP BY m.unit_code, m.month, f.field")


def _insert_province_days(run) -> None:
    columns = ", ".join(DAY_SUMS)
    run(f"INSERT INTO rollup_province_day (province_code, level, day, units, {columns}) "
        f"SELECT p.province_code, p.level, p.day, COUNT(*), {_sums(DAY_SUMS, 'd.')} FROM rollup_pdays p "
        f"JOIN units u ON u.province_code = p.province_code AND u.level = p.level "
        f"JOIN rollup_unit_day d ON d.unit_code = u.code AND d.day = p.day "
        f"GROUP BY p.province_code, p.level, p.day")


class _Sql:
    """The few date expressions that differ between PostgreSQL and SQLite (dates stored as ISO text)."""

    def __init__(self, dialect: str) -> None:
        self.postgres = dialect == "postgresql"

    def bytewise(self, columns: str) -> str:
        """Columns compared byte by byte: grouping by them is unchanged, sorting for it is cheaper."""
        if not self.postgres:
            return columns
        return ", ".join(f'{c.strip()} COLLATE "C"' for c in columns.split(","))

    def month_start(self, column: str) -> str:
        return f"date_trunc('month', {column})::date" if self.postgres else f"date({column}, 'start of month')"

    def month_end(self, column: str) -> str:
        if self.postgres:
            return f"(date_trunc('month', {column}) + interval '1 month - 1 day')::date"
        return f"date({column}, 'start of month', '+1 month', '-1 day')"

    def day_bit(self, column: str) -> str:
        """2 ** (day of month - 1): distinct days of a month summed give its day mask."""
        if self.postgres:
            return f"(1 << (EXTRACT(DAY FROM {column})::int - 1))"
        return f"(1 << (CAST(strftime('%d', {column}) AS INTEGER) - 1))"

    def plus_days(self, column: str, days: int) -> str:
        return f"({column} + {days})" if self.postgres else f"date({column}, '{days:+d} days')"
