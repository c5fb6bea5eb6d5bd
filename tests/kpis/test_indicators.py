"""Ratios over period totals: hand-computed values, and NaN (never 0) where there is no data."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kpis.indicators import (
    late_rate, on_time_rate_766, on_time_rate_bieu06, online_share, received, with_indicators,
)

COLUMNS = ("carried_over", "received_online", "received_direct", "resolved_early", "resolved_on_time",
           "resolved_late", "pending_on_time", "pending_overdue", "nearly_due")
TOTALS = pd.DataFrame(
    [
        ("X", 5, 8, 2, 6, 3, 1, 4, 1, 0),   # a busy unit
        ("Z", 1, 0, 3, 0, 0, 0, 2, 2, 1),   # nothing resolved yet, but dossiers pending
        ("E", 0, 0, 0, 0, 0, 0, 0, 0, 0),   # reported, with nothing to count
    ],
    columns=("unit_code",) + COLUMNS,
).set_index("unit_code")
# M is a unit of the province without any fact row: the reader leaves it out, callers reindex.
ALL_UNITS = TOTALS.reindex(["X", "Z", "E", "M"])


def values(series: pd.Series) -> list:
    return [None if math.isnan(v) else round(v, 6) for v in series]


def test_on_time_rates_differ_when_nothing_is_resolved():
    assert values(on_time_rate_bieu06(ALL_UNITS)) == [0.9, None, None, None]
    assert values(on_time_rate_766(ALL_UNITS)) == [round(13 / 15, 6), 0.5, None, None]


def test_online_share_and_late_rate():
    assert values(online_share(ALL_UNITS)) == [0.8, 0.0, None, None]
    assert values(late_rate(ALL_UNITS)) == [round(2 / 15, 6), 0.5, None, None]


def test_rates_are_float_series_aligned_with_the_input():
    rate = on_time_rate_766(ALL_UNITS)
    assert rate.dtype == "float64" and list(rate.index) == ["X", "Z", "E", "M"]
    assert ((rate.dropna() >= 0) & (rate.dropna() <= 1)).all()


def test_one_row_gives_a_float_and_a_missing_row_gives_nan():
    assert on_time_rate_bieu06(TOTALS.loc["X"]) == pytest.approx(0.9)
    assert on_time_rate_766(TOTALS.loc["Z"].to_dict()) == pytest.approx(0.5)
    assert received(TOTALS.loc["X"]) == 10.0
    assert math.isnan(on_time_rate_766(None))
    assert math.isnan(on_time_rate_766(ALL_UNITS.loc["M"]))
    assert math.isnan(online_share(TOTALS.loc["E"]))


def test_with_indicators_adds_counts_and_rates():
    frame = with_indicators(ALL_UNITS)
    assert {"received", "resolved", "pending", "on_time_bieu06", "on_time_766", "online_share",
            "overdue_pending"} <= set(frame.columns)
    assert frame.loc["X", ["received", "resolved", "pending", "overdue_pending"]].tolist() == [10, 10, 5, 1]
    assert frame.loc["Z", "on_time_766"] == 0.5 and np.isnan(frame.loc["Z", "on_time_bieu06"])
    assert frame.loc["M"].drop(list(COLUMNS)).isna().all()   # no data stays no data, never zero
    assert "received" not in ALL_UNITS.columns               # the input is left untouched


def test_complete_counts_keep_integer_dtype():
    assert with_indicators(TOTALS)["received"].dtype == "int64"


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="lack columns \\['carried_over'\\]"):
        online_share(TOTALS.drop(columns="carried_over"))
    with pytest.raises(ValueError, match="lack columns \\['carried_over', 'received_direct'"):
        on_time_rate_766({"received_online": 1})
