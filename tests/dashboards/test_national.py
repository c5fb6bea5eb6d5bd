"""National mode in a real browser: the nation's overview, a province drill-down, a commune's breadcrumb."""
from __future__ import annotations

import pytest
from dash.testing.wait import until

from config.settings import load_settings
from dashboards import loaders
from dashboards.app import create_app
from dashboards.format import format_count
from geo.registry import communes
from store import readers
from store.db import create_store_engine, migrate
from tests import national_sample

START = national_sample.NOW.date().replace(month=7, day=1)   # default period: history start .. today
END = national_sample.NOW.date()


@pytest.fixture(scope="module")
def geometry_dir(tmp_path_factory):
    """One data_dir for the module: the national outlines are built once (a few seconds)."""
    return tmp_path_factory.mktemp("national-geo")


@pytest.fixture
def national_app(tmp_path, geometry_dir):
    """National mode on a SQLite store holding three provinces' facts, clock at 27/08/2025 10:00."""
    loaders.clear()
    engine = create_store_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    national_sample.write(engine)
    settings = load_settings(environ={}, data_dir=geometry_dir, auth_enabled=False, mode="national")
    yield create_app(settings, engine, None, now=lambda: national_sample.NOW), engine
    engine.dispose()
    loaders.clear()


def _received(engine, codes) -> str:
    totals = readers.period_totals(engine, START, END, unit_codes=list(codes), group_by=())
    return format_count(int(totals["received_online"].iat[0] + totals["received_direct"].iat[0]), "vi")


def test_nation_drills_down_to_a_province_and_a_commune(dash_duo, national_app, free_port):
    app, engine = national_app
    dash_duo.start_server(app, port=free_port)
    every_commune = [code for units in national_sample.UNITS.values() for code in units]
    dash_duo.wait_for_text_to_equal("#nation-kpi-received", _received(engine, every_commune))
    dash_duo.wait_for_text_to_equal("#breadcrumb-nation", "Toàn quốc")
    # The map draws all 34 provinces (31 of them grey: no data).
    until(lambda: len(dash_duo.find_elements("#nation-map path.choroplethlocation")) == 34, timeout=15,
          msg="the national map did not draw 34 provinces")
    dash_duo.wait_for_contains_text("#nation-best-table", "Thành phố Hà Nội")

    # A click on a province of the map drills down to it; the breadcrumb leads back to the nation.
    from selenium.webdriver import ActionChains
    province = dash_duo.find_elements("#nation-map path.choroplethlocation")[-1]
    ActionChains(dash_duo.driver).move_to_element(province).click().perform()
    until(lambda: "tinh=" in dash_duo.driver.current_url, timeout=10, msg="a map click did not drill down")
    dash_duo.wait_for_element("#breadcrumb-province")
    dash_duo.find_element("#breadcrumb-nation").click()
    until(lambda: "tinh=" not in dash_duo.driver.current_url, timeout=10, msg="no way back to the nation")
    dash_duo.wait_for_contains_text("#nation-best-table", "Thành phố Hà Nội")

    dash_duo.driver.find_element("xpath", "//*[@id='nation-best-table']//a[text()='Thành phố Hà Nội']").click()
    until(lambda: "tinh=01" in dash_duo.driver.current_url, timeout=10, msg="no drill-down to Hà Nội")
    hanoi = communes("01").code
    dash_duo.wait_for_text_to_equal("#overview-kpi-received", _received(engine, hanoi))
    dash_duo.wait_for_text_to_equal("#breadcrumb-province", "Thành phố Hà Nội")
    until(lambda: len(dash_duo.find_elements("#overview-map path.choroplethlocation")) == len(hanoi), timeout=15,
          msg="the province map did not draw Hà Nội's communes")
    # Moving to another room keeps the province shown.
    until(lambda: "tinh=01" in dash_duo.find_element("#app-nav a[href*='rankings']").get_attribute("href"),
          timeout=10, msg="the navigation lost the province")

    dash_duo.driver.get(dash_duo.server_url + "/commune/00004")
    dash_duo.wait_for_text_to_equal("#breadcrumb-commune", "Phường Ba Đình")
    assert dash_duo.find_element("#breadcrumb-province").text == "Thành phố Hà Nội"
    dash_duo.find_element("#breadcrumb-province").click()
    until(lambda: "tinh=01" in dash_duo.driver.current_url, timeout=10, msg="breadcrumb did not lead back up")
    dash_duo.wait_for_text_to_equal("#overview-kpi-received", _received(engine, hanoi))
    logs = dash_duo.get_logs()
    assert logs == [], [entry["message"][:300] for entry in logs][:8]
