"""The simulator: calibrated to Đồng Nai's published figures, deterministic, internally consistent."""
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from collectors.base import FetchRequest
from collectors.sources.simulator import SimulatorSource, unit_profile
from geo import registry

START, END = dt.date(2025, 7, 1), dt.date(2025, 8, 27)
NOW = dt.datetime(2026, 11, 22, 12, 0)


@pytest.fixture(scope="module")
def dong_nai():
    codes = tuple(registry.communes("75").code)
    return SimulatorSource(2025).fetch(FetchRequest(codes, START, END, NOW))


def _received(frame):
    return frame.received_online + frame.received_direct


def test_calibrated_to_dong_nai_published_figures(dong_nai):
    received = _received(dong_nai).sum()
    resolved = dong_nai[["resolved_early", "resolved_on_time", "resolved_late"]].sum().sum()
    on_time = (dong_nai.resolved_early.sum() + dong_nai.resolved_on_time.sum()) / resolved
    online = dong_nai.received_online.sum() / received
    assert received == pytest.approx(156_063, rel=0.03)
    assert online == pytest.approx(0.8937, rel=0.03)
    assert on_time == pytest.approx(0.9877, rel=0.03)
    assert dong_nai.unit_code.nunique() == 95
    assert dong_nai.field.nunique() >= 6


def test_stocks_follow_flows_exactly(dong_nai):
    frame = dong_nai.sort_values(["unit_code", "field", "day"])
    stock = frame.pending_on_time + frame.pending_overdue
    resolved = frame.resolved_early + frame.resolved_on_time + frame.resolved_late
    change = stock.groupby([frame.unit_code, frame.field]).diff()
    expected = (_received(frame) - resolved)[change.notna()]
    assert (change.dropna() == expected).all()
    assert (frame.nearly_due <= frame.pending_on_time).all()


def test_same_seed_same_figures_whatever_range_is_asked():
    source = SimulatorSource(7)
    code = registry.communes("75").code.iloc[0]
    long = source.fetch(FetchRequest((code,), START, dt.date(2025, 9, 30), NOW))
    short = source.fetch(FetchRequest((code,), dt.date(2025, 9, 10), dt.date(2025, 9, 12), NOW))
    merged = short.merge(long, on=["unit_code", "day", "field", "source"], suffixes=("", "_long"))
    assert len(merged) == len(short) > 0
    assert (merged.received_online == merged.received_online_long).all()
    assert (merged.pending_overdue == merged.pending_overdue_long).all()
    other_seed = SimulatorSource(8).fetch(FetchRequest((code,), START, dt.date(2025, 9, 30), NOW))
    assert not long.received_online.equals(other_seed.received_online)


def test_realistic_variation(dong_nai):
    days = pd.to_datetime(dong_nai.day)
    by_weekday = _received(dong_nai).groupby(days.dt.day_of_week).sum()
    assert by_weekday[6] < 0.05 * by_weekday[2]  # almost nothing on Sundays
    month_end = _received(dong_nai)[days.dt.day >= 29].groupby(days.dt.date).sum()
    mid_month = _received(dong_nai)[days.dt.day.between(14, 24) & (days.dt.day_of_week < 5)].groupby(days.dt.date).sum()
    assert month_end[pd.to_datetime(month_end.index).day_of_week < 5].mean() > 1.1 * mid_month.mean()
    units = registry.communes("75").set_index("code")
    per_unit = _received(dong_nai).groupby(dong_nai.unit_code).sum()
    assert per_unit[units.type == "phuong"].median() > 1.5 * per_unit[units.type == "xa"].median()
    lagging = [c for c in units.index if unit_profile(2025, c).lagging]
    assert 1 <= len(lagging) <= 15


def test_today_is_partial_and_nothing_after_now():
    code = registry.communes("24").code.iloc[0]
    source = SimulatorSource(2025)
    morning = source.fetch(FetchRequest((code,), dt.date(2026, 11, 18), dt.date(2026, 11, 30), dt.datetime(2026, 11, 18, 9, 0)))
    evening = source.fetch(FetchRequest((code,), dt.date(2026, 11, 18), dt.date(2026, 11, 18), dt.datetime(2026, 11, 18, 18, 0)))
    assert morning.day.max() == dt.date(2026, 11, 18)
    assert _received(morning).sum() < _received(evening).sum()
    nothing = source.fetch(FetchRequest((code,), dt.date(2025, 1, 1), dt.date(2025, 6, 30), NOW))
    assert nothing.empty


def test_optional_columns_are_plausible(dong_nai):
    assert (dong_nai.paid_online <= dong_nai.fee_bearing).all()
    assert (dong_nai.fully_online <= dong_nai.received_online).all()
    assert np.isclose(dong_nai.digitised.sum() / _received(dong_nai).sum(), 0.72, atol=0.02)
