"""store.readers.period_totals must equal the pure reference kpis.bieu06.period_totals_from_facts, on both backends."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from config.facts import FLOW_COLUMNS, OPTIONAL_COLUMNS, PERIOD_COLUMNS, STOCK_COLUMNS
from kpis.bieu06 import period_totals_from_facts
from store.readers import period_totals
from store.writers import upsert_facts

COLLECTED_AT = dt.datetime(2025, 4, 1, 6, 0)
FIRST_DAY = dt.date(2025, 1, 1)
LAST_DAY = dt.date(2025, 3, 31)
RANGES = {
    "mid_month": (dt.date(2025, 2, 15), dt.date(2025, 3, 10)),
    "single_day": (dt.date(2025, 3, 1), dt.date(2025, 3, 1)),
    "whole": (FIRST_DAY, LAST_DAY),
    "first_day": (FIRST_DAY, dt.date(2025, 1, 20)),
    "stocks_only_after_data": (dt.date(2025, 4, 5), dt.date(2025, 4, 20)),
}
EMPTY_RANGES = {
    "before_any_data": (dt.date(2024, 6, 1), dt.date(2024, 6, 30)),
    "beyond_lookback": (dt.date(2025, 5, 15), dt.date(2025, 5, 20)),
}
GROUPINGS = [("unit_code",), ("field",), ("unit_code", "field"), ()]


def random_facts(seed: int = 20250701) -> pd.DataFrame:
    """Seeded fact rows with gaps, per-source differences and partly unreported optional columns."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(FIRST_DAY, LAST_DAY).date
    rows = []
    for unit in ("26734", "26737", "26740", "26743"):
        # The last unit stops reporting in January: later ranges must not invent data for it.
        unit_days = days[:31] if unit == "26743" else days
        for field in ("ho_tich", "chung_thuc", "dat_dai"):
            for source in ("sim", "csv"):
                for day in unit_days:
                    if rng.random() < 0.4:
                        continue
                    counts = {c: int(rng.integers(0, 20)) for c in FLOW_COLUMNS + STOCK_COLUMNS}
                    optional = {c: (None if rng.random() < 0.5 or source == "csv" else int(rng.integers(0, 10)))
                                for c in OPTIONAL_COLUMNS}
                    rows.append({"unit_code": unit, "day": day, "field": field, "source": source, **counts, **optional})
    frame = pd.DataFrame(rows)
    # Nullable integers: a float64 column (ints + None) is written as "7.0", which PostgreSQL COPY rejects.
    frame[list(OPTIONAL_COLUMNS)] = frame[list(OPTIONAL_COLUMNS)].astype("Int64")
    return frame


@pytest.fixture(scope="module")
def facts() -> pd.DataFrame:
    return random_facts()


def comparable(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Align dtypes and order; days_with_data of a stock-only group reads as 0 (the reader leaves it NULL)."""
    frame = frame[keys + list(PERIOD_COLUMNS) + ["days_with_data"]].copy()
    frame["days_with_data"] = frame["days_with_data"].fillna(0)
    for column in keys:
        frame[column] = frame[column].astype(str)
    numbers = [c for c in frame.columns if c not in keys]
    frame[numbers] = frame[numbers].astype("float64")
    return frame.sort_values(keys).reset_index(drop=True) if keys else frame.reset_index(drop=True)


@pytest.mark.parametrize("group_by", GROUPINGS, ids=lambda g: "+".join(g) or "none")
def test_reader_equals_pure_reference(engine, facts, group_by):
    upsert_facts(engine, facts, COLLECTED_AT)
    keys = list(group_by)
    for name, (start, end) in RANGES.items():
        expected = period_totals_from_facts(facts, start, end, group_by=group_by)
        actual = period_totals(engine, start, end, group_by=group_by)
        assert not expected.empty, name
        pd.testing.assert_frame_equal(comparable(actual, keys), comparable(expected, keys), obj=name)
    for name, (start, end) in EMPTY_RANGES.items():
        assert period_totals_from_facts(facts, start, end, group_by=group_by).empty, name
        assert period_totals(engine, start, end, group_by=group_by).empty, name


def test_reference_covers_the_interesting_cases(facts):
    """Guard the fixture itself: a stopped unit, stock-only groups and carried-over stocks all occur."""
    mid = period_totals_from_facts(facts, *RANGES["mid_month"])
    assert "26743" not in set(mid["unit_code"])
    assert (mid["carried_over"] > 0).all()
    after = period_totals_from_facts(facts, *RANGES["stocks_only_after_data"])
    assert (after[list(FLOW_COLUMNS)] == 0).all().all()
    assert (after["days_with_data"] == 0).all()
    assert (after["pending_on_time"] > 0).all()
