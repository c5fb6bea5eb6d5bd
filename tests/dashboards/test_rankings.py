"""The rankings room: pure table helpers, and in a real browser: rank, change, search, filter, sort, period, click."""
from __future__ import annotations

import pandas as pd
import pytest
from dash.testing.wait import until

from config.settings import load_settings
from dashboards import loaders, loaders_rankings
from dashboards.app import create_app
from dashboards.components.scorecard import commune_href_from_click, filter_frame, next_sort, sort_frame
from geo.maps import build_map_geometry
from store.db import create_store_engine, migrate
from tests.dashboards import fixtures_rankings as fx
from tests.dashboards import sample


@pytest.fixture
def rankings_app(tmp_path):
    """The app on a temp SQLite store with the sample and July facts, clock at 27/08/2025 10:00."""
    loaders.clear()
    loaders_rankings.clear()
    engine = create_store_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    fx.write(engine)
    settings = load_settings(environ={}, data_dir=tmp_path, auth_enabled=False)
    geometry = build_map_geometry("75", tmp_path / "cache")
    yield create_app(settings, engine, geometry, now=lambda: sample.NOW)
    engine.dispose()
    loaders.clear()
    loaders_rankings.clear()


def test_filter_folds_accents_and_type():
    frame = pd.DataFrame({"unit_code": ["1", "2", "3"], "name": ["Phường Đồng Xoài", "Xã Đồng Tâm", "Xã Bom Bo"],
                          "type": ["phuong", "xa", "xa"]})
    assert list(filter_frame(frame, "dong", "all")["unit_code"]) == ["1", "2"]
    assert list(filter_frame(frame, "ĐỒNG", "xa")["unit_code"]) == ["2"]
    assert list(filter_frame(frame, "3", None)["unit_code"]) == ["3"]
    with pytest.raises(ValueError, match="Unknown unit type 'huyen'"):
        filter_frame(frame, "", "huyen")


def test_sort_keeps_no_data_last_and_toggles():
    frame = pd.DataFrame({"unit_code": ["a", "b", "c"], "score": [80.0, None, 90.0],
                          "rank": pd.array([2, None, 1], dtype="Int64")})
    assert list(sort_frame(frame, {"column": "score", "ascending": False})["unit_code"]) == ["c", "a", "b"]
    assert list(sort_frame(frame, {"column": "score", "ascending": True})["unit_code"]) == ["a", "c", "b"]
    assert list(sort_frame(frame, {"column": "rank", "ascending": True})["unit_code"]) == ["c", "a", "b"]
    assert next_sort({"column": "rank", "ascending": True}, "rank") == {"column": "rank", "ascending": False}
    assert next_sort({"column": "rank", "ascending": True}, "score") == {"column": "score", "ascending": False}


def test_map_click_becomes_a_commune_link():
    click = {"points": [{"location": "25195", "curveNumber": 1}]}
    assert commune_href_from_click(click, "vi") == "/commune/25195"
    assert commune_href_from_click(click, "en") == "/commune/25195?lang=en"
    assert commune_href_from_click({"points": []}, "vi") is None and commune_href_from_click(None, "vi") is None


ROWS_JS = """return Array.from(document.querySelectorAll('#rankings-table-table tbody tr'))
    .map(r => Array.from(r.cells).map(c => c.innerText.trim()).join(' '));"""


def _rows(dash_duo):
    # Read the rendered rows in one script call: a re-render between two element reads cannot go stale.
    return dash_duo.driver.execute_script(ROWS_JS)


