"""The app without a browser: routes, caching headers, callbacks per app, page callbacks on real data."""
from __future__ import annotations

import datetime as dt
import importlib
import json
import re

import pytest

from config.settings import load_settings
from dashboards import context, loaders
from dashboards.app import EMPTY_TOPOLOGY, create_app
from geo.maps import build_map_geometry
from kpis.definitions import KPIS
from tests.dashboards import sample


@pytest.fixture(scope="module")
def geometry(tmp_path_factory):
    return build_map_geometry("75", tmp_path_factory.mktemp("geo"))


@pytest.fixture
def app(engine, geometry, tmp_path):
    loaders.clear()
    sample.write_sample(engine)
    yield create_app(load_settings(environ={}, data_dir=tmp_path, auth_enabled=False), engine, geometry, now=lambda: sample.NOW)
    loaders.clear()


@pytest.fixture
def overview(app):
    # Dash executes page modules itself when the app is built; use the module it registered.
    return importlib.import_module("dashboards.pages.overview")


def test_app_exposes_a_wsgi_server_and_its_context(app, engine, geometry):
    assert callable(app.server.wsgi_app)
    ctx = context.of(app.server)
    assert ctx.engine is engine and ctx.map_geometry is geometry
    assert ctx.today() == dt.date(2025, 8, 27)
    assert ctx.geojson_url.startswith("/geo/75.geojson?v=")


