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
    settings = load_settings(environ={}, data_dir=tmp_path)
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
