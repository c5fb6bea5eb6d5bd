"""Overview callbacks on a real store (SQLite and PostgreSQL): levels, stale units, alerts, incidents."""
from __future__ import annotations

import importlib

import pytest

from config.settings import load_settings
from dashboards import loaders, loaders_overview
from dashboards.app import create_app
from geo.maps import build_map_geometry
from tests.dashboards import fixtures_overview as fx
from tests.dashboards import sample

PERIOD = ("2025-07-01", "2025-08-27")


@pytest.fixture(scope="module")
def geometry(tmp_path_factory):
    return build_map_geometry("75", tmp_path_factory.mktemp("geo"))


@pytest.fixture
def app(engine, geometry, tmp_path):
    loaders.clear()
    loaders_overview.clear()
    fx.write_overview(engine)
    yield create_app(load_settings(environ={}, data_dir=tmp_path, auth_enabled=False), engine, geometry, now=lambda: sample.NOW)
    loaders.clear()
    loaders_overview.clear()


@pytest.fixture
def overview(app):
    return importlib.import_module("dashboards.pages.overview")


def _texts(component) -> list[str]:
    """Every string inside a Dash component tree, depth first."""
    if isinstance(component, str):
        return [component]
    children = getattr(component, "children", component if isinstance(component, list) else None)
    if children is None:
        return []
    children = children if isinstance(children, list) else [children]
    return [text for child in children for text in _texts(child)]


def _hrefs(component) -> list[str]:
    found = [component.href] if getattr(component, "href", None) else []
    children = getattr(component, "children", component if isinstance(component, list) else None)
    children = children if isinstance(children, list) else ([children] if children is not None else [])
    return found + [h for child in children for h in _hrefs(child)]


def test_strip_is_commune_level_and_the_province_level_unit_is_shown_apart(app, overview):
    with app.server.test_request_context("/"):
        strip = overview.update_kpis(*PERIOD, 0, "vi")
        province = overview.update_province_level(*PERIOD, 0, "vi")
    assert strip[0] == "1.279"                        # 1.234 + 45 from E; the province's 400 not included
    assert strip[-3] == "Cập nhật lần cuối: 09:30 27/08/2025 · 1 đơn vị dữ liệu cũ"
    assert strip[-2] == "freshness-stale"
    assert _texts(province) == ["Cấp tỉnh (tính riêng)", "Hồ sơ tiếp nhận: 400", "Đúng hạn (766): 100,00%",
                                "Tỷ lệ trực tuyến: 75,00%"]


def test_field_filter_narrows_the_strip(app, overview):
    with app.server.test_request_context("/"):
        assert overview.update_kpis(*PERIOD, 0, "vi", "dat_dai")[0] == "—"
        assert overview.update_kpis(*PERIOD, 0, "vi", "ho_tich")[0] == "1.279"


def test_alerts_list_each_group_with_links(app, overview):
    with app.server.test_request_context("/"):
        panel = overview.update_alerts(*PERIOD, 0, "vi")
    groups = {child.id: child for child in panel[1:]}
    assert set(groups) == {"overview-alerts-overdue", "overview-alerts-nearly_due", "overview-alerts-behind",
                           "overview-alerts-stale", "overview-alerts-systems"}
    # End-of-period overdue stocks: Bình Phước 5, Phước Bình 5 (tie: lower code first), Đồng Xoài 3.
    assert _texts(groups["overview-alerts-overdue"])[1:] == [
        "3", "Phường Bình Phước", "5 hồ sơ", "Phường Phước Bình", "5 hồ sơ", "Phường Đồng Xoài", "3 hồ sơ"]
    assert _hrefs(groups["overview-alerts-overdue"]) == ["/commune/25195", "/commune/25220", "/commune/25210"]
    assert _texts(groups["overview-alerts-nearly_due"])[0] == "Hồ sơ sắp đến hạn (trong 24 giờ)"
    assert _texts(groups["overview-alerts-behind"]) == [
        "Đúng hạn (766) dưới 95% từ 3 ngày liên tiếp", "1", "Phường Phước Bình", "3 ngày, hiện 50,00%"]
    assert _texts(groups["overview-alerts-stale"])[2:] == ["Phường Phước Bình", "từ 05:00 27/08/2025"]
    assert _hrefs(groups["overview-alerts-systems"]) == ["/systems#tthc"]
    assert "ngừng hoạt động từ 08:00 26/08/2025" in _texts(groups["overview-alerts-systems"])


