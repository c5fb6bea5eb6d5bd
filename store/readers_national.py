"""National reads: one row per province (or one for the nation) from the rollups, never from the facts' grain.

Flows and days with data come from rollup_province_day (province x level x day, maintained with the
facts); end and opening stocks come from each unit's rollup_unit_day "as of" a date, with exactly the
rule of store.readers.period_totals, so a province's row here equals the sum of its units' rows there
(tests/store/test_readers_national.py checks it on SQLite and PostgreSQL).
"""
from __future__ import annotations

import datetime as dt
from typing import Sequence

import pandas as pd
from sqlalchemy import Engine, func, select

from config.facts import FLOW_COLUMNS, OPTIONAL_COLUMNS, PERIOD_COLUMNS, STOCK_COLUMNS
from store import readers
from store.rollups import MONTH_SUMS, rollup_province_day as rpd
from store.schema import units

NATION = "VN"   # the code of the nation's row (no province has it)


def province_totals(engine: Engine, start: dt.date, end: dt.date, *, level: str = "xa",
                    province_codes: Sequence[str] | None = None) -> pd.DataFrame:
    """PERIOD_COLUMNS + days_with_data per province over [start, end] for the units of one level.

    Provinces without any fact row in the period or stocks in the lookback are absent ("no data").
    """
    with engine.connect() as connection:
        flows = pd.read_sql(_flows_query(start, end, level, province_codes, by_province=True), connection)
        stocks = _stocks(connection, start, end, level, province_codes)
    frame = flows.merge(stocks, on="province_code", how="outer")
    return _typed(frame, ["province_code"]).sort_values("province_code", ignore_index=True)


def nation_totals(engine: Engine, start: dt.date, end: dt.date, *, level: str = "xa",
                  province_codes: Sequence[str] | None = None) -> pd.DataFrame:
    """One row: the provinces' rows summed; days_with_data = days on which any of their units had data."""
    provinces = province_totals(engine, start, end, level=level, province_codes=province_codes)
    if provinces.empty:
        return provinces.drop(columns="province_code")
    with engine.connect() as connection:
        days = pd.read_sql(_flows_query(start, end, level, province_codes, by_province=False), connection)
    row = provinces.drop(columns="province_code").sum(min_count=1).to_frame().T
    row["days_with_data"] = int(days["days_with_data"].fillna(0).iat[0])
    return _typed(row, [])


def province_daily(engine: Engine, start: dt.date, end: dt.date, *, level: str = "xa",
                   province_codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Per day, summed over the provinces: flows and end-of-day stocks (as store.readers.daily_totals)."""
    sums = [func.sum(rpd.c[c]).label(c) for c in FLOW_COLUMNS + STOCK_COLUMNS + OPTIONAL_COLUMNS]
    query = select(rpd.c.day, *sums).where(rpd.c.day.between(start, end), rpd.c.level == level)
    if province_codes is not None:
        query = query.where(rpd.c.province_code.in_(list(province_codes)))
    with engine.connect() as connection:
        frame = pd.read_sql(query.group_by(rpd.c.day).order_by(rpd.c.day), connection)
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame


def _flows_query(start, end, level, province_codes, by_province: bool):
    sums = [func.sum(rpd.c[c]).label(c) for c in MONTH_SUMS]
    # One row per (province, level, day) exists only for days with facts: counting rows counts days.
    days = func.count(func.distinct(rpd.c.day)).label("days_with_data")
    keys = [rpd.c.province_code] if by_province else []
    query = select(*keys, *sums, days).where(rpd.c.day.between(start, end), rpd.c.level == level)
    if province_codes is not None:
        query = query.where(rpd.c.province_code.in_(list(province_codes)))
    return query.group_by(*keys) if keys else query


def _stocks(connection, start, end, level, province_codes) -> pd.DataFrame:
    """End stocks and carried_over per province, from each unit's stocks as store.readers computes them."""
    # The whole store, or the listed provinces' units; other levels drop out at the merge below.
    chosen = None if province_codes is None else _level_units(connection, level, province_codes)
    scope = readers._Scope(None, chosen, None)  # noqa: SLF001 - the very rule of period_totals
    closing, opening = readers._stocks_as_of(connection, [end, start - dt.timedelta(days=1)], scope,  # noqa: SLF001
                                             ["unit_code"])
    provinces = pd.read_sql(select(units.c.code.label("unit_code"), units.c.province_code)
                            .where(units.c.level == level), connection)
    closing = closing.merge(provinces, on="unit_code").groupby("province_code")[list(STOCK_COLUMNS)].sum()
    opening = opening.merge(provinces, on="unit_code").groupby("province_code")[list(STOCK_COLUMNS)].sum()
    carried = (opening["pending_on_time"] + opening["pending_overdue"]).rename("carried_over")
    frame = closing.join(carried, how="outer")
    return frame.rename_axis("province_code").reset_index()


def _level_units(connection, level, province_codes) -> list[str]:
    query = select(units.c.code).where(units.c.level == level)
    if province_codes is not None:
        query = query.where(units.c.province_code.in_(list(province_codes)))
    return list(connection.execute(query).scalars())


def _typed(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    counts = list(FLOW_COLUMNS) + list(STOCK_COLUMNS) + ["carried_over", "days_with_data"]
    for column in counts + list(OPTIONAL_COLUMNS):
        if column not in frame:
            frame[column] = pd.NA
    frame = frame.fillna({c: 0 for c in counts}).astype(
        {**{c: "int64" for c in counts}, **{c: "float64" for c in OPTIONAL_COLUMNS}})
    return frame[keys + list(PERIOD_COLUMNS) + ["days_with_data"]].reset_index(drop=True)
