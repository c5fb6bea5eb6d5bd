"""The commune room: loaders on both backends (hand-computed), and the scorecard in a real browser."""
from __future__ import annotations

import datetime as dt

import pytest
from dash.testing.wait import until

from config.service_index import ServiceIndexConfig
from config.settings import load_settings
from dashboards import loaders, loaders_rankings
from dashboards.app import create_app
from store.db import create_store_engine, migrate
from store.writers import finish_run, start_run
from tests.dashboards import fixtures_rankings as fx
from tests.dashboards import sample

AUGUST = (dt.date(2025, 8, 1), dt.date(2025, 8, 27))


@pytest.fixture
def stored(engine):
    loaders.clear()
    loaders_rankings.clear()
    fx.write(engine)
    yield engine
    loaders.clear()
    loaders_rankings.clear()


def test_scores_ranks_changes_and_climb_on_every_backend(stored):
    config = ServiceIndexConfig()
    frame = loaders_rankings.scored_communes(stored, "75", *AUGUST, config).set_index("unit_code")
    assert len(frame) == 95 and frame["rank"].notna().sum() == 3
    assert frame.loc[fx.A, "score"] == pytest.approx(100 * (20 * 590 / 600 + 6) / 26)
    assert frame.loc[fx.B, "score"] == pytest.approx(100 * (20 * 530 / 535 + 6) / 26)
    assert [frame.loc[c, "rank"] for c in (fx.C, fx.B, fx.A)] == [1, 2, 3]
    assert frame.loc[fx.A, "previous_rank"] == 1 and frame.loc[fx.A, "rank_change"] == -2
    assert frame.loc[fx.B, "rank_change"] == 0 and frame.loc[fx.C, "previous_rank"] is pd_na()
    ladder, others = loaders_rankings.climb_for(stored, "75", *AUGUST, fx.A, config)
    [step] = ladder                        # 10 would only tie C at 100: no second step
    assert (step.n, step.from_rank, step.to_rank) == (5, 3, 2)
    assert step.points_gained == pytest.approx(5 * 20 / 600)
    assert others == []                    # online share already saturated; nothing else reported
    assert loaders_rankings.climb_for(stored, "75", *AUGUST, fx.B, config) == ([], [])
    history = loaders_rankings.rank_history(stored, "75", fx.A, dt.date(2025, 8, 27), config,
                                            since=dt.date(2025, 7, 1))
    assert [str(m) for m in history["month"]] == ["2025-07-01", "2025-08-01"]
    assert list(history["rank"]) == [1, 3] and list(history["ranked"]) == [2, 3]


def pd_na():
    import pandas as pd
    return pd.NA


def test_month_periods():
    assert loaders_rankings.month_periods(dt.date(2025, 3, 10), 3) == [
        (dt.date(2025, 1, 1), dt.date(2025, 1, 31)), (dt.date(2025, 2, 1), dt.date(2025, 2, 28)),
        (dt.date(2025, 3, 1), dt.date(2025, 3, 10))]


@pytest.fixture
def commune_app(tmp_path):
    loaders.clear()
    loaders_rankings.clear()
    engine = create_store_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    fx.write(engine)
    settings = load_settings(environ={}, data_dir=tmp_path, auth_enabled=False)
    yield create_app(settings, engine, None, now=lambda: sample.NOW)
    engine.dispose()
    loaders.clear()
    loaders_rankings.clear()


def test_commune_scorecard_in_browser(dash_duo, commune_app, free_port):
    dash_duo.start_server(commune_app, port=free_port)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/commune/{fx.A}")
    dash_duo.wait_for_text_to_equal("#commune-title", "Phường Bình Phước (25195)", timeout=30)
    dash_duo.wait_for_text_to_equal("#commune-score", "98,7", timeout=30)
    assert dash_duo.find_element("#commune-points").text == "25,7 / 26"
    assert dash_duo.find_element("#commune-rank").text == "3/3"
    assert dash_duo.find_element("#commune-grade").text == "Xuất sắc"
    assert dash_duo.find_element("#commune-change").text == "▼ 2"
    dash_duo.wait_for_text_to_equal("#commune-climb-step-0", (
        "Giải quyết đúng hạn thêm 5 hồ sơ trong kỳ (hồ sơ quá hạn được giải quyết đúng hạn) sẽ cộng 0,17 điểm "
        "(+0,6 điểm thang 100) và đưa đơn vị từ hạng 3 lên hạng 2."), timeout=30)
    tdgq = dash_duo.find_element("#commune-components-table tr[data-component='tdgq_on_time']").text
    assert tdgq == "TDGQ — Tiến độ, kết quả giải quyết Giải quyết đúng hạn (766) 98,33% 19,7 / 20 0,33"
    paid = dash_duo.find_element("#commune-components-table tr[data-component='tttt_paid']").text
    assert paid.endswith("không có dữ liệu không có dữ liệu không có dữ liệu")
    score_row = dash_duo.find_element("#commune-kpis-table tr[data-kpi='score']").text
    assert score_row == "Chỉ số phục vụ (thang 100) 98,7 99,3 100,0 (Phường Phước Long)"
    dash_duo.wait_for_contains_text("#commune-fields", "Hộ tịch", timeout=30)
    dash_duo.wait_for_text_to_equal("#commune-systems-none", "Chưa có hệ thống nào của đơn vị được giám sát.",
                                    timeout=30)
    dash_duo.wait_for_contains_text("#commune-history", "3/3", timeout=30)

    # Print: the button calls window.print (replaced here to count), and the print stylesheet is served.
    dash_duo.driver.execute_script("window.__printed = 0; window.print = () => { window.__printed += 1; };")
    dash_duo.find_element("#commune-print").click()
    until(lambda: dash_duo.driver.execute_script("return window.__printed") == 1, timeout=30)
    css = dash_duo.driver.execute_script(
        "return fetch('/assets/print.css').then(r => r.text());")
    assert "@media print" in css and ".no-print" in css

    # The whole history: A 98,9 and second, ahead of B.
    dash_duo.find_element("button[id*='\"preset\":\"all\"'][id*='commune-preset']").click()
    dash_duo.wait_for_text_to_equal("#commune-score", "98,9", timeout=30)
    dash_duo.wait_for_text_to_equal("#commune-rank", "2/3", timeout=30)
    assert dash_duo.get_logs() == []


def test_unknown_commune_says_so(dash_duo, commune_app, free_port):
    dash_duo.start_server(commune_app, port=free_port)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/commune/99999")
    dash_duo.wait_for_text_to_equal("#commune-not-found",
                                    "Không tìm thấy xã, phường, đặc khu có mã 99999 trong tỉnh.", timeout=30)
