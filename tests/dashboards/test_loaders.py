import datetime as dt
import math

import pytest

from dashboards import loaders
from tests.dashboards import sample

START, END = dt.date(2025, 7, 1), dt.date(2025, 8, 27)


@pytest.fixture(autouse=True)
def fresh_cache():
    loaders.clear()
    yield
    loaders.clear()


def test_province_kpis_match_hand_computed_values(engine):
    sample.write_sample(engine)
    values = loaders.province_kpis(engine, "75", START, END)
    assert values["received"] == sample.RECEIVED
    assert values["resolved"] == sample.RESOLVED
    assert values["overdue_pending"] == sample.OVERDUE_PENDING
    assert values["on_time_bieu06"] == pytest.approx(sample.ON_TIME_BIEU06)
    assert values["on_time_766"] == pytest.approx(sample.ON_TIME_766)
    assert values["online_share"] == pytest.approx(sample.ONLINE_SHARE)


def test_a_period_without_data_is_nan_not_zero(engine):
    sample.write_sample(engine)
    current, previous = loaders.province_kpis_with_previous(engine, "75", START, END)
    assert current["received"] == sample.RECEIVED
    # The previous period (05/05 .. 30/06/2025) has no facts at all.
    assert all(math.isnan(v) for v in previous.values())


def test_unit_kpis_cover_every_unit_and_keep_missing_ones_empty(engine):
    sample.write_sample(engine)
    frame = loaders.unit_kpis(engine, "75", START, END).set_index("unit_code")
    assert len(frame) == 96  # 95 communes + the province-level unit
    for code, rate in sample.UNIT_766.items():
        assert frame.loc[code, "on_time_766"] == pytest.approx(rate)
        assert frame.loc[code, "has_data"]
    assert frame.loc[sample.A, "received"] == 600
    assert frame.loc[sample.A, "name"] == "Phường Bình Phước"
    assert math.isnan(frame.loc[sample.NO_DATA_UNIT, "received"])
    assert not frame.loc[sample.NO_DATA_UNIT, "has_data"]
    assert frame.loc["75", "level"] == "tinh"


def test_daily_trend_has_one_row_per_day_with_data(engine):
    sample.write_sample(engine)
    trend = loaders.daily_trend(engine, "75", START, END)
    assert list(trend["day"]) == [sample.DAY1, sample.DAY2]
    assert list(trend["received_online"]) == [900, 100]
    assert list(trend["received_direct"]) == [234, 0]
    assert trend["on_time_bieu06"].tolist() == pytest.approx([950 / 957, 1.0])


def test_cache_holds_until_a_new_collection_finishes(engine):
    sample.write_sample(engine)
    assert loaders.province_kpis(engine, "75", START, END)["received"] == sample.RECEIVED
    extra = sample.facts_frame([(sample.NO_DATA_UNIT, sample.DAY2, 6, 0, 0, 0, 0, 6, 0, 0)])
    from store.writers import upsert_facts
    upsert_facts(engine, extra, sample.COLLECTED_AT)
    # Same collection stamp: the cached answer stands.
    assert loaders.province_kpis(engine, "75", START, END)["received"] == sample.RECEIVED
    sample.record_run(engine, sample.COLLECTED_AT + dt.timedelta(minutes=5))
    assert loaders.province_kpis(engine, "75", START, END)["received"] == sample.RECEIVED + 6
    assert loaders.unit_kpis(engine, "75", START, END).set_index("unit_code").loc[sample.NO_DATA_UNIT, "has_data"]


def test_returned_frames_are_copies(engine):
    sample.write_sample(engine)
    first = loaders.unit_kpis(engine, "75", START, END)
    first["received"] = -1
    assert loaders.unit_kpis(engine, "75", START, END)["received"].max() == 600
