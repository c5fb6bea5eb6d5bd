"""The system-health room in a real browser: board, uptime, map click, incidents, window change, language."""
from __future__ import annotations

import re

import pytest
from dash.testing.wait import until

from config.settings import load_settings
from dashboards import loaders, loaders_systems
from dashboards.app import create_app
from geo.maps import build_map_geometry
from geo.registry import units
from store.db import create_store_engine, migrate
from store.writers import upsert_units
from tests.dashboards import fixtures_systems as story

OUR_IDS = re.compile(r"(?<![\w-])systems-")   # this room's component ids, not e.g. commune-systems


@pytest.fixture
def systems_app(tmp_path):
    """The app on a temp SQLite store holding the recorded probe history, clock at 02/03/2026 10:25."""
    loaders.clear()
    loaders_systems.clear()
    engine = create_store_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    upsert_units(engine, units("75"))
    story.write_history(engine)
    settings = load_settings(environ={}, data_dir=tmp_path, auth_enabled=False)
    geometry = build_map_geometry("75", tmp_path / "cache")
    yield create_app(settings, engine, geometry, now=lambda: story.NOW)
    engine.dispose()
    loaders.clear()
    loaders_systems.clear()


def test_systems_board_uptime_map_incidents_and_language(dash_duo, systems_app, free_port):
    _record_console_errors(dash_duo)
    dash_duo.start_server(systems_app, port=free_port)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/systems#qlvb")

    # The down system is red, says so in words and icon, and dates from its first failed round.
    dash_duo.wait_for_element("#systems-qlvb")
    row = dash_duo.find_element("#systems-qlvb")
    assert "health-row-red" in row.get_attribute("class").split()
    assert _text(row).startswith("✖ Ngừng hoạt động Quản lý văn bản và điều hành Cấp tỉnh từ 10:22 02/03/2026")
    assert _text(dash_duo.find_element("#systems-lgsp")).startswith("▲ Chậm hoặc lỗi một phần")
    assert "4.500 ms" in dash_duo.find_element("#systems-lgsp").text
    assert _text(dash_duo.find_element("#systems-tthc")).startswith("✔ Hoạt động bình thường")
    # /systems#qlvb scrolled to and marked the row once the board was filled.
    until(lambda: "health-row-target" in dash_duo.find_element("#systems-qlvb").get_attribute("class"), timeout=5)
    dash_duo.wait_for_text_to_equal("#systems-freshness", "Kiểm tra lần cuối: 10:24 02/03/2026")

    # Uptime in Vietnamese number format: 144/145 and 142/145.
    dash_duo.wait_for_element("#systems-uptime-table")
    assert dash_duo.find_element("#systems-uptime-tthc").text.split()[-4:] == ["99,31%"] * 4
    assert dash_duo.find_element("#systems-uptime-qlvb").text.split()[-1] == "97,93%"

    # The incident timeline lists the open qlvb incident with its cause.
    dash_duo.wait_for_contains_text("#systems-incidents-table", "Quản lý văn bản và điều hành")
    first = _text(dash_duo.find_elements("#systems-incidents-table tbody tr")[0])
    assert first.startswith("Quản lý văn bản và điều hành 10:22 02/03/2026 Đang diễn ra 3 phút")
    assert "Máy chủ trả về mã lỗi HTTP" in first
    dash_duo.wait_for_element("#systems-timeline .js-plotly-plot")
    dash_duo.wait_for_contains_text("#systems-maintenance-table", "Nâng cấp máy chủ LGSP")
    assert "Hằng tuần (Chủ nhật)" in dash_duo.find_element("#systems-maintenance-table").text

    # Changing the window to 30 days brings five past Sunday backups onto the timeline (one in 24 h).
    assert _maintenance_bars(dash_duo) == 1
    dash_duo.find_element("#systems-window input[value='30d']").click()
    until(lambda: _maintenance_bars(dash_duo) == 5, timeout=10)

    # The connectivity map drew the communes; clicking Đồng Xoài shows its two targets, one refused.
    dash_duo.wait_for_element("#systems-map path.choroplethlocation")
    until(lambda: len(dash_duo.find_elements("#systems-map path.choroplethlocation")) == 95, timeout=10)
    dash_duo.driver.execute_script(
        "const g = document.querySelector('#systems-map .js-plotly-plot');"
        "g.emit('plotly_click', {points: [{location: arguments[0], customdata: 'Phường Đồng Xoài'}]});", story.B)
    dash_duo.wait_for_contains_text("#systems-commune", "Điểm kiểm tra của Phường Đồng Xoài")
    detail = dash_duo.find_element("#systems-commune-table").text
    assert "Từ chối kết nối" in detail and "Ngừng hoạt động" in detail and "Hoạt động bình thường" in detail
    dash_duo.find_element("#systems-commune-link").click()
    until(lambda: dash_duo.driver.current_url.endswith(f"/commune/{story.B}"), timeout=5)

    assert _console_errors(dash_duo) == []
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/systems?lang=en")
    dash_duo.wait_for_contains_text("#systems-qlvb", "Down")
    assert _text(dash_duo.find_element("#systems-qlvb")).startswith("✖ Down Document management and operation")
    dash_duo.wait_for_contains_text("#systems-uptime-tthc", "99.31%")
    assert _console_errors(dash_duo) == []


def _record_console_errors(dash_duo) -> None:
    """Keep the text of every console error in window.__errors (dash logs only "Object" for its own)."""
    dash_duo.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": """
        window.__errors = [];
        const original = console.error;
        console.error = function (...args) {
            window.__errors.push(args.map(a => { try { return JSON.stringify(a) || String(a); }
                                                 catch (e) { return String(a); } }).join(" "));
            original.apply(console, args);
        };"""})


def _console_errors(dash_duo) -> list[str]:
    """Console errors that concern this room.

    Dash validates every page's callbacks against the layout it is showing, so another room's
    unfinished page can log "ID not found in layout" here; those name that room's ids, not ours.
    """
    errors = dash_duo.driver.execute_script("return window.__errors || []")
    return [e for e in errors if OUR_IDS.search(e) or "ID not found" not in e]


def _text(element) -> str:
    """An element's visible text with line breaks (badges are flex boxes) folded to spaces."""
    return " ".join(element.text.split())


def _maintenance_bars(dash_duo) -> int:
    """How many maintenance occurrences the timeline figure holds."""
    return dash_duo.driver.execute_script(
        "const g = document.querySelector('#systems-timeline .js-plotly-plot');"
        "if (!g || !g.data) return -1;"
        "const m = g.data.filter(t => t.name === 'Bảo trì');"
        "return m.length ? m[0].y.length : 0;")
