"""Readers: aggregate in SQL, return DataFrames shaped as config.facts describes.

Every reader takes an explicit unit filter (`province_code` and/or `unit_codes`) so that access
scoping can be enforced here, in the data layer, rather than in pages. Period and daily totals read
the rollups of store.rollups (equal to the facts by construction) and fall back to the facts only
for partial months filtered or grouped by field and for units with a series gap near a boundary.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Table, and_, func, literal, select, union_all
from sqlalchemy.sql import Select

from config.facts import FLOW_COLUMNS, OPTIONAL_COLUMNS, PERIOD_COLUMNS, STOCK_COLUMNS
from store.rollups import (
    LOOKBACK_DAYS, MONTH_SUMS, rollup_province_day, rollup_unit_day, rollup_unit_field_month, rollup_unit_month,
)
from store.schema import collection_runs, dossier_facts as facts, unit_status, units

# A stock older than this before a period boundary is treated as unknown, not as still true.
STOCK_LOOKBACK_DAYS = LOOKBACK_DAYS
GROUPINGS = ("unit_code", "field")


def load_units(engine: Engine, province_code: str | None = None) -> pd.DataFrame:
    """Units as stored (registry copy), optionally of one province."""
    query = select(units).order_by(units.c.code)
    if province_code is not None:
        query = query.where(units.c.province_code == province_code)
    with engine.connect() as connection:
        return pd.read_sql(query, connection)


def period_totals(engine: Engine, start: dt.date, end: dt.date, *, province_code: str | None = None,
                  unit_codes: Sequence[str] | None = None, fields: Sequence[str] | None = None,
                  group_by: Sequence[str] = ("unit_code",)) -> pd.DataFrame:
    """Flows summed over [start, end], carried_over and end stocks, one row per group.

    Groups with no fact rows at all are absent: callers show them as "no data", never as zero.
    """
    keys = _check_grouping(group_by)
    scope = _Scope(province_code, unit_codes, fields)
    one_unit = unit_codes is not None and len(set(unit_codes)) == 1
    fast_keys = ["unit_code", "field"] if keys == ["field"] and one_unit else keys  # one unit's fields
    if fast_keys in (["unit_code"], ["unit_code", "field"]) and (fields is None or len(fields) == 1):
        # Days add up over these groups: the tuple-based read of unit_periods_totals, one period.
        with engine.connect() as connection:
            _small_reads(connection, scope)
            flows = _periods_flows(connection, [(start, end)], scope, fast_keys)
            dates = sorted({end, start - dt.timedelta(days=1)})
            stocks = _unit_stocks(connection, dates, scope, fast_keys)
        frame = _assemble_periods([(start, end)], dates, flows, stocks, fast_keys)
        if len(frame):  # (an empty answer keeps the general path's column types)
            return frame[keys + list(PERIOD_COLUMNS) + ["days_with_data"]]
    with engine.connect() as connection:  # one connection for the few small queries
        _small_reads(connection, scope)
        flows = _indexed(_period_flows(connection, start, end, scope, keys), keys)
        closing, opening = [_indexed(frame, keys) for frame in
                            _stocks_as_of(connection, [end, start - dt.timedelta(days=1)], scope, keys)]
    carried = (opening["pending_on_time"] + opening["pending_overdue"]).rename("carried_over")
    frame = flows.join(closing, how="outer").join(carried, how="left")
    counts = list(FLOW_COLUMNS) + list(STOCK_COLUMNS) + ["carried_over", "days_with_data"]
    frame = frame.fillna({c: 0 for c in counts}).astype(
        {**{c: "int64" for c in counts}, **{c: "float64" for c in OPTIONAL_COLUMNS}})
    frame = frame.sort_index().reset_index() if keys else frame.reset_index(drop=True)
    return frame[keys + list(PERIOD_COLUMNS) + ["days_with_data"]]


def unit_periods_totals(engine: Engine, periods: Sequence[tuple[dt.date, dt.date]], *,
                        province_code: str | None = None, unit_codes: Sequence[str] | None = None,
                        fields: Sequence[str] | None = None) -> pd.DataFrame:
    """period_totals grouped by unit for several periods in one read: one row per (period, unit).

    `period` is the index of the period in `periods`; each (period, unit) row equals that row of
    period_totals(start, end, group_by=("unit_code",)). Flows of every period come in one query,
    the stocks at every boundary in one more (see _stocks_as_of), so a room that needs a period
    and the one before it, or six months of ranks, pays for one read.
    """
    periods = [(start, end) for start, end in periods]
    if not periods:
        return _periods_frame(None)
    scope = _Scope(province_code, unit_codes, fields)
    if fields is not None and len(fields) > 1:  # days would have to be united over fields: period by period
        frames = [period_totals(engine, start, end, province_code=province_code, unit_codes=unit_codes,
                                fields=fields).assign(period=i) for i, (start, end) in enumerate(periods)]
        return _periods_frame(pd.concat(frames, ignore_index=True) if frames else None)
    dates = sorted({day for start, end in periods for day in (end, start - dt.timedelta(days=1))})
    with engine.connect() as connection:
        _small_reads(connection, scope)
        flows = _periods_flows(connection, periods, scope)
        stocks = _unit_stocks(connection, dates, scope)
    return _assemble_periods(periods, dates, flows, stocks)


def _assemble_periods(periods, dates, flows: list[tuple], stocks: list[dict],
                      keys: Sequence[str] = ("unit_code",)) -> pd.DataFrame:
    """Join flows and the stocks at each period's end and the day before it, in plain Python.

    A province has a few hundred (period, unit) rows: dictionaries beat DataFrame merges here.
    Rows are keyed (period, unit) or (period, (unit, field)).
    """
    at = {day: i for i, day in enumerate(dates)}
    width = len(keys)
    rows: dict[tuple, list] = {}
    for row in flows:  # (period, *keys, *MONTH_SUMS, days)
        rows[(row[0], row[1] if width == 1 else tuple(row[1:1 + width]))] = [list(row[1 + width:]), None, None]
    for i, (start, end) in enumerate(periods):
        for key, values in stocks[at[end]].items():
            rows.setdefault((i, key), [None, None, None])[1] = values
        opening = stocks[at[start - dt.timedelta(days=1)]]
        for (period, key), row in rows.items():
            if period == i and key in opening:
                row[2] = opening[key][0] + opening[key][1]
    ordered = sorted(rows)
    if not ordered:
        return _periods_frame(None)
    flow_index = {c: k for k, c in enumerate(MONTH_SUMS)}
    columns: dict[str, object] = {"period": np.array([k[0] for k in ordered], dtype="int64")}
    for position, name in enumerate(keys):
        columns[name] = pd.array([k[1] if width == 1 else k[1][position] for k in ordered], dtype="str")
    flows_of = [rows[k][0] or [None] * (len(MONTH_SUMS) + 1) for k in ordered]
    stocks_of = [rows[k][1] or (0, 0, 0) for k in ordered]
    columns["carried_over"] = np.array([rows[k][2] or 0 for k in ordered], dtype="int64")
    for c in PERIOD_COLUMNS[1:]:
        if c in STOCK_COLUMNS:
            columns[c] = np.array([v[STOCK_COLUMNS.index(c)] for v in stocks_of], dtype="int64")
        elif c in OPTIONAL_COLUMNS:
            columns[c] = np.array([np.nan if v[flow_index[c]] is None else v[flow_index[c]] for v in flows_of],
                                  dtype="float64")
        else:
            columns[c] = np.array([v[flow_index[c]] or 0 for v in flows_of], dtype="int64")
    columns["days_with_data"] = np.array([v[-1] or 0 for v in flows_of], dtype="int64")
    return pd.DataFrame(columns)


def _unit_stocks(connection: Connection, dates: Sequence[dt.date], scope: "_Scope",
                 keys: Sequence[str] = ("unit_code",)) -> list[dict]:
    """Per date: unit (or (unit, field)) -> (pending_on_time, pending_overdue, nearly_due) as at its end
    (see _stocks_as_of)."""
    columns = list(STOCK_COLUMNS)
    if scope.fields is not None or list(keys) != ["unit_code"]:  # by field: from the facts of the newest days
        return _field_stocks(connection, dates, scope, list(keys))
    ud = rollup_unit_day
    latest = [_latest_days(as_of, scope, f"latest_{i}") for i, as_of in enumerate(dates)]
    picked = [select(literal(i).label("at"), ud.c.unit_code, ud.c.complete, *[ud.c[c] for c in columns])
              .select_from(ud.join(newest, and_(ud.c.unit_code == newest.c.unit_code, ud.c.day == newest.c.day)))
              for i, newest in enumerate(latest)]
    found: list[dict] = [{} for _ in dates]
    incomplete: list[list[str]] = [[] for _ in dates]
    for at, unit, complete, *values in connection.execute(union_all(*picked)).all():
        if complete == 1:
            found[at][unit] = tuple(values)
        else:
            incomplete[at].append(unit)
    for i, units_left in enumerate(incomplete):  # a unit with a series gap near the date: from the facts
        if units_left:
            narrowed = _Scope(scope.province_code, units_left, None)
            for unit, *values in connection.execute(_stock_query(dates[i], narrowed, ["unit_code"], columns)).all():
                if any(v is not None for v in values):
                    found[i][unit] = tuple(int(v or 0) for v in values)
    return found


def _periods_frame(frame: pd.DataFrame | None) -> pd.DataFrame:
    """Columns, types and order of unit_periods_totals."""
    columns = ["period", "unit_code", *PERIOD_COLUMNS, "days_with_data"]
    if frame is None or frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c in OPTIONAL_COLUMNS else
                                          "object" if c == "unit_code" else "int64") for c in columns})
    counts = list(FLOW_COLUMNS) + list(STOCK_COLUMNS) + ["carried_over", "days_with_data"]
    frame = frame.fillna({c: 0 for c in counts}).astype(
        {"period": "int64", "unit_code": "str", **{c: "int64" for c in counts},
         **{c: "float64" for c in OPTIONAL_COLUMNS}})
    return frame.sort_values(["period", "unit_code"], kind="stable").reset_index(drop=True)[columns]


def _field_stocks(connection: Connection, dates: Sequence[dt.date], scope: "_Scope", keys: list[str]) -> list[dict]:
    """_stocks_as_of's non-rollup path (by field, or some fields) summed from fetched tuples: per date,
    key -> stocks, where key is the unit, or (unit, field)."""
    ud, columns, width = rollup_unit_day, list(STOCK_COLUMNS), len(keys)
    latest = [_latest_days(as_of, scope, f"latest_{i}") for i, as_of in enumerate(dates)]
    picked = [select(literal(i).label("at"), ud.c.unit_code, ud.c.complete)
              .select_from(ud.join(newest, and_(ud.c.unit_code == newest.c.unit_code, ud.c.day == newest.c.day)))
              for i, newest in enumerate(latest)]
    complete, incomplete = [False] * len(dates), [[] for _ in dates]
    for at, unit, flag in connection.execute(union_all(*picked)).all():
        if flag == 1:
            complete[at] = True
        else:
            incomplete[at].append(unit)
    found: list[dict] = []
    for i, as_of in enumerate(dates):
        queries = [_complete_stocks(latest[i], scope, keys, columns)] if complete[i] else []
        if incomplete[i]:
            queries.append(_stock_query(as_of, _Scope(scope.province_code, incomplete[i], scope.fields), keys, columns))
        sums: dict = {}
        for query in queries:
            for row in connection.execute(query).all():
                values = row[width:]
                if all(v is None for v in values):
                    continue
                key = row[0] if width == 1 else tuple(row[:width])
                before = sums.get(key, (0,) * len(columns))
                sums[key] = tuple(int(a) + int(b or 0) for a, b in zip(before, values))
        found.append(sums)
    return found


def _periods_flows(connection: Connection, periods, scope: "_Scope", keys: Sequence[str] = ("unit_code",)) -> list[tuple]:
    """Flows and days with data per (period, *keys), every period in one query. Keys are the unit, or the
    unit and field; with at most one field filtered days add up: whole months from the monthly
    rollups, partial months from days."""
    by_field = scope.fields is not None or "field" in keys
    inner = ["unit_code", "field"] if by_field else ["unit_code"]
    parts = []
    for i, (start, end) in enumerate(periods):
        months, partial = _month_split(start, end)
        ranges = ([(rollup_unit_field_month if by_field else rollup_unit_month, "month", months)]
                  if months is not None else []) + [(facts if by_field else rollup_unit_day, "day", r) for r in partial]
        for table, column, (first, last) in ranges:
            if column == "month":
                days = func.sum(table.c.days)
            else:
                days = func.count(func.distinct(table.c.day)) if by_field else func.count()
            sums = [func.sum(table.c[c]).label(c) for c in MONTH_SUMS] + [days.label("days")]
            query = select(literal(i).label("period"), *[table.c[k] for k in inner], *sums).where(
                table.c[column].between(first, last))
            parts.append(scope.where(query, table).group_by(*[table.c[k] for k in inner]))
    if not parts:
        return []
    union = union_all(*parts).subquery("parts")
    sums = [func.sum(union.c[c]).label(c) for c in MONTH_SUMS] + [func.sum(union.c.days).label("days_with_data")]
    grouped = [union.c.period, *[union.c[k] for k in keys]]
    return connection.execute(select(*grouped, *sums).group_by(*grouped)).all()


def _small_reads(connection: Connection, scope: "_Scope") -> None:
    """On PostgreSQL, plan a scoped read without parallel workers: starting them costs more than the
    few index range scans (one per unit of a province) they would share."""
    if connection.dialect.name == "postgresql" and (scope.province_code is not None or scope.unit_codes is not None):
        connection.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")


def _indexed(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The frame indexed by its group keys (one row at index 0 when there are none)."""
    if keys:
        return frame.set_index(keys)
    return frame.iloc[:1].reset_index(drop=True)


