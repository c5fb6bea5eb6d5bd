"""The Dash application: one room per page under dashboards/pages, assets served locally, no CDN.

`create_app(settings, engine, map_geometry)` returns the app; `app.server` is the Flask WSGI
application gunicorn serves. The map geometry is a static GeoJSON file served once at
/geo/<province>.geojson (long-lived cache, ETag); callbacks only ever send values.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Callable

import dash
from dash import Input, Output
from flask import Response, abort

from access.scope import current_scope
from dashboards import auth, context, national_geo, scope_url
from dashboards.cache import init_cache
from dashboards.components.kiosk import register_kiosk_callbacks
from dashboards.components.shell import nav_links, shell
from dashboards.exports.routes import register_routes as register_export_routes
from dashboards.geo_files import MAX_AGE_S, content_hash, geojson_response, gzipped
from dashboards.i18n import lang_from_search, switch_href, t
from geo.registry import province as registry_province

PACKAGE_DIR = Path(__file__).resolve().parent
PAGES_DIR = PACKAGE_DIR / "pages"
ASSETS_DIR = PACKAGE_DIR / "assets"
# plotly.js fetches a world topojson for every geo trace, even with the base map hidden; it gets an
# empty one from us instead of cdn.plot.ly (no external requests, and none would work offline).
BASE_MAP_LAYERS = ("coastlines", "land", "ocean", "lakes", "rivers", "countries", "subunits")
EMPTY_TOPOLOGY = json.dumps({"type": "Topology", "arcs": [], "objects": {
    name: {"type": "GeometryCollection", "geometries": []} for name in BASE_MAP_LAYERS}})


def create_app(settings, engine, map_geometry, now: Callable[[], dt.datetime] = dt.datetime.now) -> dash.Dash:
    """Build the Dash app for the configured province, reading the given store."""
    province = registry_province(settings.province_code)
    title = t("national_title", settings.language) if settings.national else province.name
    app = dash.Dash(
        "dashboards", use_pages=True, pages_folder=str(PAGES_DIR), assets_folder=str(ASSETS_DIR),
        serve_locally=True, title=t("app_title", settings.language), update_title=None,
        suppress_callback_exceptions=False,
    )
    geojson_url = _serve_geometry(app, map_geometry)
    topojson_url = _serve_empty_base_map(app)
    register_export_routes(app)  # /export/download, /export/jobs/<id>
    geometries = national_geo.register(app, settings) if settings.national else None  # national mode's maps
    context.register(app.server, context.AppContext(settings=settings, engine=engine, map_geometry=map_geometry,
                                                    now=now, geojson_url=geojson_url, topojson_url=topojson_url,
                                                    geometries=geometries))
    init_cache(app.server, settings)  # loaders' results: Redis when settings.redis_url, else in this process
    app.layout = shell(title)
    _register_shell_callbacks(app, title)
    register_kiosk_callbacks(app)
    _claim_page_callbacks(app)
    auth.install(app, settings, engine, now)  # login guard, sessions, CSRF, 403 on OutOfScope; last: it primes page layouts
    scope_url.install(app)  # national mode: the request's scope narrowed to the province its URL shows
    return app


def _serve_geometry(app: dash.Dash, map_geometry) -> str | None:
    """Add the /geo/<province>.geojson route; return the versioned URL the figures use (None: no map)."""
    path, etag = _geometry_file(map_geometry)
    compressed = gzipped(path) if path is not None else None

    def geojson(province: str):
        # Without geometry the route still answers 404 rather than falling through to the page router.
        if path is None or province != map_geometry.province_code:
            abort(404)
        return geojson_response(path, etag, compressed)

    app.server.add_url_rule("/geo/<province>.geojson", endpoint="ioc_geojson", view_func=geojson)
    if path is None:
        return None
    return app.get_relative_path(f"/geo/{map_geometry.province_code}.geojson") + f"?v={etag}"


def _geometry_file(map_geometry) -> tuple[Path | None, str | None]:
    if map_geometry is None:
        return None, None
    path = Path(map_geometry.path)
    if not path.is_file():
        raise FileNotFoundError(f"Map geometry file {path} does not exist; rebuild it with geo.maps.build_map_geometry")
    return path, content_hash(path)


def _serve_empty_base_map(app: dash.Dash) -> str:
    """Add /geo/topojson/<name>.json (an empty base map); return the topojsonURL for graph configs."""
    def topojson(name: str):
        response = Response(EMPTY_TOPOLOGY, mimetype="application/json")
        response.cache_control.public = True
        response.cache_control.max_age = MAX_AGE_S
        return response

    app.server.add_url_rule("/geo/topojson/<name>.json", endpoint="ioc_topojson", view_func=topojson)
    return app.get_relative_path("/geo/topojson/")


def _register_shell_callbacks(app: dash.Dash, province_name: str) -> None:
    @app.callback(
        Output("app-title", "children"), Output("app-subtitle", "children"), Output("app-nav", "children"),
        Output("app-lang-switch", "children"), Output("app-lang-switch", "href"),
        Output("app-lang-switch", "title"), Output("app-footer", "children"),
        Input("app-url", "pathname"), Input("app-url", "search"),
    )
    def update_shell(pathname, search):
        lang = lang_from_search(search)
        page_path = app.strip_relative_path(pathname or "/")
        where = t("national_title", lang) if context.current().national else province_name
        return (t("app_title", lang), t("app_subtitle", lang, province=where),
                nav_links(app.get_relative_path("/" + (page_path or "")), lang, current_scope().role),
                t("switch_language", lang),
                switch_href(pathname, search), t("switch_language_title", lang), t("footer", lang))


def _claim_page_callbacks(app: dash.Dash) -> None:
    """Move the page callbacks that `dash.callback` queued globally onto this app now.

    Dash hands them to whichever app serves its first request; taking them at creation keeps two
    apps in one process (tests, scripts) from stealing or duplicating each other's callbacks.
    """
    with app.server.test_request_context("/"):
        app._setup_server()  # noqa: SLF001 - Dash's own first-request hook, run early on purpose
