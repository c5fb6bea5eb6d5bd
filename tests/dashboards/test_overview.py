"""The overview room in a real browser: KPI strip, map, language switch."""
from __future__ import annotations

import pytest

from config.settings import load_settings
from dashboards import loaders
from dashboards.app import create_app
from geo.maps import build_map_geometry
from store.db import create_store_engine, migrate
from tests.dashboards import sample


@pytest.fixture
def overview_app(tmp_path):
    """The app on a temp SQLite store holding the sample facts, clock at 27/08/2025 10:00."""
    loaders.clear()
    engine = create_store_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    sample.write_sample(engine)
    settings = load_settings(environ={}, data_dir=tmp_path, auth_enabled=False)
    geometry = build_map_geometry("75", tmp_path / "cache")
    yield create_app(settings, engine, geometry, now=lambda: sample.NOW)
    engine.dispose()
    loaders.clear()


def test_overview_shows_hand_computed_kpis_map_and_switches_language(dash_duo, overview_app, free_port):
    dash_duo.start_server(overview_app, port=free_port)

    dash_duo.wait_for_text_to_equal("#overview-kpi-received", "1.234")
    dash_duo.wait_for_text_to_equal("#overview-kpi-resolved", "1.047")
    dash_duo.wait_for_text_to_equal("#overview-kpi-on_time_766", "98,79%")
    dash_duo.wait_for_text_to_equal("#overview-kpi-on_time_bieu06", "99,33%")
    dash_duo.wait_for_text_to_equal("#overview-kpi-online_share", "81,04%")
    dash_duo.wait_for_text_to_equal("#overview-kpi-overdue_pending", "8")
    dash_duo.wait_for_text_to_equal("#overview-freshness", "Cập nhật lần cuối: 09:30 27/08/2025")
    assert dash_duo.find_element("#overview-kpi-received-label").text == "Hồ sơ tiếp nhận"

    # The map fetched /geo/75.geojson and drew all 95 communes (3 coloured, 92 grey "no data").
    dash_duo.wait_for_element("#overview-map .js-plotly-plot")
    dash_duo.wait_for_element("#overview-map path.choroplethlocation")
    _wait_for_count(dash_duo, "#overview-map path.choroplethlocation", 95)
    assert "Ranh giới gần đúng (ô Voronoi từ tâm xã)" in dash_duo.find_element("#overview-map-approximate").text

    # Best communes by the 766 on-time rate: Phước Long 100%, Đồng Xoài 99,07%, Bình Phước 98,33%.
    dash_duo.wait_for_contains_text("#overview-best-table", "Phường Phước Long")
    rows = [r.text for r in dash_duo.find_elements("#overview-best-table tbody tr")]
    assert rows == ["1 Phường Phước Long 100,00%", "2 Phường Đồng Xoài 99,07%", "3 Phường Bình Phước 98,33%"]

    dash_duo.find_element("#app-lang-switch").click()
    dash_duo.wait_for_text_to_equal("#overview-kpi-received-label", "Dossiers received")
    dash_duo.wait_for_text_to_equal("#overview-kpi-received", "1,234")
    dash_duo.wait_for_text_to_equal("#overview-kpi-on_time_766", "98.79%")
    dash_duo.wait_for_text_to_equal("#app-lang-switch", "Tiếng Việt")
    dash_duo.wait_for_contains_text("#overview-trend", "Received online")
    assert "lang=en" in dash_duo.driver.current_url

    assert dash_duo.get_logs() == []


def _wait_for_count(dash_duo, selector, count):
    from dash.testing.wait import until
    until(lambda: len(dash_duo.find_elements(selector)) == count, timeout=10,
          msg=f"expected {count} elements matching {selector}")


def test_a_preset_goes_into_the_url_and_the_url_reproduces_the_view(dash_duo, overview_app, free_port):
    dash_duo.start_server(overview_app, port=free_port)
    dash_duo.wait_for_text_to_equal("#overview-kpi-received", "1.234")

    dash_duo.driver.find_element("xpath", "//button[text()='Tháng trước']").click()
    from dash.testing.wait import until
    until(lambda: "preset=last_month" in dash_duo.driver.current_url, timeout=10, msg="URL did not take the preset")
    dash_duo.wait_for_text_to_equal("#overview-period-shown", "Số liệu từ 01/07/2025 đến 31/07/2025")
    dash_duo.wait_for_text_to_equal("#overview-kpi-received", "—")   # July has no data: a dash, not 0

    copied = dash_duo.driver.current_url
    dash_duo.driver.get(copied)
    dash_duo.wait_for_text_to_equal("#overview-period-shown", "Số liệu từ 01/07/2025 đến 31/07/2025")
    dash_duo.wait_for_text_to_equal("#overview-kpi-received", "—")
    active = dash_duo.driver.find_element("xpath", "//button[contains(@class, 'active')]")
    assert active.text == "Tháng trước"
    assert dash_duo.get_logs() == []


def test_kiosk_mode_hides_the_navigation(dash_duo, overview_app, free_port):
    dash_duo.start_server(overview_app, port=free_port)
    dash_duo.driver.get(dash_duo.server_url + "/?kiosk=1")
    dash_duo.wait_for_text_to_equal("#overview-kpi-received", "1.234")
    from dash.testing.wait import until
    until(lambda: "kiosk" in dash_duo.find_element("#app-root").get_attribute("class"), timeout=10,
          msg="wall mode was not switched on")
    assert not dash_duo.find_element("#app-nav").is_displayed()
    assert not dash_duo.find_element("#app-lang-switch").is_displayed()
    assert not dash_duo.find_element("#overview-period").is_displayed()
    assert dash_duo.find_element("#overview-kpi-received").is_displayed()
    assert dash_duo.get_logs() == []


@pytest.fixture
def alerts_app(tmp_path):
    """The app on the sample plus a stale commune falling behind, a province-level unit and a system down."""
    from dashboards import loaders_overview
    from tests.dashboards import fixtures_overview

    loaders.clear()
    loaders_overview.clear()
    engine = create_store_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    fixtures_overview.write_overview(engine)
    settings = load_settings(environ={}, data_dir=tmp_path, auth_enabled=False)
    geometry = build_map_geometry("75", tmp_path / "cache")
    yield create_app(settings, engine, geometry, now=lambda: sample.NOW)
    engine.dispose()
    loaders.clear()
    loaders_overview.clear()


def test_an_alert_links_to_its_commune_page(dash_duo, alerts_app, free_port):
    dash_duo.start_server(alerts_app, port=free_port)
    dash_duo.wait_for_text_to_equal("#overview-kpi-received", "1.279")
    dash_duo.wait_for_contains_text("#overview-alerts-behind", "Phường Phước Bình")
    dash_duo.wait_for_contains_text("#overview-alerts-systems", "Hệ thống giải quyết TTHC")
    dash_duo.wait_for_contains_text("#overview-province-level", "Hồ sơ tiếp nhận: 400")
    link = dash_duo.find_element("#overview-alerts-behind a.commune-link")
    assert link.get_attribute("href").endswith("/commune/25220")
    link.click()
    from dash.testing.wait import until
    until(lambda: dash_duo.driver.current_url.endswith("/commune/25220"), timeout=10,
          msg="the alert did not lead to the commune page")