def daily_totals(engine: Engine, start: dt.date, end: dt.date, *, province_code: str | None = None,
                 unit_codes: Sequence[str] | None = None, fields: Sequence[str] | None = None,
                 by_unit: bool = False) -> pd.DataFrame:
    """One row per day (and unit): the day's flows and its end-of-day stocks."""
    keys = ["day", "unit_code"] if by_unit else ["day"]
    with engine.connect() as connection:
        _small_reads(connection, _Scope(province_code, unit_codes, fields))
        if fields is not None:
            query = _daily_query(facts, start, end, keys, _Scope(province_code, unit_codes, fields))
        elif not by_unit and (levels := _province_levels(connection, province_code, unit_codes)) is not None:
            query = _daily_query(rollup_province_day, start, end, keys, None).where(
                rollup_province_day.c.province_code == province_code, rollup_province_day.c.level.in_(levels))
        elif by_unit:  # the rollup's rows are already one per (unit, day): no GROUP BY to pay for
            query = _unit_day_rows(start, end, _Scope(province_code, unit_codes, None))
        else:
            query = _daily_query(rollup_unit_day, start, end, keys, _Scope(province_code, unit_codes, None))
        result = connection.execute(query)
        return _tuples_frame(result.all(), list(result.keys()))


def _unit_day_rows(start, end, scope: "_Scope") -> Select:
    ud = rollup_unit_day
    query = select(ud.c.day, ud.c.unit_code, *[ud.c[c] for c in FLOW_COLUMNS + STOCK_COLUMNS + OPTIONAL_COLUMNS])
    return scope.where(query.where(ud.c.day.between(start, end)), ud).order_by(ud.c.day, ud.c.unit_code)


