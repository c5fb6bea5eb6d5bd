"""The export room in a real browser: choose a period, download Biểu 06 and a CSV, check their figures."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from dash.testing.wait import until
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from config.settings import load_settings
from dashboards import loaders, loaders_export
from dashboards.app import create_app
from dashboards.exports.bieu06_xlsx import read_bieu06_xlsx
from store.db import create_store_engine, migrate
from tests.dashboards import sample


# Keeps the text of every console.error (chromium's log only says "Object" for Dash's error objects).
CONSOLE_HOOK = ("window.__ioc_errors = []; const original = console.error; console.error = function (...args) {"
                " window.__ioc_errors.push(args.map(a => { try { return JSON.stringify(a, Object.getOwnPropertyNames(a)); }"
                " catch (e) { return String(a); } }).join(' ')); original.apply(console, args); };")


@pytest.fixture
def export_app(tmp_path):
    """The app on a temp SQLite store holding the hand-checked sample facts, clock at 27/08/2025 10:00."""
    loaders.clear()
    loaders_export.clear()
    engine = create_store_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    sample.write_sample(engine)
    settings = load_settings(environ={}, data_dir=tmp_path / "data", auth_enabled=False)
    yield create_app(settings, engine, None, now=lambda: sample.NOW)
    engine.dispose()
    loaders.clear()
    loaders_export.clear()


def _download_to(dash_duo, folder: Path) -> None:
    folder.mkdir()
    dash_duo.driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})


def _downloaded(folder: Path, suffix: str) -> Path:
    until(lambda: [p for p in folder.iterdir() if p.suffix == suffix], timeout=20,
          msg=f"no {suffix} file was downloaded into {folder}")
    (path,) = [p for p in folder.iterdir() if p.suffix == suffix]
    return path


def _set_period(dash_duo, start: str, end: str) -> None:
    """Type both dates into Dash 4's range picker (start input: #export-period, end: #export-period-end-date)."""
    for selector, value in (("input#export-period", start), ("input#export-period-end-date", end)):
        element = dash_duo.find_element(selector)
        element.click()
        element.send_keys(Keys.CONTROL, "a")
        element.send_keys(value, Keys.ENTER)
    dash_duo.find_element("h2").click()       # close the calendar


def test_export_room_downloads_bieu06_and_csv_with_the_figures_on_screen(dash_duo, export_app, free_port, tmp_path):
    dash_duo.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CONSOLE_HOOK})
    dash_duo.start_server(export_app, port=free_port)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/export")
    _download_to(dash_duo, tmp_path / "downloads")

    # Period 25/08 .. 26/08 (the sample's days): the preview shows the hand-computed grand total.
    _set_period(dash_duo, "25/08/2025", "26/08/2025")
    dash_duo.wait_for_contains_text("#export-preview-note", "Số liệu từ 25/08/2025 đến 26/08/2025")
    total = dash_duo.find_element("#export-preview-table tr[data-kind='total']")
    cells = [c.text for c in total.find_elements(By.TAG_NAME, "td")]
    assert cells[1:] == ["Tổng cộng", "1.234", "1.000", "234", "0", "1.047", "550", "490", "7", "188", "180", "8"]

    # Biểu 06 through a background job: progress, then a download link, then a real browser download.
    dash_duo.find_element("#export-start").click()
    dash_duo.wait_for_contains_text("#export-status", "Đã xong", timeout=20)
    link = dash_duo.find_element("#export-download")
    assert link.text == "Tải tệp bieu06_75_2025-08-25_2025-08-26.xlsx"
    link.click()
    table = read_bieu06_xlsx(_downloaded(tmp_path / "downloads", ".xlsx"))
    grand = table.iloc[-1]
    assert grand[2] == "Tổng cộng"
    assert [grand[n] for n in range(3, 14)] == [1234, 1000, 234, 0, 1047, 550, 490, 7, 188, 180, 8]
    assert table.loc[table[2] == "Cấp tỉnh", 3].tolist() == [0]

    # The streamed CSV by day, from the direct link.
    dash_duo.find_element("#export-by input[value='day']").click()
    until(lambda: "by=day" in dash_duo.find_element("#export-link-csv").get_attribute("href"), timeout=10)
    dash_duo.find_element("#export-link-csv").click()
    path = _downloaded(tmp_path / "downloads", ".csv")
    assert path.name == "thong-ke-dung-han_day_75_2025-08-25_2025-08-26.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert [(r["Kỳ"], r["Mã đơn vị"], r["Tổng tiếp nhận trong kỳ"]) for r in rows] == [
        ("2025-08-25", sample.A, "600"), ("2025-08-25", sample.B, "534"),
        ("2025-08-26", sample.A, "0"), ("2025-08-26", sample.B, "0"), ("2025-08-26", sample.C, "100")]
    assert sum(int(r["Giải quyết trước hạn"]) + int(r["Giải quyết đúng hạn"]) for r in rows) == 1040
    assert rows[0]["Tỷ lệ đúng hạn theo Biểu 06: (trước hạn + đúng hạn) / đã giải quyết"] == f"{500 / 505:.6f}"
    # Other rooms' pages (e.g. /commune/<code>) log "ID not found in layout" for their own ids while
    # they are being built; this room must log nothing about its own components.
    errors = dash_duo.driver.execute_script("return window.__ioc_errors")
    assert [e for e in errors if "export" in e] == []