def test_alert_links_keep_the_language(app, overview):
    with app.server.test_request_context("/"):
        panel = overview.update_alerts(*PERIOD, 0, "en")
    assert "/commune/25220?lang=en" in _hrefs(panel) and "/systems?lang=en#tthc" in _hrefs(panel)
    assert _texts(panel)[0] == "As of 27/08/2025"


def test_stale_units_are_marked_on_the_map_never_coloured(app, overview):
    with app.server.test_request_context("/"):
        figure = overview.update_map(*PERIOD, "received", 0, "vi")
    grey, coloured, stale_area, stale_mark = figure.data
    assert len(grey.locations) == 91 and list(coloured.locations) == [sample.A, sample.B, sample.C]
    assert list(stale_area.locations) == [fx.E] and fx.E not in coloured.locations
    assert stale_area.text == ("dữ liệu cũ — lần thu thập thành công cuối: 05:00 27/08/2025",)
    assert stale_mark.type == "scattergeo" and stale_mark.marker.symbol == "x-thin-open"


def test_rankings_leave_stale_units_out_and_rank_the_service_index(app, overview):
    with app.server.test_request_context("/"):
        best, _worst, ranked_by = overview.update_rankings(*PERIOD, "service_index", 0, "vi")
    # Score = (20 x 766 share + 6 x min(1, online / 0.5)) / 26 x 100 (other components: no data).
    # A: (20 x 590/600 + 6) / 26 = 98,7; B: (20 x 530/535 + 6) / 26 = 99,3; C: 100.
    assert _texts(best)[3:] == ["1", "Phường Phước Long", "100,0", "2", "Phường Đồng Xoài", "99,3",
                                "3", "Phường Bình Phước", "98,7"]
    assert ranked_by == "Xếp hạng theo: Chỉ số phục vụ (766, thang 100). Không xếp hạng đơn vị có dữ liệu cũ"


def test_trend_shades_incidents(app, overview):
    with app.server.test_request_context("/"):
        figure = overview.update_trend(*PERIOD, 0, "vi")
    *_bars_and_line, markers = figure.data
    assert [s.x0 for s in figure.layout.shapes] == [fx.INCIDENT_START]
    assert [s.x1 for s in figure.layout.shapes] == [fx.INCIDENT_END]
    assert markers.text == ("Sự cố Hệ thống giải quyết TTHC: 08:00 26/08/2025 – 10:00 26/08/2025",)
    # Commune level only: 25/8 = A + B + E's 10, 26/8 = C + E's 10 (the province's 300 left out).
    online, direct = figure.data[0], figure.data[1]
    assert list(online.y) == [10, 910, 110] and list(direct.y) == [5, 239, 5]


def test_no_alerts_and_no_incidents_on_the_plain_sample(engine, geometry, tmp_path):
    loaders.clear()
    loaders_overview.clear()
    sample.write_sample(engine)
    app = create_app(load_settings(environ={}, data_dir=tmp_path, auth_enabled=False), engine, geometry, now=lambda: sample.NOW)
    overview = importlib.import_module("dashboards.pages.overview")
    with app.server.test_request_context("/"):
        panel = overview.update_alerts("2025-07-01", "2025-07-31", 0, "vi")
        figure = overview.update_trend(*PERIOD, 0, "vi")
    assert _texts(panel) == ["Tính đến 31/07/2025", "Không có cảnh báo"]
    assert len(figure.data) == 3 and not figure.layout.shapes
    loaders.clear()
    loaders_overview.clear()
