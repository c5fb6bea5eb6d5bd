"""National mode's map geometry: the 34 province outlines and each province's communes, served like
/geo/<province>.geojson (static files, content-hashed URL, year-long immutable cache, gzip).

Route: /geo/national/<code>.geojson, code "VN" for the nation or a two-digit province code. A
province's commune geometry is built on first use (geo.maps, cached on disk), so start-up builds only
the national outlines.
"""
from __future__ import annotations

import threading
from pathlib import Path

from flask import abort

from dashboards.geo_files import content_hash, geojson_response, gzipped
from geo.maps import build_map_geometry
from geo.national import NATION, build_national_geometry


class GeometryCatalog:
    """Map geometry per code (NATION or a province), with the versioned URL figures fetch it from."""

    def __init__(self, settings, url_prefix: str):
        self.settings = settings
        self.url_prefix = url_prefix.rstrip("/")
        self._entries: dict[str, tuple] = {}
        self._lock = threading.Lock()

    def geometry(self, code: str | None):
        """geo.maps.MapGeometry of the nation (code None or NATION) or of a province."""
        return self._entry(code or NATION)[0]

    def url(self, code: str | None) -> str:
        """Where the browser fetches that geometry; the ?v= hash changes when the file does."""
        code = code or NATION
        return f"{self.url_prefix}/geo/national/{code}.geojson?v={self._entry(code)[2]}"

    def _entry(self, code: str) -> tuple:
        with self._lock:
            if code not in self._entries:
                geometry = self._build(code)
                path = Path(geometry.path)
                self._entries[code] = (geometry, path, content_hash(path))
            return self._entries[code]

    def _build(self, code: str):
        settings = self.settings
        if code == NATION:
            return build_national_geometry(settings.data_dir, settings.provinces_boundaries_path,
                                           settings.provinces_code_column)
        return build_map_geometry(code, settings.data_dir, settings.boundaries_path, settings.boundaries_code_column,
                                  settings.boundaries_attribution)

    def response(self, code: str):
        """The file as a long-cached response (gzip when the browser takes it)."""
        from geo.registry import provinces
        if code != NATION and code not in provinces():
            abort(404)
        _geometry, path, etag = self._entry(code)
        return geojson_response(path, etag, gzipped(path))


def register(app, settings) -> GeometryCatalog:
    """Add /geo/national/<code>.geojson to the Dash app and build the national outlines now."""
    catalog = GeometryCatalog(settings, app.get_relative_path("/"))
    app.server.add_url_rule("/geo/national/<code>.geojson", endpoint="ioc_national_geojson", view_func=catalog.response)
    catalog.geometry(NATION)
    return catalog
