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
When moreover the batch's units have no other facts within the lookback around its days (ISOLATED: a
backfill, a bulk load), `complete` comes from the batch's own series too, and the months hold only its days.
A writer replacing stored facts stages the keys of both with `stage_replacing` and re-aggregates them.
`recompute_rollups(engine)` rebuilds everything (repair, or after bulk loads / unit changes).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import (Column, Connection, Date, Engine, Index, Integer, PrimaryKeyConstraint, Select, SmallInteger,
                        String, Table, text)

from config.facts import FLOW_COLUMNS, OPTIONAL_COLUMNS, STOCK_COLUMNS
from store import bulk
from store.schema import key_text, metadata

LOOKBACK_DAYS = 31  # = store.readers.STOCK_LOOKBACK_DAYS (readers import it from here)
DAY_SUMS = FLOW_COLUMNS + STOCK_COLUMNS + OPTIONAL_COLUMNS
MONTH_SUMS = FLOW_COLUMNS + OPTIONAL_COLUMNS


def _counts(names: Iterable[str], optional: Iterable[str] = OPTIONAL_COLUMNS) -> list[Column]:
    return [Column(n, Integer, nullable=n in set(optional)) for n in names]


rollup_unit_day = Table(
    "rollup_unit_day", metadata,
    Column("unit_code", key_text(8), nullable=False),
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
    Column("unit_code", key_text(8), nullable=False),
    Column("month", Date, nullable=False),
    Column("days", Integer, nullable=False),
    Column("day_mask", Integer, nullable=False),
    *_counts(MONTH_SUMS),
    PrimaryKeyConstraint("unit_code", "month", name="pk_rollup_unit_month"),
    sqlite_with_rowid=False,  # clustered on the key: range scans read rows in order
)
rollup_unit_field_month = Table(
    "rollup_unit_field_month", metadata,
    Column("unit_code", key_text(8), nullable=False),
    Column("month", Date, nullable=False),
    Column("field", key_text(32), nullable=False),
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


STORED, FRESH, ISOLATED = "stored", "fresh", "isolated"  # what `stage` finds about a batch's keys


def stage(connection: Connection, facts: pd.DataFrame) -> str:
    """Begin maintenance for facts about to be written (days as ISO text): take the writers' lock and
    load the batch's (unit, day) keys. FRESH when no fact (nor unit-day rollup) exists on any of them
    yet; ISOLATED when moreover none of the batch's units has one within the lookback before or after
    its days (a backfill, a bulk load): then the batch alone decides the rollups of its keys. Else STORED.
    """
    _prepare_keys(connection)
    bulk.load(connection, "rollup_keys", facts[["unit_code", "day"]].drop_duplicates())
    _analyze(connection, ("rollup_keys",))
    first, last = facts["day"].min(), facts["day"].max()
    if _isolated(connection, first, last):
        return ISOLATED
    return STORED if _any_stored(connection, first, last) else FRESH


def stage_replacing(connection: Connection, facts: pd.DataFrame, replaced: Select) -> None:
    """Begin maintenance for facts (days as ISO text) that replace the stored facts `replaced` selects
    (their unit_code, day), which the caller deletes: the keys of both are staged, and `refresh(connection,
    None)` re-aggregates them from the facts, so days no fact covers any more lose their rollup rows.
    """
    _prepare_keys(connection)
    old = pd.DataFrame(connection.execute(replaced).all(), columns=["unit_code", "day"])
    old = old.assign(day=bulk.iso_days(old["day"])) if not old.empty else old
    keys = pd.concat([facts[["unit_code", "day"]], old], ignore_index=True).drop_duplicates()
    bulk.load(connection, "rollup_keys", keys)
    _analyze(connection, ("rollup_keys",))


def _isolated(connection: Connection, first: str, last: str) -> bool:
    """No fact or unit-day rollup of a staged unit from LOOKBACK_DAYS + 1 days before its first staged day
    to LOOKBACK_DAYS after its last (this covers the staged days' whole months). A day range without any
    is told by two index range scans; else each unit's range is probed through the primary keys.
    """
    span = dt.timedelta(days=LOOKBACK_DAYS + 1)
    window = (dt.date.fromisoformat(first) - span, dt.date.fromisoformat(last) + span)
    if connection.dialect.name == "sqlite":
        window = tuple(d.isoformat() for d in window)
    in_range = text("SELECT 1 FROM dossier_facts WHERE day BETWEEN :first AND :last UNION ALL "
                    "SELECT 1 FROM rollup_unit_day WHERE day BETWEEN :first AND :last LIMIT 1")
    if connection.execute(in_range, dict(zip(("first", "last"), window))).first() is None:
        return True
    sql = _Sql(connection.dialect.name)
    ranges = "(SELECT unit_code, MIN(day) AS lo, MAX(day) AS hi FROM rollup_keys GROUP BY unit_code) r"
    near = (f"t.unit_code = r.unit_code AND t.day BETWEEN {sql.plus_days('r.lo', -LOOKBACK_DAYS - 1)} "
            f"AND {sql.plus_days('r.hi', LOOKBACK_DAYS)}")
    return connection.exec_driver_sql(
        f"SELECT 1 FROM {ranges} JOIN dossier_facts t ON {near} UNION ALL "
        f"SELECT 1 FROM {ranges} JOIN rollup_unit_day t ON {near} LIMIT 1").first() is None


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


def batch_sums(facts: pd.DataFrame, isolated: bool = False, formatted: bool = False) -> "BatchSums":
    """What a batch of fresh keys adds to the rollups, computed from the batch alone (see `refresh`);
    `isolated` (as `stage` found): the unit days' `complete` flags too. `formatted` (PostgreSQL): rows
    ready for COPY, formatted now (while the server inserts the facts) rather than later.
    """
    unit_days = _unit_day_rows(facts)
    if isolated:
        unit_days["complete"] = _isolated_complete(facts, unit_days).astype(np.int64)
    field_months = _field_month_rows(facts)
    if formatted:
        unit_days, field_months = bulk.csv_rows(unit_days), bulk.csv_rows(field_months)
    return BatchSums(unit_days, field_months, isolated)


@dataclass(frozen=True)
class BatchSums:
    unit_days: pd.DataFrame | bulk.CsvRows     # rollup_unit_day rows of the batch's (unit, day) keys
    field_months: pd.DataFrame | bulk.CsvRows  # per (unit, month, field): the batch's days, day mask and sums
    complete_known: bool = False  # unit_days' `complete` flags are final (an isolated batch)


def refresh(connection: Connection, fresh: BatchSums | None) -> None:
    """Re-aggregate every rollup row depending on the keys staged by `stage`, once the facts are written.

    `fresh` (the keys had no facts before): the unit days are the batch's own sums, and each (unit,
    month, field) row gains the batch's days, which it did not hold: both come from the batch, not the facts.
    """
    sql = _Sql(connection.dialect.name)
    run = connection.exec_driver_sql
    _derive_scopes(connection, sql)
    if fresh is not None and fresh.complete_known:  # isolated: the batch's months hold no other days
        bulk.load(connection, "rollup_unit_day", fresh.unit_days)
        _delete_keyed(run, unit_days=False)
        bulk.load(connection, "rollup_unit_field_month", fresh.field_months)
    elif fresh is not None:
        bulk.load(connection, "rollup_unit_day", fresh.unit_days)
        _delete_keyed(run, unit_days=False, field_months=False)
        bulk.load(connection, "rollup_field_month_new", fresh.field_months)
        _merge_field_months(run)
    else:
        _delete_keyed(run)
        _insert_unit_days(run)
    if fresh is None or not fresh.complete_known:
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


def _isolated_complete(facts: pd.DataFrame, unit_days: pd.DataFrame) -> np.ndarray:
    """`complete` of each unit day of an isolated batch (its units have no other facts within the lookback),
    from the batch's series alone, as `_mark_incomplete` computes it from the facts.

    A series row on day d whose next row is on day n (or none) leaves days d+1 .. min(n-1, d+31)
    without it: unit days within such a range are incomplete.
    """
    unit_ids, units = pd.factorize(facts["unit_code"])
    day_codes, days = pd.factorize(facts["day"])
    ordinals = pd.to_datetime(pd.Series(days)).to_numpy().astype("datetime64[D]").astype(np.int64)
    day = ordinals[day_codes] - ordinals.min()
    series = facts.groupby(["unit_code", "field", "source"], sort=False).ngroup().to_numpy()
    order = np.lexsort((day, series))
    series, day, unit_ids = series[order], day[order], unit_ids[order]
    last_row = np.r_[series[1:] != series[:-1], True]
    following = np.r_[day[1:], 0]
    end = np.where(last_row, day + LOOKBACK_DAYS, np.minimum(following - 1, day + LOOKBACK_DAYS))
    gap = end > day  # the series misses day + 1 at least
    stride = int(day.max()) + 2 * LOOKBACK_DAYS + 2  # > any day or gap end: keys of units never overlap
    keys = units.get_indexer(unit_days["unit_code"]) * stride + (
        ordinals[days.get_indexer(unit_days["day"])] - ordinals.min())
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.searchsorted(sorted_keys, unit_ids[gap] * stride + day[gap] + 1, side="left")
    ends = np.searchsorted(sorted_keys, unit_ids[gap] * stride + end[gap], side="right")
    covered = np.zeros(len(keys) + 1, dtype=np.int64)
    np.add.at(covered, starts, 1)
    np.add.at(covered, ends, -1)
    complete = np.empty(len(keys), dtype=bool)
    complete[order] = np.cumsum(covered[:-1]) == 0
    return complete


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
    unit = 'varchar(8) COLLATE "C"' if postgres else "varchar(8)"  # as the stored keys (store.schema.key_text)
    field = 'varchar(32) COLLATE "C"' if postgres else "varchar(32)"
    sums = ", ".join(f"{c} integer" for c in MONTH_SUMS)
    for name, columns in (("rollup_keys", f"unit_code {unit}, day {day}"),
                          ("rollup_months", f"unit_code {unit}, month {day}, month_end {day}"),
                          ("rollup_ranges", f"unit_code {unit}, lo {day}, hi {day}, scan_from {day}"),
                          ("rollup_recheck", f"unit_code {unit}, day {day}, complete smallint"),
                          ("rollup_gaps", f"unit_code {unit}, last_day {day}, next_day {day}"),
                          ("rollup_pdays", f"province_code varchar(2), level varchar(8), day {day}"),
                          ("rollup_field_month_new", f"unit_code {unit}, month {day}, field {field}, "
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
        f"SELECT f.unit_code, f.day, COUNT(*), 1, {_sums(DAY_SUMS, 'f.')} FROM rollup_keys k "
        # SQLite keeps a CROSS JOIN's order: probe the facts per staged key (it cannot know rollup_keys is
        # small and would scan the facts); PostgreSQL plans it as an inner join.
        f"CROSS JOIN dossier_facts f WHERE f.unit_code = k.unit_code AND f.day = k.day GROUP BY f.unit_code, f.day")


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
