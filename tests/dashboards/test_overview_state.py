"""The overview's URL state (presets, parse, encode: a round trip) and the wall-mode helpers."""
from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl

import pytest

from dashboards.components import kiosk
from dashboards.overview_state import parse_state, preset_period, state_search

HISTORY = dt.date(2025, 7, 1)
TODAY = dt.date(2025, 11, 20)
KPIS = ("on_time_766", "online_share", "service_index")


def parse(search: str, today: dt.date = TODAY):
    return parse_state(dict(parse_qsl(search.lstrip("?"))), history_start=HISTORY, today=today, kpi_keys=KPIS,
                       default_kpi="on_time_766")


@pytest.mark.parametrize("preset, expected", [
    ("today", (TODAY, TODAY)),
    ("7d", (dt.date(2025, 11, 14), TODAY)),
    ("month", (dt.date(2025, 11, 1), TODAY)),
    ("last_month", (dt.date(2025, 10, 1), dt.date(2025, 10, 31))),
    ("quarter", (dt.date(2025, 10, 1), TODAY)),
    ("year", (HISTORY, TODAY)),                      # 1/1/2025 is before history: clamped
    ("reform", (dt.date(2025, 7, 1), TODAY)),
])
def test_presets_are_relative_to_today(preset, expected):
    assert preset_period(preset, HISTORY, TODAY) == expected


def test_presets_across_year_and_quarter_boundaries():
    assert preset_period("last_month", dt.date(2024, 1, 1), dt.date(2026, 1, 15)) == (
        dt.date(2025, 12, 1), dt.date(2025, 12, 31))
    assert preset_period("quarter", HISTORY, dt.date(2026, 6, 30)) == (dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    assert preset_period("year", HISTORY, dt.date(2026, 3, 2)) == (dt.date(2026, 1, 1), dt.date(2026, 3, 2))
    with pytest.raises(ValueError, match="Unknown period preset 'decade'"):
        preset_period("decade", HISTORY, TODAY)


def test_url_round_trip_reproduces_the_view():
    search = state_search("?lang=en&kiosk=1", preset=None, start=dt.date(2025, 8, 1), end=dt.date(2025, 8, 15),
                          field="ho_tich", kpi="online_share", default_kpi="on_time_766")
    assert search == "?from=2025-08-01&to=2025-08-15&field=ho_tich&kpi=online_share&lang=en&kiosk=1"
    state = parse(search)
    assert (state.start, state.end, state.preset, state.field, state.kpi, state.lang) == (
        dt.date(2025, 8, 1), dt.date(2025, 8, 15), None, "ho_tich", "online_share", "en")
    assert state.fields == ("ho_tich",)
    again = state_search(search, start=state.start, end=state.end, field=state.field, kpi=state.kpi,
                         default_kpi="on_time_766")
    assert again == search


def test_a_preset_wins_over_dates_and_defaults_are_left_out():
    search = state_search("?from=2025-08-01&to=2025-08-15", preset="month", field="all", kpi="on_time_766",
                          default_kpi="on_time_766")
    assert search == "?preset=month"
    state = parse(search)
    assert (state.start, state.end, state.preset, state.field, state.kpi) == (
        dt.date(2025, 11, 1), TODAY, "month", None, "on_time_766")


def test_bad_query_values_fall_back_to_defaults():
    state = parse("?from=yesterday&to=2025-08-15&field=nope&kpi=drop_table&preset=eternity&lang=fr")
    assert (state.start, state.end, state.field, state.kpi, state.lang) == (
        HISTORY, dt.date(2025, 8, 15), None, "on_time_766", "vi")
    reversed_dates = parse("?from=2025-09-10&to=2025-09-01")
    assert (reversed_dates.start, reversed_dates.end) == (dt.date(2025, 9, 1), dt.date(2025, 9, 10))


def test_kiosk_flags_rotation_and_room_order():
    assert kiosk.is_kiosk("?kiosk=1&lang=en") and kiosk.is_kiosk("?kiosk=true")
    assert not kiosk.is_kiosk("?kiosk=0") and not kiosk.is_kiosk(None)
    assert kiosk.rotate_seconds("?rotate=90") == 90
    assert kiosk.rotate_seconds("?rotate=1") == kiosk.MIN_ROTATE_S
    assert kiosk.rotate_seconds("?rotate=x") == kiosk.DEFAULT_ROTATE_S
    registry = {"a": {"path": "/systems", "nav_key": "n", "order": 5}, "b": {"path": "/", "nav_key": "n", "order": 0},
                "c": {"path": "/commune/<code>"}, "d": {"path": "/exports", "nav_key": "n", "order": 9}}
    rooms = kiosk.kiosk_rooms(registry)
    assert rooms == ["/", "/systems"]
    assert kiosk.next_room("/", rooms) == "/systems" and kiosk.next_room("/systems", rooms) == "/"
    assert kiosk.next_room("/commune/25195", rooms) == "/"
    assert kiosk.kiosk_rooms({"d": registry["d"]}) == ["/exports"]