def _tuples_frame(rows: list, columns: list[str]) -> pd.DataFrame:
    """A frame of fetched rows, column by column (as pd.read_sql types them, days as dates), without its overhead."""
    values = list(zip(*rows)) if rows else [() for _ in columns]
    frame = {}
    for name, column in zip(columns, values):
        if name == "day":
            seen: dict = {}
            frame[name] = np.array([seen.setdefault(v, _as_date(v)) if v not in seen else seen[v] for v in column],
                                   dtype=object)
        elif name in ("unit_code", "field"):
            frame[name] = pd.array(column, dtype="str")
        elif None in column:
            frame[name] = np.array([np.nan if v is None else v for v in column], dtype="float64")
        else:
            frame[name] = np.array(column, dtype="int64")
    return pd.DataFrame(frame, columns=columns)


def last_collection(engine: Engine) -> dt.datetime | None:
    """When the newest successful or partial collection run finished."""
    query = select(func.max(collection_runs.c.finished_at)).where(collection_runs.c.status.in_(("ok", "partial")))
    with engine.connect() as connection:
        return connection.execute(query).scalar()


def unit_freshness(engine: Engine, province_code: str | None = None,
                   unit_codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Per unit: newest success over all sources, newest day collected, last error."""
    query = select(unit_status.c.unit_code, func.max(unit_status.c.last_success_at).label("last_success_at"),
                   func.max(unit_status.c.last_day_collected).label("last_day_collected"),
                   func.max(unit_status.c.last_error_at).label("last_error_at")).group_by(unit_status.c.unit_code)
    if province_code is not None:
        query = query.where(unit_status.c.unit_code.in_(select(units.c.code).where(units.c.province_code == province_code)))
    if unit_codes is not None:
        query = query.where(unit_status.c.unit_code.in_(list(unit_codes)))
    return _read(engine, query)


def data_extent(engine: Engine, province_code: str | None = None) -> tuple[dt.date | None, dt.date | None]:
    """First and last day with facts."""
    query = _filtered(select(func.min(facts.c.day), func.max(facts.c.day)), province_code, None, None)
    with engine.connect() as connection:
        first, last = connection.execute(query).one()
    return _as_date(first), _as_date(last)


@dataclass(frozen=True)
class _Scope:
    """Which facts a read covers: units of a province and/or listed units, and procedure fields."""

    province_code: str | None
    unit_codes: Sequence[str] | None
    fields: Sequence[str] | None

    def where(self, query: Select, table: Table) -> Select:
        if self.province_code is not None:
            query = query.where(table.c.unit_code.in_(
                select(units.c.code).where(units.c.province_code == self.province_code)))
        if self.unit_codes is not None:
            query = query.where(table.c.unit_code.in_(list(self.unit_codes)))
        if self.fields is not None and "field" in table.c:
            query = query.where(table.c.field.in_(list(self.fields)))
        return query


def _daily_query(table: Table, start, end, keys, scope: _Scope | None) -> Select:
    sums = [func.sum(table.c[c]).label(c) for c in FLOW_COLUMNS + STOCK_COLUMNS + OPTIONAL_COLUMNS]
    query = select(*[table.c[k] for k in keys], *sums).where(table.c.day.between(start, end))
    if scope is not None:
        query = scope.where(query, table)
    return query.group_by(*[table.c[k] for k in keys]).order_by(*[table.c[k] for k in keys])


def _province_levels(connection: Connection, province_code, unit_codes) -> list[str] | None:
    """The unit levels whose units are exactly the scope, when it is whole levels of one province."""
    if province_code is None:
        return None
    query = select(units.c.code, units.c.level).where(units.c.province_code == province_code)
    province = pd.DataFrame(connection.execute(query).all(), columns=["code", "level"])
    if unit_codes is None:
        return sorted(province["level"].unique())
    chosen = province[province["code"].isin(list(unit_codes))]
    levels = sorted(chosen["level"].unique())
    if chosen.empty or len(chosen) != province["level"].isin(levels).sum():
        return None
    return levels


def _month_split(start: dt.date, end: dt.date) -> tuple[tuple[dt.date, dt.date] | None, list[tuple[dt.date, dt.date]]]:
    """Split [start, end] into whole calendar months (first, last month start) and the partial day ranges."""
    first = start if start.day == 1 else _next_month(start)
    last = _next_month(end) if _next_month(end) - dt.timedelta(days=1) == end else end.replace(day=1)
    if first >= last:
        return None, [(start, end)] if start <= end else []
    partial = [(start, first - dt.timedelta(days=1))] if start < first else []
    if last <= end:
        partial.append((last, end))
    return (first, last - dt.timedelta(days=1)), partial


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _period_flows(connection: Connection, start, end, scope: _Scope, keys: list[str]) -> pd.DataFrame:
    """Flows and days with data per group: whole months from monthly rollups, the rest from days."""
    by_field = scope.fields is not None or "field" in keys
    day_keys = set(keys) | ({"field"} if scope.fields is not None and len(scope.fields) == 1 else set())
    summable_days = day_keys >= {"unit_code", "field"} if by_field else keys == ["unit_code"]
    inner_keys = ["unit_code", "field"] if by_field else ["unit_code"]
    months, partial = _month_split(start, end)
    parts = []
    if months is not None:
        table = rollup_unit_field_month if by_field else rollup_unit_month
        sums = [func.sum(table.c[c]).label(c) for c in MONTH_SUMS] + [func.sum(table.c.days).label("days")]
        parts.append(scope.where(select(*[table.c[k] for k in inner_keys], *sums)
                                 .where(table.c.month.between(*months)), table).group_by(*[table.c[k] for k in inner_keys]))
    for first, last in partial:  # one part per range: each is an index range scan per unit
        table = facts if by_field else rollup_unit_day
        days = func.count(func.distinct(table.c.day)) if by_field else func.count()
        sums = [func.sum(table.c[c]).label(c) for c in MONTH_SUMS] + [days.label("days")]
        parts.append(scope.where(select(*[table.c[k] for k in inner_keys], *sums).where(table.c.day.between(first, last)),
                                 table).group_by(*[table.c[k] for k in inner_keys]))
    if not parts:
        return pd.DataFrame(columns=keys + list(MONTH_SUMS) + ["days_with_data"])
    if len(parts) == 1 and keys == inner_keys:  # whole months only: the part is the answer
        return _read(connection, parts[0]).rename(columns={"days": "days_with_data"})
    union = union_all(*parts).subquery("parts")
    sums = [func.sum(union.c[c]).label(c) for c in MONTH_SUMS] + [func.sum(union.c.days).label("days_with_data")]
    query = select(*[union.c[k] for k in keys], *sums)
    query = query.group_by(*[union.c[k] for k in keys]) if keys else query.having(func.count() > 0)
    frame = _read(connection, query)
    if summable_days or frame.empty:
        return frame
    days = _distinct_days(connection, start, end, scope, keys, by_field)
    if not keys:
        return frame.assign(days_with_data=days["days_with_data"].iat[0])
    return frame.drop(columns="days_with_data").merge(days, on=keys, how="left")


def _distinct_days(connection: Connection, start, end, scope: _Scope, keys: list[str], by_field: bool) -> pd.DataFrame:
    """Distinct days with facts per group, when the days of several units or fields must be united.

    Whole months: the OR of the rows' day masks; partial ranges: COUNT(DISTINCT day) per range.
    """
    months, partial = _month_split(start, end)
    counts = []
    if months is not None:
        table = rollup_unit_field_month if by_field else rollup_unit_month
        query = scope.where(select(*[table.c[k] for k in keys], table.c.month, table.c.day_mask)
                            .where(table.c.month.between(*months)), table)
        masks = _read(connection, query)
        united = masks.groupby(keys + ["month"])["day_mask"].agg(np.bitwise_or.reduce).astype("int64")
        per_month = pd.Series(_popcount(united.to_numpy()), index=united.index)
        counts.append(per_month.groupby(level=keys).sum() if keys else pd.Series([per_month.sum()]))
    table = facts if by_field else rollup_unit_day
    if partial:  # the partial ranges are disjoint from each other and from the whole months
        ranges = union_all(*[scope.where(select(*[table.c[k] for k in keys], table.c.day)
                                         .where(table.c.day.between(a, b)), table) for a, b in partial]).subquery("ranges")
        query = select(*[ranges.c[k] for k in keys], func.count(func.distinct(ranges.c.day)).label("n"))
        frame = _read(connection, query.group_by(*[ranges.c[k] for k in keys]))
        counts.append(frame.set_index(keys)["n"] if keys else pd.Series([int(frame["n"].fillna(0).sum())]))
    if not keys:
        return pd.DataFrame({"days_with_data": [int(sum(c.sum() for c in counts))]})
    return pd.concat(counts).groupby(level=keys).sum().rename("days_with_data").reset_index()


def _popcount(masks: np.ndarray) -> np.ndarray:
    return sum((masks >> bit) & 1 for bit in range(31)) if len(masks) else np.zeros(0, dtype="int64")


def _stocks_as_of(connection: Connection, dates: Sequence[dt.date], scope: _Scope,
                  keys: list[str]) -> list[pd.DataFrame]:
    """Stocks as at the end of each date: the newest day <= it of each (unit, field, source) within the lookback.

    A unit whose newest rollup day Y in the lookback is complete has every such series on Y (see
    store.rollups), so its stocks are those of Y; the others are computed from the facts.
    """
    ud, columns = rollup_unit_day, list(STOCK_COLUMNS)
    fast = scope.fields is None and set(keys) <= {"unit_code"}  # the rollup day itself holds the stocks
    latest = [_latest_days(as_of, scope, f"latest_{i}") for i, as_of in enumerate(dates)]
    picked = [select(literal(i).label("at"), ud.c.unit_code, ud.c.complete, *([ud.c[c] for c in columns] if fast else []))
              .select_from(ud.join(newest, and_(ud.c.unit_code == newest.c.unit_code, ud.c.day == newest.c.day)))
              for i, newest in enumerate(latest)]
    states = _read(connection, union_all(*picked))  # one round trip for both period boundaries
    return [_stocks_at(connection, as_of, newest, states[states["at"] == i], scope, keys, fast)
            for i, (as_of, newest) in enumerate(zip(dates, latest))]


def _latest_days(as_of: dt.date, scope: _Scope, name: str):
    ud = rollup_unit_day
    latest = scope.where(select(ud.c.unit_code, func.max(ud.c.day).label("day"))
                         .where(ud.c.day.between(as_of - dt.timedelta(days=STOCK_LOOKBACK_DAYS), as_of)), ud)
    return latest.group_by(ud.c.unit_code).subquery(name)


def _stocks_at(connection, as_of, latest, states: pd.DataFrame, scope: _Scope, keys: list[str],
               fast: bool) -> pd.DataFrame:
    columns = list(STOCK_COLUMNS)
    parts = []
    if fast:
        parts.append(states.loc[states["complete"] == 1, ["unit_code"] + columns])
    elif (states["complete"] == 1).any():
        parts.append(_read(connection, _complete_stocks(latest, scope, keys, columns)))
    incomplete = states.loc[states["complete"] != 1, "unit_code"].tolist()
    if incomplete:
        narrowed = _Scope(scope.province_code, incomplete, scope.fields)
        parts.append(_read(connection, _stock_query(as_of, narrowed, keys, columns)))
    if len(parts) == 1 and keys == ["unit_code"] and fast:
        return parts[0]  # one row per complete unit already
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=keys + columns)
    frame = frame.dropna(how="all", subset=columns)
    if keys:
        return frame.groupby(keys, as_index=False, sort=True)[columns].sum()
    return frame[columns].sum().to_frame().T if len(frame) else pd.DataFrame(columns=columns)


def _complete_stocks(latest, scope: _Scope, keys: list[str], columns: list[str]) -> Select:
    """Stocks per group from the fact rows of each unit's newest day, for units whose day is complete."""
    ud = rollup_unit_day
    joined = facts.join(latest, and_(facts.c.unit_code == latest.c.unit_code, facts.c.day == latest.c.day)).join(
        ud, and_(ud.c.unit_code == latest.c.unit_code, ud.c.day == latest.c.day))
    query = select(*[facts.c[k] for k in keys], *[func.sum(facts.c[c]).label(c) for c in columns]).select_from(joined)
    query = query.where(ud.c.complete == 1)
    if scope.fields is not None:
        query = query.where(facts.c.field.in_(list(scope.fields)))
    return query.group_by(*[facts.c[k] for k in keys]) if keys else query


def _stock_query(as_of, scope: _Scope, keys, columns) -> Select:
    """Stocks on the newest day <= as_of of every (unit, field, source), within the lookback, from the facts."""
    window = facts.c.day.between(as_of - dt.timedelta(days=STOCK_LOOKBACK_DAYS), as_of)
    latest = scope.where(select(facts.c.unit_code, facts.c.field, facts.c.source, func.max(facts.c.day).label("day"))
                         .where(window), facts)
    latest = latest.group_by(facts.c.unit_code, facts.c.field, facts.c.source).subquery("latest")
    joined = facts.join(latest, and_(facts.c.unit_code == latest.c.unit_code, facts.c.field == latest.c.field,
                                     facts.c.source == latest.c.source, facts.c.day == latest.c.day))
    query = select(*[facts.c[k] for k in keys], *[func.sum(facts.c[c]).label(c) for c in columns]).select_from(joined)
    return query.group_by(*[facts.c[k] for k in keys]) if keys else query


def _filtered(query: Select, province_code, unit_codes, fields) -> Select:
    return _Scope(province_code, unit_codes, fields).where(query, facts)


def _check_grouping(group_by: Sequence[str]) -> list[str]:
    keys = list(group_by)
    unknown = set(keys) - set(GROUPINGS)
    if unknown:
        raise ValueError(f"Cannot group by {sorted(unknown)}; allowed: {GROUPINGS}")
    return keys


def _read(source: Engine | Connection, query: Select) -> pd.DataFrame:
    if isinstance(source, Connection):
        return pd.read_sql(query, source)
    with source.connect() as connection:
        return pd.read_sql(query, connection)


def _as_date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