def test_rankings_in_browser(dash_duo, rankings_app, free_port):
    dash_duo.start_server(rankings_app, port=free_port)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/rankings")
    dash_duo.wait_for_contains_text("#rankings-table", "Phường Phước Long", timeout=30)
    # 95 communes, 3 with a score, ranked C, B, A; unranked ones follow with a dash.
    until(lambda: len(_rows(dash_duo)) == 95, timeout=30)
    rows = _rows(dash_duo)
    assert rows[0] == "1 mới Phường Phước Long Phường 100,0 26,0 / 26 20,0 6,0 — — — Xuất sắc"
    assert rows[1] == "2 = Phường Đồng Xoài Phường 99,3 25,8 / 26 19,8 6,0 — — — Xuất sắc"
    assert rows[2] == "3 ▼ 2 Phường Bình Phước Phường 98,7 25,7 / 26 19,7 6,0 — — — Xuất sắc"
    assert rows[3].startswith("— — ")
    assert dash_duo.find_element("#rankings-summary").text == "3/95 đơn vị có điểm; 95 đơn vị đang hiển thị"
    assert "CKMB — Công khai, minh bạch" in dash_duo.find_element("#rankings-not-computable").text

    # Search ignores accents; the type filter keeps wards only.
    search = dash_duo.find_element("#rankings-search")
    search.send_keys("dong xoai\n")
    until(lambda: len(_rows(dash_duo)) == 1, timeout=30)
    assert _rows(dash_duo)[0].startswith("2 = Phường Đồng Xoài")
    dash_duo.clear_input(search)
    search.send_keys("\n")
    until(lambda: len(_rows(dash_duo)) == 95, timeout=30)
    dash_duo.find_element("#rankings-type input[value='dac_khu']").click()
    dash_duo.wait_for_element("#rankings-table-empty", timeout=30)
    dash_duo.find_element("#rankings-type input[value='all']").click()
    until(lambda: len(_rows(dash_duo)) == 95, timeout=30)

    # Sort by score: highest first, then ascending on a second click (no data stays last).
    score_heading = "#rankings-table-table th:nth-child(5) button"
    dash_duo.find_element(score_heading).click()
    dash_duo.wait_for_text_to_equal(score_heading, "Điểm (thang 100) ▼", timeout=30)
    assert _rows(dash_duo)[0].startswith("1 mới Phường Phước Long")
    dash_duo.find_element(score_heading).click()
    dash_duo.wait_for_text_to_equal(score_heading, "Điểm (thang 100) ▲", timeout=30)
    rows = _rows(dash_duo)
    assert rows[0].startswith("3 ▼ 2 Phường Bình Phước") and rows[2].startswith("1 mới") and rows[3].startswith("— —")
    dash_duo.find_element("#rankings-table-table th:nth-child(1) button").click()
    dash_duo.wait_for_text_to_equal("#rankings-table-table th:nth-child(1) button", "Hạng ▲", timeout=30)

    # The whole history: A 98,9 passes B 93,3.
    dash_duo.find_element("button[id*='\"preset\":\"all\"'][id*='rankings-preset']").click()
    until(lambda: _rows(dash_duo)[1].startswith("2"), timeout=30)
    until(lambda: "Phường Bình Phước Phường 98,9" in _rows(dash_duo)[1], timeout=30)
    assert "Phường Đồng Xoài Phường 93,3" in _rows(dash_duo)[2]
    assert dash_duo.find_element("#rankings-period-shown").text.startswith("Kỳ xếp hạng: 01/07/2025 – 27/08/2025")

    # Clicking a commune opens its page.
    dash_duo.find_element(f"#rankings-link-{fx.A}").click()
    dash_duo.wait_for_text_to_equal("#commune-title", "Phường Bình Phước (25195)", timeout=30)
    assert dash_duo.driver.current_url.endswith(f"/commune/{fx.A}")
    dash_duo.wait_for_text_to_equal("#commune-score", "98,7", timeout=30)
    assert dash_duo.get_logs() == []


def test_overview_map_click_opens_the_commune_page(dash_duo, rankings_app, free_port):
    dash_duo.start_server(rankings_app, port=free_port)
    dash_duo.wait_for_element("#overview-map path.choroplethlocation", timeout=30)
    until(lambda: len(dash_duo.find_elements("#overview-map path.choroplethlocation")) == 95, timeout=30)
    path = dash_duo.find_elements("#overview-map path.choroplethlocation")[40]
    from selenium.webdriver.common.action_chains import ActionChains
    ActionChains(dash_duo.driver).move_to_element(path).click().perform()
    until(lambda: "/commune/" in dash_duo.driver.current_url, timeout=30)
    code = dash_duo.driver.current_url.rsplit("/", 1)[-1]
    dash_duo.wait_for_contains_text("#commune-title", f"({code})", timeout=30)
