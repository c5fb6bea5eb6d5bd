"""KPI descriptions: the expected entries, labels, and value functions agreeing with with_indicators."""
from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from kpis.definitions import KPI_BY_KEY, KPIS, KpiDefinition, kpi
from kpis.indicators import with_indicators

TOTALS = pd.DataFrame({
    "carried_over": [5, 1], "received_online": [8, 0], "received_direct": [2, 3], "resolved_early": [6, 0],
    "resolved_on_time": [3, 0], "resolved_late": [1, 0], "pending_on_time": [4, 2], "pending_overdue": [1, 2],
}, index=["X", "Z"])


def test_keys_labels_and_units():
    assert [k.key for k in KPIS] == ["received", "resolved", "on_time_766", "on_time_bieu06", "online_share",
                                     "overdue_pending"]
    assert {k.key: k.label_vi for k in KPIS} == {
        "received": "Hồ sơ tiếp nhận", "resolved": "Đã giải quyết", "on_time_766": "Đúng hạn (766)",
        "on_time_bieu06": "Đúng hạn (Biểu 06)", "online_share": "Tỷ lệ trực tuyến",
        "overdue_pending": "Quá hạn đang giải quyết"}
    assert {k.key for k in KPIS if k.unit == "percent"} == {"on_time_766", "on_time_bieu06", "online_share"}
    assert [k.key for k in KPIS if not k.higher_is_better] == ["overdue_pending"]
    assert all(k.description_vi and k.description_en and k.label_en for k in KPIS)
    assert KPI_BY_KEY["on_time_766"] is KPIS[2]


def test_definitions_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        KPIS[0].key = "other"  # type: ignore[misc]
    assert isinstance(KPIS[0], KpiDefinition)


def test_values_match_the_indicator_columns_of_the_same_key():
    frame = with_indicators(TOTALS)
    for definition in KPIS:
        value = definition.value(TOTALS)
        assert value.dtype == "float64", definition.key
        pd.testing.assert_series_equal(value, frame[definition.key].astype("float64"), check_names=False)
    assert KPI_BY_KEY["on_time_766"].value(TOTALS).tolist() == pytest.approx([13 / 15, 0.5])
    assert KPI_BY_KEY["overdue_pending"].value(TOTALS).tolist() == [1.0, 2.0]


def test_unknown_key_names_the_known_ones():
    assert kpi("online_share").label_en == "Online share"
    with pytest.raises(KeyError, match="known KPIs: received, resolved"):
        kpi("ontime")
