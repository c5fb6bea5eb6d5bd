"""Rollups stay equal to the facts, and rollup-backed readers equal the raw-fact reference.

Seeded random facts with gaps (missing days per series), two sources (one without optional
columns) and values rewritten by later batches, on SQLite and PostgreSQL.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from config.facts import FACT_COLUMNS, FLOW_COLUMNS, OPTIONAL_COLUMNS, STOCK_COLUMNS
from geo import registry
from kpis.bieu06 import period_totals_from_facts
from store import readers, rollups, writers
from store.schema import dossier_facts

FIELDS = ("ho_tich", "chung_thuc", "dat_dai")
FIRST, LAST = dt.date(2025, 5, 20), dt.date(2025, 9, 10)
AT = dt.datetime(2025, 9, 11, 6, 0)


def random_facts(seed: int, codes: list[str]) -> pd.DataFrame:
    """Fact rows with random gaps; source 'b' covers half the units and never reports optional columns."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(FIRST, LAST).date
    rows = [(u, d, f, s) for u in codes for f in FIELDS for s in ("a", "b")
            if s == "a" or codes.index(u) % 2 == 0 for d in days]
    frame = pd.DataFrame(rows, columns=["unit_code", "day", "field", "source"])
    # Whole stretches missing as well as single days, so stocks must reach back into the lookback.
    stretch = ((pd.Series([d.toordinal() for d in frame["day"]]) // 9 + rng.integers(0, 3, len(frame))) % 5 == 0)
    frame = frame[(rng.random(len(frame)) > 0.2) & ~stretch.to_numpy()].reset_index(drop=True)
    for column in FLOW_COLUMNS + STOCK_COLUMNS:
        frame[column] = rng.integers(0, 9, len(frame))
    for column in OPTIONAL_COLUMNS:
        values = pd.Series(rng.integers(0, 5, len(frame)), dtype="Int64")
        frame[column] = values.mask((frame["source"] == "b") | (rng.random(len(frame)) < 0.1))
    return frame


@pytest.fixture
def seeded(engine):
    """A store with random facts written in overlapping batches (later values replace earlier ones)."""
    units = registry.units("75")
    codes = list(units.loc[units["level"] == "xa", "code"][:5]) + list(units.loc[units["level"] == "tinh", "code"])
    writers.upsert_units(engine, units[units["code"].isin(codes)])
    first, final = random_facts(1, codes), random_facts(2, codes)
    order = np.random.default_rng(3).permutation(len(first))
    for part in np.array_split(order, 4):
        writers.upsert_facts(engine, first.iloc[part], AT)
    for part in np.array_split(np.random.default_rng(4).permutation(len(final)), 3):
        writers.upsert_facts(engine, final.iloc[part], AT)
    stored = stored_facts(engine)
    return engine, stored, codes


def stored_facts(engine) -> pd.DataFrame:
    with engine.connect() as connection:
        frame = pd.read_sql(select(*[dossier_facts.c[c] for c in FACT_COLUMNS]), connection)
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame


def rollup_rows(engine) -> dict[str, pd.DataFrame]:
    tables = {}
    with engine.connect() as connection:
        for table in rollups.ROLLUP_TABLES:
            key = [c.name for c in table.primary_key.columns]
            tables[table.name] = pd.read_sql(select(table).order_by(*table.primary_key.columns), connection)
            tables[table.name] = tables[table.name].sort_values(key).reset_index(drop=True)
    return tables


def test_incremental_rollups_equal_a_full_recompute(seeded):
    engine, facts, _ = seeded
    maintained = rollup_rows(engine)
    rollups.recompute_rollups(engine)
    for name, frame in rollup_rows(engine).items():
        assert len(frame) > 0, name
        pd.testing.assert_frame_equal(maintained[name], frame, obj=name)


def test_unit_day_rollup_sums_the_facts(seeded):
    engine, facts, codes = seeded
    day = rollup_rows(engine)["rollup_unit_day"]
    row = day.iloc[len(day) // 2]
    ours = facts[(facts["unit_code"] == row["unit_code"]) & (facts["day"] == pd.Timestamp(row["day"]).date())]
    assert row["fact_rows"] == len(ours)
    assert row["received_online"] == ours["received_online"].sum()
    assert row["pending_overdue"] == ours["pending_overdue"].sum()
    # The gaps make some days incomplete: those are the ones read from facts for stocks.
    assert 0 < (day["complete"] == 0).sum() < len(day)


PERIODS = [(dt.date(2025, 7, 1), dt.date(2025, 7, 31)), (dt.date(2025, 6, 10), dt.date(2025, 8, 20)),
           (dt.date(2025, 5, 20), dt.date(2025, 9, 10)), (dt.date(2025, 8, 3), dt.date(2025, 8, 3)),
           (dt.date(2025, 9, 1), dt.date(2025, 9, 30)), (dt.date(2025, 4, 1), dt.date(2025, 5, 25)),
           (dt.date(2025, 10, 5), dt.date(2025, 10, 9))]
GROUPINGS = [("unit_code",), (), ("field",), ("unit_code", "field")]


@pytest.mark.parametrize("fields", [None, ("dat_dai",), ("ho_tich", "chung_thuc")])
def test_period_totals_equal_the_raw_fact_computation(seeded, fields):
    engine, facts, codes = seeded
    for start, end in PERIODS:
        for group_by in GROUPINGS:
            for scope in ({"province_code": "75"}, {"province_code": "75", "unit_codes": codes[:5]},
                          {"unit_codes": codes[1:3]}):
                chosen = facts[facts["unit_code"].isin(scope.get("unit_codes", codes))]
                if fields:
                    chosen = chosen[chosen["field"].isin(fields)]
                expected = period_totals_from_facts(chosen, start, end, group_by=group_by)
                got = readers.period_totals(engine, start, end, fields=fields, group_by=group_by, **scope)
                pd.testing.assert_frame_equal(got, expected, check_dtype=True,
                                              obj=f"{start}..{end} {group_by} {scope} {fields}")


def raw_daily(facts: pd.DataFrame, start, end, keys) -> pd.DataFrame:
    chosen = facts[(facts["day"] >= start) & (facts["day"] <= end)]
    columns = list(FLOW_COLUMNS + STOCK_COLUMNS + OPTIONAL_COLUMNS)
    frame = chosen.groupby(keys)[columns].sum(min_count=1).reset_index()
    return frame.sort_values(keys).reset_index(drop=True)


@pytest.mark.parametrize("by_unit", [False, True])
def test_daily_totals_equal_the_facts(seeded, by_unit):
    engine, facts, codes = seeded
    keys = ["day", "unit_code"] if by_unit else ["day"]
    start, end = dt.date(2025, 6, 25), dt.date(2025, 8, 5)
    for scope in ({"province_code": "75"}, {"province_code": "75", "unit_codes": codes[:5]},
                  {"province_code": "75", "unit_codes": codes[:2]}, {"unit_codes": codes[-2:]}):
        for fields in (None, ("dat_dai",)):
            chosen = facts[facts["unit_code"].isin(scope.get("unit_codes", codes))]
            chosen = chosen if fields is None else chosen[chosen["field"].isin(fields)]
            got = readers.daily_totals(engine, start, end, fields=fields, by_unit=by_unit, **scope)
            expected = raw_daily(chosen, start, end, keys)
            got[list(OPTIONAL_COLUMNS)] = got[list(OPTIONAL_COLUMNS)].astype("float64")
            expected[list(OPTIONAL_COLUMNS)] = expected[list(OPTIONAL_COLUMNS)].astype("float64")
            pd.testing.assert_frame_equal(got, expected, check_dtype=False, obj=f"{scope} {fields}")


def test_hand_computed_stocks_reach_back_over_a_missing_day(engine):
    """Field A reports on 1 and 3 July, field B only on 1 July: stocks as of 3 July = A@3 + B@1."""
    writers.upsert_units(engine, registry.units("75"))
    code = registry.communes("75")["code"].iloc[0]
    rows = pd.DataFrame([(code, dt.date(2025, 7, 1), "ho_tich", "a", 5), (code, dt.date(2025, 7, 1), "dat_dai", "a", 7),
                         (code, dt.date(2025, 7, 3), "ho_tich", "a", 2)],
                        columns=["unit_code", "day", "field", "source", "pending_on_time"])
    for column in FACT_COLUMNS[4:]:
        rows[column] = rows.get(column, 0)
    rows["received_online"] = [1, 2, 3]
    writers.upsert_facts(engine, rows, AT)
    totals = readers.period_totals(engine, dt.date(2025, 7, 2), dt.date(2025, 7, 3), unit_codes=[code])
    assert totals.loc[0, "pending_on_time"] == 2 + 7
    assert totals.loc[0, "carried_over"] == 5 + 7
    assert totals.loc[0, "received_online"] == 3
    assert totals.loc[0, "days_with_data"] == 1
    # 33 days later the 1 July row of dat_dai is out of the lookback; ho_tich@3 is still in it.
    late = readers.period_totals(engine, dt.date(2025, 8, 3), dt.date(2025, 8, 3), unit_codes=[code])
    assert late.loc[0, "pending_on_time"] == 2
    assert late.loc[0, "days_with_data"] == 0


def test_upgrading_a_store_with_facts_rolls_them_up(seeded):
    from alembic import command

    from store.db import alembic_config, migrate

    engine, _, _ = seeded
    before = rollup_rows(engine)
    command.downgrade(alembic_config(engine), "rollups@-1")  # drop the rollup tables only
    migrate(engine)
    for name, frame in rollup_rows(engine).items():
        pd.testing.assert_frame_equal(before[name], frame, obj=name)


def test_day_by_day_collection_keeps_rollups_equal_to_a_recompute(engine):
    """Daily cycles (each touching only the newest day) take the short path from the newest complete day."""
    units = registry.units("75")
    codes = list(units.loc[units["level"] == "xa", "code"][:4])
    writers.upsert_units(engine, units[units["code"].isin(codes)])
    facts = random_facts(6, codes)
    facts = facts[facts["day"] <= FIRST + dt.timedelta(days=45)]
    for day in sorted(facts["day"].unique()):
        writers.upsert_facts(engine, facts[facts["day"] == day], AT)
    maintained = rollup_rows(engine)
    assert 0 < (maintained["rollup_unit_day"]["complete"] == 0).sum()
    rollups.recompute_rollups(engine)
    for name, frame in rollup_rows(engine).items():
        pd.testing.assert_frame_equal(maintained[name], frame, obj=name)


def test_batches_of_new_days_in_any_order_keep_rollups_equal_to_a_recompute(engine):
    """Batches whose (unit, day) keys are all new take the path that sums the batch itself, also when the
    months they fall in already have rows (every third day first, then the days between); a last batch
    rewriting part of them with other values takes the re-aggregating path."""
    units = registry.units("75")
    codes = list(units.loc[units["level"] == "xa", "code"][:4])
    writers.upsert_units(engine, units[units["code"].isin(codes)])
    facts = random_facts(7, codes)
    ordinal = np.array([d.toordinal() for d in facts["day"]])
    for remainder in (2, 0, 1):
        writers.upsert_facts(engine, facts[ordinal % 3 == remainder], AT)
    writers.upsert_facts(engine, random_facts(8, codes).sample(frac=0.3, random_state=1), AT)
    maintained = rollup_rows(engine)
    rollups.recompute_rollups(engine)
    for name, frame in rollup_rows(engine).items():
        pd.testing.assert_frame_equal(maintained[name], frame, obj=name)


def staged(engine, facts: pd.DataFrame) -> str:
    """What rollups.stage finds about a batch (rolled back)."""
    with engine.connect() as connection:
        with connection.begin() as transaction:
            found = rollups.stage(connection, writers._prepared(facts))
            transaction.rollback()
    return found


def test_isolated_batches_decide_rollups_from_the_batch_alone(engine):
    """A batch whose units have no other facts within the lookback (a backfill of other units, a bulk load)
    computes `complete` and all sums from the batch: gaps of every length, series ending early, units
    whose other facts lie just beyond the lookback, and a batch next to stored days (not isolated)."""
    units = registry.units("75")
    codes = list(units.loc[units["level"] == "xa", "code"][:6])
    writers.upsert_units(engine, units[units["code"].isin(codes)])
    facts = random_facts(9, codes)
    late = facts["day"] > LAST - dt.timedelta(days=20)
    far = facts["day"] < FIRST + dt.timedelta(days=10)
    early = facts[far & facts["unit_code"].isin(codes[:3])]
    middle = facts[~far & ~late & (facts["day"] > FIRST + dt.timedelta(days=42))]
    assert staged(engine, early) == rollups.ISOLATED
    writers.upsert_facts(engine, early, AT)
    assert staged(engine, middle) == rollups.ISOLATED  # 33+ days after the early units' last day
    writers.upsert_facts(engine, middle, AT)
    assert staged(engine, facts[late]) == rollups.FRESH
    writers.upsert_facts(engine, facts[late], AT)
    assert staged(engine, facts[late]) == rollups.STORED
    maintained = rollup_rows(engine)
    assert 0 < (maintained["rollup_unit_day"]["complete"] == 0).sum()
    rollups.recompute_rollups(engine)
    for name, frame in rollup_rows(engine).items():
        pd.testing.assert_frame_equal(maintained[name], frame, obj=name)


@pytest.mark.parametrize("existing", [False, True], ids=["new key", "existing key"])
def test_a_key_repeated_in_one_batch_keeps_its_last_row(engine, existing):
    writers.upsert_units(engine, registry.units("75"))
    code = registry.communes("75")["code"].iloc[0]
    rows = pd.DataFrame([(code, dt.date(2025, 7, 1), "ho_tich", "a", value) for value in (5, 9)],
                        columns=["unit_code", "day", "field", "source", "received_online"])
    for column in FACT_COLUMNS[5:]:
        rows[column] = 0
    if existing:
        writers.upsert_facts(engine, rows.iloc[[0]], AT)
    assert writers.upsert_facts(engine, rows, AT) == 1
    assert stored_facts(engine)["received_online"].tolist() == [9]
    unit_day = rollup_rows(engine)["rollup_unit_day"]
    assert unit_day[["fact_rows", "received_online"]].values.tolist() == [[1, 9]]
