"""Previous-period arithmetic and NaN-safe relative change."""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from kpis.change import previous_period, relative_change


@pytest.mark.parametrize("start, end, expected", [
    (dt.date(2025, 3, 1), dt.date(2025, 3, 31), (dt.date(2025, 1, 29), dt.date(2025, 2, 28))),
    (dt.date(2025, 7, 1), dt.date(2025, 7, 1), (dt.date(2025, 6, 30), dt.date(2025, 6, 30))),
    (dt.date(2025, 1, 1), dt.date(2025, 1, 7), (dt.date(2024, 12, 25), dt.date(2024, 12, 31))),
    (dt.date(2024, 3, 1), dt.date(2024, 3, 10), (dt.date(2024, 2, 20), dt.date(2024, 2, 29))),
])
def test_previous_period_has_equal_length_and_ends_the_day_before(start, end, expected):
    assert previous_period(start, end) == expected
    previous_start, previous_end = expected
    assert previous_end - previous_start == end - start


def test_previous_period_rejects_bad_input():
    with pytest.raises(ValueError, match="after its end"):
        previous_period(dt.date(2025, 3, 2), dt.date(2025, 3, 1))
    with pytest.raises(TypeError, match="must be a datetime.date"):
        previous_period("2025-03-01", dt.date(2025, 3, 2))


def test_relative_change_of_scalars():
    assert relative_change(110, 100) == pytest.approx(0.1)
    assert relative_change(0.75, 1.0) == pytest.approx(-0.25)
    assert math.isnan(relative_change(5, 0))
    assert math.isnan(relative_change(None, 3))
    assert math.isnan(relative_change(3, np.nan))


def test_relative_change_of_series_aligns_on_units():
    current = pd.Series([12.0, 3.0, np.nan, 4.0], index=["a", "b", "c", "d"])
    previous = pd.Series([10, 0, 2, 8], index=["a", "b", "c", "d"])
    change = relative_change(current, previous)
    assert change.dtype == "float64"
    assert change["a"] == pytest.approx(0.2) and change["d"] == pytest.approx(-0.5)
    assert change[["b", "c"]].isna().all()
