"""The system-health loaders and widgets on a recorded history (both backends), values hand-computed."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboards import loaders_systems as loaders
from dashboards.components import health
from store import health_writers as writers
from tests.dashboards import fixtures_systems as story

SLOW_MS, CERT_DAYS = 3000.0, 14.0


@pytest.fixture(autouse=True)
def fresh_cache():
    loaders.clear()
    yield
    loaders.clear()


@pytest.fixture
def history(engine):
    story.write_history(engine)
    return engine


def test_status_uptime_and_connectivity_follow_the_story(history):
    status = loaders.system_status(history, story.NOW, SLOW_MS, CERT_DAYS).set_index("system")
    assert status["state"].to_dict() == story.STATES
    assert status.loc["qlvb", "since"] == pd.Timestamp(story.QLVB_DOWN_SINCE)
    assert status.loc["lgsp", "latency_ms"] == 4500.0
    assert loaders.health_stamp(history) == story.LAST

    uptime = loaders.uptime(history, story.NOW).set_index("system")
    for system, expected in story.UPTIME_24H.items():
        assert uptime.loc[system, "uptime_24h"] == pytest.approx(expected), system
        assert uptime.loc[system, "uptime_90d"] == pytest.approx(expected), system
    assert health.format_percent(uptime.loc["tthc", "uptime_24h"], "vi") == "99,31%"
    assert health.format_percent(uptime.loc["qlvb", "uptime_7d"], "vi") == "97,93%"

    shares = loaders.commune_connectivity(history, story.NOW, SLOW_MS, CERT_DAYS).set_index("unit_code")
    assert shares["share_up"].to_dict() == story.SHARE_UP
    assert shares.loc[story.B, ["targets", "targets_up", "targets_down"]].tolist() == [2, 1, 1]
    only_desks = loaders.commune_connectivity(history, story.NOW, SLOW_MS, CERT_DAYS, systems=["mot_cua_xa"])
    assert only_desks.set_index("unit_code")["share_up"].to_dict() == {story.A: 1.0, story.B: 1.0}


def test_incidents_latency_maintenance_and_gauges(history):
    incidents = loaders.incident_list(history, story.NOW, "24h")
    assert incidents[["system", "reason", "open"]].values.tolist() == [
        ["qlvb", "status", True], ["cong_ttdt_xa", "refused", True]]
    assert incidents["started_at"].tolist() == [pd.Timestamp(story.QLVB_DOWN_SINCE), pd.Timestamp(story.FIRST)]
    assert incidents["duration_s"].tolist() == [180.0, 8700.0]      # 10:22 -> 10:25, 08:00 -> 10:25

    latency = loaders.latency(history, story.NOW, "24h")
    tthc = latency[latency["system"] == "tthc"]
    assert tthc["hour"].tolist() == [pd.Timestamp(2026, 3, 2, 8), pd.Timestamp(2026, 3, 2, 9)]
    assert tthc["successes"].tolist() == [60, 59] and tthc["p50_ms"].tolist() == [50.0, 50.0]

    calendar = loaders.maintenance_calendar(history, story.NOW)
    assert calendar[["scope", "start", "kind"]].values.tolist() == [
        ["lgsp", pd.Timestamp(2026, 3, 4, 22), "once"], ["*", pd.Timestamp(2026, 3, 8, 23), "weekly"],
        ["*", pd.Timestamp(2026, 3, 15, 23), "weekly"]]
    assert not calendar["ongoing"].any()
    # Sunday 01/03 23:00 lies inside the last 24 hours; 30 days hold five Sundays (01/02 .. 01/03).
    assert loaders.maintenance_during(history, story.NOW, "24h")["start"].tolist() == [pd.Timestamp(2026, 3, 1, 23)]
    assert len(loaders.maintenance_during(history, story.NOW, "30d")) == 5

    gauges = loaders.gauges(history, story.NOW, "24h")
    assert len(gauges) == 29 and gauges["value"].iloc[-1] == 6000 + 10 * 140


def test_a_new_round_invalidates_the_cache(history):
    before = loaders.system_status(history, story.NOW, SLOW_MS, CERT_DAYS)
    assert before.set_index("system").loc["qlvb", "state"] == "red"
    writers.save_system_states(history, {"qlvb": "green"}, story.NOW)  # what the next round would write
    after = loaders.system_status(history, story.NOW, SLOW_MS, CERT_DAYS).set_index("system")
    assert after.loc["qlvb", "state"] == "green"


def test_an_empty_store_gives_empty_frames(engine):
    assert loaders.health_stamp(engine) is None
    assert loaders.system_status(engine, story.NOW, SLOW_MS, CERT_DAYS).empty
    assert loaders.incident_list(engine, story.NOW, "7d").empty
    assert loaders.maintenance_calendar(engine, story.NOW).empty
    assert loaders.commune_connectivity(engine, story.NOW, SLOW_MS, CERT_DAYS).empty
    with pytest.raises(ValueError, match="Unknown time window '1y'"):
        loaders.window_bounds("1y", story.NOW)


def test_connectivity_of_never_probed_targets_is_no_data_not_zero():
    targets = pd.DataFrame({"key": ["a", "b", "c"], "system": ["mot_cua_xa"] * 3, "unit_code": ["1", "1", "2"],
                            "state": ["green", "red", "green"], "last_success": [True, False, None],
                            "last_at": [dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 1), None]})
    frame = loaders.connectivity_by_unit(targets).set_index("unit_code")
    assert frame.loc["1", "share_up"] == 0.5
    assert pd.isna(frame.loc["2", "share_up"])


def test_widgets_carry_words_and_icons_not_colour_alone():
    badge = health.status_badge("red", "vi", in_maintenance=True)
    texts = [child.children for child in badge.children]
    assert texts[:2] == ["✖", "Ngừng hoạt động"] and "Đang bảo trì" in texts[2]
    assert health.status_badge("amber", "en").children[1].children == "Degraded"
    assert health.status_badge(None, "vi").children[1].children == "Chưa kiểm tra"
    assert health.format_duration(8700, "vi") == "2 giờ 25 phút"
    assert health.format_duration(3 * 86400 + 7200, "en") == "3 d 2 h"
    assert health.reason_text("refused", "vi") == "Từ chối kết nối"
    assert health.recurrence_text("weekly", "0,6", "vi") == "Hằng tuần (Thứ Hai, Chủ nhật)"
    assert health.format_ms(4500, "vi") == "4.500 ms"
    assert (health.anchor_id("qlvb"), health.system_href("qlvb")) == ("systems-qlvb", "/systems#qlvb")
    assert health.system_label("qlvb", "Quản lý văn bản và điều hành", "en") == "Document management and operation"