def test_geometry_is_served_once_with_long_cache_and_etag(app, geometry):
    client = app.server.test_client()
    response = client.get("/geo/75.geojson")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert json.loads(response.data)["features"][0]["id"] == "25195"
    assert response.data == geometry.path.read_bytes()
    again = client.get("/geo/75.geojson", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert client.get("/geo/01.geojson").status_code == 404


def test_base_map_is_an_empty_local_topology(app):
    response = app.server.test_client().get("/geo/topojson/world_110m.json")
    assert response.status_code == 200
    assert json.loads(response.data) == json.loads(EMPTY_TOPOLOGY)


def test_index_loads_nothing_from_outside(app):
    html = app.server.test_client().get("/").get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(not s.startswith(("http:", "https:", "//")) for s in sources), sources


def test_each_app_owns_its_page_callbacks(engine, geometry, tmp_path):
    settings = load_settings(environ={}, data_dir=tmp_path, auth_enabled=False)
    first = create_app(settings, engine, geometry)
    second = create_app(settings, engine, geometry)
    for app in (first, second):
        outputs = [d["output"] for d in app.server.test_client().get("/_dash-dependencies").json]
        assert sum("overview-map.figure" == o for o in outputs) == 1
        assert sum("overview-kpi-received.children" in o for o in outputs) == 1


def test_kpi_callback_formats_hand_computed_values(app, overview):
    with app.server.test_request_context("/"):
        out = overview.update_kpis("2025-07-01", "2025-08-27", 0, "vi")
    values = dict(zip([k.key for k in KPIS], [out[i * 4] for i in range(len(KPIS))]))
    assert values == {"received": "1.234", "resolved": "1.047", "on_time_766": "98,79%", "on_time_bieu06": "99,33%",
                      "online_share": "81,04%", "overdue_pending": "8"}
    assert out[-3:] == ("Cập nhật lần cuối: 09:30 27/08/2025", "freshness-ok", "Số liệu từ 01/07/2025 đến 27/08/2025")


def test_a_period_without_data_shows_dashes_with_a_no_data_title(app, overview):
    with app.server.test_request_context("/"):
        out = overview.update_kpis("2025-07-01", "2025-07-31", 0, "en")
    assert out[0:2] == ("—", "no data")
    assert out[4:6] == ("—", "no data")


def test_reversed_dates_are_swapped(app, overview):
    with app.server.test_request_context("/"):
        assert overview.update_kpis("2025-08-27", "2025-07-01", 0, "vi")[0] == "1.234"


def test_map_sends_values_only_and_greys_units_without_data(app, overview):
    with app.server.test_request_context("/"):
        figure = overview.update_map("2025-07-01", "2025-08-27", "on_time_766", 0, "vi")
    grey, coloured = figure.data
    assert grey.geojson == coloured.geojson == context.of(app.server).geojson_url
    assert len(grey.locations) == 92 and set(grey.hovertemplate.split("<br>")[1:]) == {"không có dữ liệu<extra></extra>"}
    assert dict(zip(coloured.locations, coloured.z)) == pytest.approx(sample.UNIT_766)
    assert list(coloured.text) == ["98,33%", "99,07%", "100,00%"]
    assert figure.layout.geo.fitbounds == "locations" and figure.layout.geo.visible is False
    # Values only: the JSON sent to the browser stays far under the 50 KB budget.
    assert len(figure.to_json()) < 50_000


def test_rankings_follow_the_kpi_direction(app, overview):
    with app.server.test_request_context("/"):
        best, worst, ranked_by = overview.update_rankings("2025-07-01", "2025-08-27", "overdue_pending", 0, "vi")
    rows = best.children[1].children
    # Fewer overdue is better: Phước Long (0) first, Đồng Xoài (3), then Bình Phước (5).
    assert [r.children[1].children.children for r in rows] == ["Phường Phước Long", "Phường Đồng Xoài", "Phường Bình Phước"]
    assert rows[0].children[1].children.href == "/commune/25217"  # a name opens the commune's page
    assert [r.children[2].children for r in rows] == ["0", "3", "5"]
    assert ranked_by == "Xếp hạng theo: Quá hạn đang giải quyết"


def test_trend_stacks_online_and_direct(app, overview):
    with app.server.test_request_context("/"):
        figure = overview.update_trend("2025-07-01", "2025-08-27", 0, "en")
    online, direct, line = figure.data
    assert list(online.y) == [900, 100] and list(direct.y) == [234, 0]
    assert online.name == "Received online" and figure.layout.barmode == "stack"
    assert list(line.y) == pytest.approx([950 / 957, 1.0])


def test_period_presets(overview):
    history, today = dt.date(2025, 7, 1), dt.date(2025, 8, 27)
    assert overview.preset_period("7d", history, today) == (dt.date(2025, 8, 21), today)
    assert overview.preset_period("30d", history, today) == (dt.date(2025, 7, 29), today)
    assert overview.preset_period("month", history, today) == (dt.date(2025, 8, 1), today)
    assert overview.preset_period("all", history, today) == (history, today)
    assert overview.preset_period("30d", history, dt.date(2025, 7, 10)) == (history, dt.date(2025, 7, 10))
    assert overview.default_period(history, today) == (history, today)
    assert overview.preset_period("year", history, today) == (history, today)  # clipped to history start
    assert overview.preset_period("last_month", history, today) == (history, dt.date(2025, 7, 31))
    with pytest.raises(ValueError, match="Unknown period preset 'decade'"):
        overview.preset_period("decade", history, today)


def test_freshness_flags_stale_data(overview):
    last = dt.datetime(2025, 8, 27, 6, 0)
    assert overview.freshness_text(last, dt.datetime(2025, 8, 27, 8, 0), 3 * 3600, "vi") == (
        "Cập nhật lần cuối: 06:00 27/08/2025", "freshness-ok")
    assert overview.freshness_text(last, dt.datetime(2025, 8, 27, 10, 0), 3 * 3600, "en") == (
        "Last updated: 06:00 27/08/2025 (data is stale)", "freshness-stale")
    assert overview.freshness_text(None, last, 60, "vi")[0] == "Cập nhật lần cuối: chưa có lần thu thập nào"


def test_without_geometry_the_room_still_renders(engine, tmp_path):
    app = create_app(load_settings(environ={}, data_dir=tmp_path, auth_enabled=False), engine, None, now=lambda: sample.NOW)
    client = app.server.test_client()
    assert client.get("/").status_code == 200
    assert client.get("/geo/75.geojson").status_code == 404
    overview = importlib.import_module("dashboards.pages.overview")
    with app.server.test_request_context("/"):
        rendered = str(overview.layout())
    assert "Chưa có dữ liệu ranh giới để vẽ bản đồ" in rendered
