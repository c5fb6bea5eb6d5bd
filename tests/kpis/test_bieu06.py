"""Biểu 06 layout, identities and period totals from literal fact rows (hand-computed answers)."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from config.facts import PERIOD_COLUMNS
from kpis.bieu06 import BIEU06_COLUMNS, bieu06_row, bieu06_table, period_totals_from_facts

FLOWS = ("received_online", "received_direct", "resolved_early", "resolved_on_time", "resolved_late")
STOCKS = ("pending_on_time", "pending_overdue", "nearly_due")


def fact(unit, day, flows=(0, 0, 0, 0, 0), stocks=(0, 0, 0), field="ho_tich", source="sim", **optional):
    """One literal fact row: flows (online, direct, early, on time, late) and stocks (on time, overdue, nearly due)."""
    return {"unit_code": unit, "day": dt.date.fromisoformat(day), "field": field, "source": source,
            **dict(zip(FLOWS, flows)), **dict(zip(STOCKS, stocks)), **optional}


# Unit A (sim) keeps consistent stocks: end of day = end of previous day + received - resolved.
# Unit A (csv) reports a constant stock once; unit B reported only long ago; unit C only stocks.
FACTS = pd.DataFrame([
    fact("A", "2025-03-13", (2, 1, 1, 0, 0), (3, 1, 1)),
    fact("A", "2025-03-14", (1, 1, 0, 1, 1), (4, 0, 0)),
    fact("A", "2025-03-15", (3, 2, 2, 1, 0), (5, 1, 2), fully_online=2),
    fact("A", "2025-03-16", (0, 1, 0, 0, 1), (4, 2, 1), fully_online=None),
    fact("A", "2025-03-10", stocks=(2, 0, 0), source="csv"),
    fact("B", "2025-01-01", (9, 9, 9, 9, 9), (9, 9, 9)),
    fact("C", "2025-03-01", stocks=(1, 1, 0), field="dat_dai"),
])


def test_columns_are_numbered_1_to_13_with_vietnamese_headers():
    assert [c.number for c in BIEU06_COLUMNS] == list(range(1, 14))
    assert BIEU06_COLUMNS[2].group_vi == "Số hồ sơ nhận giải quyết"
    assert [c.label_vi for c in BIEU06_COLUMNS[6:10]] == ["Tổng số", "Trước hạn", "Đúng hạn", "Quá hạn"]
    assert BIEU06_COLUMNS[11].label_vi == "Trong hạn"
    sources = {c.source for c in BIEU06_COLUMNS if c.source}
    assert sources <= set(PERIOD_COLUMNS)


def test_row_maps_period_totals_to_columns_3_to_13():
    totals = {"carried_over": 6, "received_online": 3, "received_direct": 3, "resolved_early": 2,
              "resolved_on_time": 1, "resolved_late": 1, "pending_on_time": 6, "pending_overdue": 2}
    assert bieu06_row(totals) == {3: 12, 4: 3, 5: 3, 6: 6, 7: 4, 8: 2, 9: 1, 10: 1, 11: 8, 12: 6, 13: 2}


def test_row_rejects_missing_data_instead_of_writing_zero():
    with pytest.raises(ValueError, match="carried_over"):
        bieu06_row({"received_online": 1})
    row = pd.Series({**{c: 0 for c in PERIOD_COLUMNS}, "resolved_late": np.nan})
    with pytest.raises(ValueError, match="no value for 'resolved_late'"):
        bieu06_row(row)


def test_mid_month_range_carries_over_the_stock_at_end_of_previous_day():
    totals = period_totals_from_facts(FACTS, dt.date(2025, 3, 15), dt.date(2025, 3, 16))
    assert list(totals["unit_code"]) == ["A", "C"]   # B's last report is older than the lookback
    a = totals.iloc[0]
    # flows of 15 + 16 only; stocks of 16 (sim) + 10 (csv); carried = stocks of 14 (sim) + 10 (csv)
    assert (a["received_online"], a["received_direct"]) == (3, 3)
    assert (a["resolved_early"], a["resolved_on_time"], a["resolved_late"]) == (2, 1, 1)
    assert (a["pending_on_time"], a["pending_overdue"], a["nearly_due"]) == (4 + 2, 2, 1)
    assert a["carried_over"] == 4 + 2
    assert a["days_with_data"] == 2
    assert a["fully_online"] == 2 and np.isnan(a["paid_online"])
    c = totals.iloc[1]
    assert (c["received_online"], c["pending_on_time"], c["pending_overdue"], c["carried_over"]) == (0, 1, 1, 2)
    assert c["days_with_data"] == 0


def test_consistent_stocks_satisfy_col3_equals_col7_plus_col11():
    totals = period_totals_from_facts(FACTS, dt.date(2025, 3, 14), dt.date(2025, 3, 16))
    row = bieu06_row(totals.iloc[0])
    # online 1+3+0, direct 1+2+1, carried 4 (sim, end of 13th) + 2 (csv)
    assert (row[3], row[4], row[5], row[6]) == (14, 4, 4, 6)
    assert (row[7], row[11]) == (6, 8)
    assert row[3] == row[7] + row[11]


def test_single_day_and_range_before_any_data():
    one_day = period_totals_from_facts(FACTS, dt.date(2025, 3, 13), dt.date(2025, 3, 13))
    a = one_day.set_index("unit_code").loc["A"]
    assert (a["received_online"], a["carried_over"], a["pending_on_time"]) == (2, 2, 3 + 2)
    before = period_totals_from_facts(FACTS, dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    assert before.empty
    assert list(before.columns) == ["unit_code", *PERIOD_COLUMNS, "days_with_data"]


def test_grouping_by_field_and_by_nothing():
    by_field = period_totals_from_facts(FACTS, dt.date(2025, 3, 15), dt.date(2025, 3, 16), group_by=("field",))
    assert list(by_field["field"]) == ["dat_dai", "ho_tich"]
    whole = period_totals_from_facts(FACTS, dt.date(2025, 3, 15), dt.date(2025, 3, 16), group_by=())
    assert len(whole) == 1 and list(whole.columns[:1]) == ["carried_over"]
    assert whole.loc[0, "carried_over"] == 6 + 2
    assert whole.loc[0, "pending_overdue"] == 2 + 1


def test_bad_input_is_rejected_with_a_clear_message():
    with pytest.raises(ValueError, match="Cannot group by \\['source'\\]"):
        period_totals_from_facts(FACTS, dt.date(2025, 3, 1), dt.date(2025, 3, 2), group_by=("source",))
    with pytest.raises(ValueError, match="after its end"):
        period_totals_from_facts(FACTS, dt.date(2025, 3, 2), dt.date(2025, 3, 1))
    with pytest.raises(ValueError, match="lack columns \\['pending_overdue'\\]"):
        period_totals_from_facts(FACTS.drop(columns="pending_overdue"), dt.date(2025, 3, 1), dt.date(2025, 3, 2))


def test_table_numbers_rows_and_appends_a_total_row():
    totals = pd.DataFrame([
        {"field": "Hộ tịch", "carried_over": 1, "received_online": 2, "received_direct": 3, "resolved_early": 1,
         "resolved_on_time": 2, "resolved_late": 0, "pending_on_time": 3, "pending_overdue": 0},
        {"field": "Đất đai", "carried_over": 0, "received_online": 1, "received_direct": 0, "resolved_early": 0,
         "resolved_on_time": 0, "resolved_late": 1, "pending_on_time": 0, "pending_overdue": 0},
    ])
    table = bieu06_table(totals, "field")
    assert list(table.columns) == list(range(1, 14))
    assert table[1].tolist()[:2] == [1, 2] and pd.isna(table[1].iloc[2])
    assert table[2].tolist() == ["Hộ tịch", "Đất đai", "Tổng cộng"]
    assert table.iloc[0, 2:].tolist() == [6, 2, 3, 1, 3, 1, 2, 0, 3, 3, 0]
    assert table.iloc[2, 2:].tolist() == [7, 3, 3, 1, 4, 1, 2, 1, 3, 3, 0]
    with pytest.raises(ValueError, match="label column 'unit'"):
        bieu06_table(totals, "unit")
