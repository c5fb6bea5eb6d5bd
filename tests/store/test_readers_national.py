"""National reads from the rollups equal the sum of the communes' period totals (SQLite and PostgreSQL)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from config.facts import PERIOD_COLUMNS
from geo.registry import communes
from store import readers, readers_national
from tests import national_sample

PERIODS = [  # whole month, partial months on both sides, a single day, a period before any data
    (dt.date(2025, 8, 1), dt.date(2025, 8, 31)),
    (dt.date(2025, 7, 25), dt.date(2025, 8, 10)),
    (dt.date(2025, 8, 26), dt.date(2025, 8, 26)),
    (dt.date(2025, 6, 1), dt.date(2025, 6, 30)),
]


@pytest.fixture
def national_store(engine):
    national_sample.write(engine)
    return engine


def _commune_sum(engine, province, start, end) -> pd.Series | None:
    codes = list(communes(province).code)
    totals = readers.period_totals(engine, start, end, province_code=province, unit_codes=codes, group_by=())
    return None if totals.empty else totals.iloc[0]


@pytest.mark.parametrize("start,end", PERIODS)
def test_province_rows_equal_the_sum_of_their_communes(national_store, start, end):
    frame = readers_national.province_totals(national_store, start, end).set_index("province_code")
    expected_provinces = [p for p in national_sample.UNITS if _commune_sum(national_store, p, start, end) is not None]
    assert sorted(frame.index) == sorted(expected_provinces)
    for province in expected_provinces:
        expected = _commune_sum(national_store, province, start, end)
        for column in [*PERIOD_COLUMNS, "days_with_data"]:
            got, want = frame.at[province, column], expected[column]
            assert (pd.isna(got) and pd.isna(want)) or got == want, (province, column, got, want)


@pytest.mark.parametrize("start,end", PERIODS[:3])
def test_the_nation_row_equals_all_communes_together(national_store, start, end):
    codes = [u for units in national_sample.UNITS.values() for u in units]
    expected = readers.period_totals(national_store, start, end, unit_codes=codes, group_by=()).iloc[0]
    row = readers_national.nation_totals(national_store, start, end).iloc[0]
    for column in [*PERIOD_COLUMNS, "days_with_data"]:
        assert (pd.isna(row[column]) and pd.isna(expected[column])) or row[column] == expected[column], column


def test_province_level_units_stay_out_of_commune_figures(national_store):
    start, end = PERIODS[0]
    communes_only = readers_national.province_totals(national_store, start, end).set_index("province_code")
    provincial = readers_national.province_totals(national_store, start, end, level="tinh")
    assert sorted(provincial["province_code"]) == list(national_sample.PROVINCE_UNITS)
    hanoi = readers.period_totals(national_store, start, end, unit_codes=["01"], group_by=()).iloc[0]
    assert provincial.set_index("province_code").at["01", "received_online"] == hanoi["received_online"]
    assert communes_only.at["01", "received_online"] == _commune_sum(national_store, "01", start, end)["received_online"]


def test_daily_series_of_the_nation_equals_the_communes_days(national_store):
    start, end = PERIODS[1]
    codes = [u for units in national_sample.UNITS.values() for u in units]
    expected = readers.daily_totals(national_store, start, end, unit_codes=codes).set_index("day")
    got = readers_national.province_daily(national_store, start, end).set_index("day")
    assert list(got.index) == list(expected.index)
    for column in ("received_online", "received_direct", "resolved_late", "pending_overdue"):
        assert got[column].astype("int64").tolist() == expected[column].astype("int64").tolist()


def test_a_province_filter_reads_only_those_provinces(national_store):
    start, end = PERIODS[0]
    frame = readers_national.province_totals(national_store, start, end, province_codes=["24"])
    assert frame["province_code"].tolist() == ["24"]
    assert readers_national.nation_totals(national_store, start, end, province_codes=["24"]).iloc[0]["received_online"] \
        == frame.iloc[0]["received_online"]
