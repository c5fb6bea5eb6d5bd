"""Alert rules on tiny literal frames with hand-computed answers."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from kpis import alerts

D1, D2, D3, D4 = (dt.date(2025, 8, d) for d in (1, 2, 3, 4))
NOW = dt.datetime(2025, 8, 27, 10, 0)


def day_row(unit, day, early, on_time, late):
    """One unit-day with only the resolved columns filled: Biểu 06 rate = (early + on_time) / resolved."""
    return dict(day=day, unit_code=unit, received_online=0, received_direct=0, resolved_early=early,
                resolved_on_time=on_time, resolved_late=late, pending_on_time=0, pending_overdue=0, nearly_due=0)


def test_stock_alerts_list_units_with_a_positive_stock_largest_first_ties_by_code():
    totals = pd.DataFrame({"unit_code": ["A", "B", "C", "D"], "pending_overdue": [5, 0, 7, 5],
                           "nearly_due": [0, 2, 0, 0]})
    overdue = alerts.stock_alerts(totals, "pending_overdue")
    assert overdue.to_dict("list") == {"unit_code": ["C", "A", "D"], "count": [7, 5, 5]}
    assert alerts.stock_alerts(totals, "nearly_due").to_dict("list") == {"unit_code": ["B"], "count": [2]}


def test_stock_alerts_reject_unknown_columns_clearly():
    with pytest.raises(ValueError, match="expected one of pending_overdue, nearly_due"):
        alerts.stock_alerts(pd.DataFrame({"unit_code": []}), "received")
    with pytest.raises(ValueError, match=r"lacks columns \['nearly_due'\]"):
        alerts.stock_alerts(pd.DataFrame({"unit_code": ["A"]}), "nearly_due")


def _daily():
    rows = [
        # X: 1/2=0.5, 4/5=0.8, 17/20=0.85, 7/10=0.7 -> below 0.9 on all four days
        day_row("X", D1, 1, 0, 1), day_row("X", D2, 2, 2, 1), day_row("X", D3, 10, 7, 3), day_row("X", D4, 7, 0, 3),
        # Y: 0.5, 1.0, 0.8, 0.8 -> the run is D3..D4
        day_row("Y", D1, 1, 0, 1), day_row("Y", D2, 3, 0, 0), day_row("Y", D3, 4, 0, 1), day_row("Y", D4, 0, 4, 1),
        # Z: 0.5 on D3, no row on D4 -> no run on D4
        day_row("Z", D3, 1, 0, 1),
        # W: 0.5, nothing resolved on D3 (no rate), 0.5 -> a run of one day
        day_row("W", D2, 1, 0, 1), day_row("W", D3, 0, 0, 0), day_row("W", D4, 1, 0, 1),
    ]
    return pd.DataFrame(rows)


def test_below_threshold_counts_the_run_of_days_ending_on_the_newest_day():
    result = alerts.below_threshold(_daily(), "on_time_bieu06", 0.9, 2)
    assert list(result["unit_code"]) == ["X", "Y"]
    assert list(result["streak_days"]) == [4, 2]
    assert list(result["since"]) == [D1, D3]
    assert list(result["latest"]) == pytest.approx([0.7, 0.8])


def test_below_threshold_as_of_an_earlier_day_and_a_longer_requirement():
    as_of_d3 = alerts.below_threshold(_daily(), "on_time_bieu06", 0.9, 2, as_of=D3)
    assert as_of_d3[["unit_code", "streak_days"]].values.tolist() == [["X", 3]]
    assert alerts.below_threshold(_daily(), "on_time_bieu06", 0.9, 5).empty
    # At 0.75 only X's 0.5 (D1) and 0.7 (D4) are below: D4 alone is a run of one.
    assert list(alerts.below_threshold(_daily(), "on_time_bieu06", 0.75, 1)["unit_code"]) == ["W", "X"]


def test_below_threshold_needs_a_rate_and_handles_no_data():
    with pytest.raises(ValueError, match="use a rate"):
        alerts.below_threshold(_daily(), "received", 0.9, 2)
    with pytest.raises(ValueError, match="1 or more"):
        alerts.below_threshold(_daily(), "on_time_766", 0.9, 0)
    empty = alerts.below_threshold(_daily().iloc[0:0], "on_time_766", 0.9, 2)
    assert empty.empty and list(empty.columns) == ["unit_code", "streak_days", "since", "latest"]


def test_daily_766_rate_uses_the_days_end_stocks():
    row = day_row("X", D1, 3, 2, 1) | dict(pending_on_time=3, pending_overdue=1)
    rates = alerts.daily_rates(pd.DataFrame([row]), "on_time_766")
    assert rates["value"].tolist() == pytest.approx([8 / 10])  # (3 + 2 + 3) / (6 + 4)


def test_stale_units_are_those_older_than_the_limit_or_never_collected():
    freshness = pd.DataFrame({
        "unit_code": ["U1", "U2", "U3", "U4"],
        "last_success_at": [NOW - dt.timedelta(hours=1), NOW - dt.timedelta(hours=4), None,
                            NOW - dt.timedelta(hours=3)],
        "last_day_collected": [D4] * 4, "last_error_at": [None] * 4})
    stale = alerts.stale_units(freshness, NOW, 3 * 3600)
    assert list(stale["unit_code"]) == ["U3", "U2"]       # never first, then the oldest; exactly 3 h is not stale
    assert np.isnan(stale["age_s"][0]) and stale["age_s"][1] == 4 * 3600
    assert pd.isna(stale["last_success_at"][0])


def test_systems_down_are_red_then_amber():
    status = pd.DataFrame({"system": ["a", "d", "b", "c"], "state": ["green", "red", "amber", "red"],
                           "name": ["A", "D", "B", "C"]})
    down = alerts.systems_down(status)
    assert down[["system", "state"]].values.tolist() == [["c", "red"], ["d", "red"], ["b", "amber"]]
    assert alerts.systems_down(status.iloc[0:1]).empty
