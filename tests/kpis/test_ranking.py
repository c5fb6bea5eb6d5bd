"""Standard competition ranking and best/worst lists; units without data are never ranked."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kpis.ranking import best_and_worst, competition_rank


def test_ties_share_a_rank_and_the_next_rank_is_skipped():
    ranks = competition_rank(pd.Series([0.9, 0.8, 0.8, 0.7]))
    assert ranks.tolist() == [1, 2, 2, 4]


def test_lower_is_better_and_nan_stays_unranked():
    ranks = competition_rank(pd.Series([3, np.nan, 0, 3, 5], index=list("abcde")), higher_is_better=False)
    assert ranks.dtype == "Int64"
    assert ranks.tolist()[:1] + ranks.tolist()[2:] == [2, 1, 2, 4]
    assert ranks.isna().tolist() == [False, True, False, False, False]
    assert list(ranks.index) == list("abcde")


FRAME = pd.DataFrame({
    "unit_code": ["26740", "26734", "26737", "26746", "26743", "26749"],
    "on_time_766": [0.95, 0.80, 0.95, np.nan, 0.60, 0.80],
})


def test_best_and_worst_skip_units_without_data_and_break_ties_by_code():
    best, worst = best_and_worst(FRAME, "on_time_766", n=3)
    assert best["unit_code"].tolist() == ["26737", "26740", "26734"]
    assert best["rank"].tolist() == [1, 1, 3]
    assert worst["unit_code"].tolist() == ["26743", "26749"]   # never repeats a best unit, never the NaN one
    assert worst["rank"].tolist() == [5, 3]


def test_best_and_worst_when_lower_is_better():
    frame = pd.DataFrame({"unit_code": ["a", "b", "c", "d"], "overdue_pending": [4.0, 0.0, np.nan, 9.0]})
    best, worst = best_and_worst(frame, "overdue_pending", n=1, higher_is_better=False)
    assert best["unit_code"].tolist() == ["b"] and worst["unit_code"].tolist() == ["d"]
    assert worst["rank"].tolist() == [3]


def test_no_valid_units_gives_two_empty_lists():
    best, worst = best_and_worst(FRAME.assign(on_time_766=np.nan), "on_time_766")
    assert best.empty and worst.empty


def test_missing_column_is_named():
    with pytest.raises(ValueError, match="columns \\['online_share'\\] are missing"):
        best_and_worst(FRAME, "online_share")
    with pytest.raises(ValueError, match="n must be zero or more"):
        best_and_worst(FRAME, "on_time_766", n=-1)
