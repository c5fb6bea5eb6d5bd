"""unit_periods_totals (several periods in one read) equals period_totals period by period."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from kpis.bieu06 import period_totals_from_facts
from store import readers
from tests.store.test_rollups import PERIODS, seeded  # noqa: F401 - the fixture

HISTORY = [(dt.date(2025, m, 1), dt.date(2025, m + 1, 1) - dt.timedelta(days=1)) for m in range(4, 9)] + [
    (dt.date(2025, 9, 1), dt.date(2025, 9, 7))]


@pytest.mark.parametrize("fields", [None, ("dat_dai",), ("ho_tich", "chung_thuc")])
def test_unit_periods_totals_equal_period_totals_of_each_period(seeded, fields):  # noqa: F811
    engine, _facts, codes = seeded
    for periods in (PERIODS, HISTORY, [PERIODS[1], PERIODS[0]], [PERIODS[3]], []):
        for scope in ({"province_code": "75"}, {"province_code": "75", "unit_codes": codes[:3]},
                      {"unit_codes": codes[1:3]}):
            got = readers.unit_periods_totals(engine, periods, fields=fields, **scope)
            assert list(got.columns) == ["period", "unit_code", *readers.PERIOD_COLUMNS, "days_with_data"]
            for i, (start, end) in enumerate(periods):
                expected = readers.period_totals(engine, start, end, fields=fields, **scope)
                mine = got[got["period"] == i].drop(columns="period").reset_index(drop=True)
                if expected.empty:  # no data in the period (the empty frame's text dtype may differ)
                    assert mine.empty
                    continue
                pd.testing.assert_frame_equal(mine, expected, check_dtype=True,
                                              obj=f"{start}..{end} {scope} {fields}")
            assert set(got["period"]) <= set(range(len(periods)))


@pytest.mark.parametrize("fields", [None, ("dat_dai",)])
def test_one_units_fields_equal_the_raw_fact_computation(seeded, fields):  # noqa: F811
    engine, facts, codes = seeded
    for code in (codes[0], codes[-1]):
        for start, end in PERIODS:
            for group_by in (("field",), ("unit_code", "field"), ("unit_code",)):
                chosen = facts[(facts["unit_code"] == code) & (facts["field"].isin(fields) if fields else True)]
                expected = period_totals_from_facts(chosen, start, end, group_by=group_by)
                got = readers.period_totals(engine, start, end, unit_codes=[code], fields=fields, group_by=group_by)
                pd.testing.assert_frame_equal(got, expected, check_dtype=True, obj=f"{code} {start}..{end} {group_by}")
