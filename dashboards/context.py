"""The per-app context (settings, store engine, map geometry, clock) that page callbacks read.

create_app stores one AppContext on its Flask server; callbacks and page layouts run inside that
server's request, so `current()` finds the right one even when several apps live in one process
(tests, or a second province).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

from flask import current_app, has_app_context

EXTENSION_KEY = "ioc_dashboard"


@dataclass(frozen=True)
class AppContext:
    settings: Any            # config.settings.Settings
    engine: Any              # sqlalchemy.Engine of the store
    map_geometry: Any        # geo.maps.MapGeometry, or None when no boundaries could be built
    now: Callable[[], dt.datetime] = dt.datetime.now
    geojson_url: str | None = None   # where the browser fetches the map geometry (versioned)
    topojson_url: str | None = None  # local stand-in for plotly.js's base-map CDN (see app._serve_geometry)
    geometries: Any = None           # national mode: dashboards.national_geo.GeometryCatalog (any province, the nation)

    @property
    def province_code(self) -> str | None:
        """The province shown: settings.province_code, or in national mode the request's (None = the nation).

        National mode resolves it from the page's URL in dashboards.scope_url, which narrows the
        request's access scope; this reads that scope.
        """
        if not self.national:
            return self.settings.province_code
        from access.scope import current_scope

        return current_scope().province_code

    @property
    def national(self) -> bool:
        """National mode: every province, chosen per request (dashboards.scope_url)."""
        return bool(getattr(self.settings, "national", False))

    def map_for(self, province_code: str | None) -> tuple[Any, str | None]:
        """(MapGeometry, URL) of a province's communes, or of the 34 provinces for None in national mode."""
        if self.geometries is None:
            return self.map_geometry, self.geojson_url
        return self.geometries.geometry(province_code), self.geometries.url(province_code)

    def today(self) -> dt.date:
        """Today's date by the app's clock."""
        return self.now().date()


def register(server, context: AppContext) -> AppContext:
    """Attach the context to a Flask server."""
    server.extensions[EXTENSION_KEY] = context
    return context


def current() -> AppContext:
    """Return the context of the app serving the current request."""
    if not has_app_context():
        raise RuntimeError("dashboards.context.current() needs a request of an app made by dashboards.app.create_app")
    try:
        return current_app.extensions[EXTENSION_KEY]
    except KeyError:
        raise RuntimeError("This Flask app has no dashboard context; build it with dashboards.app.create_app") from None


def of(server) -> AppContext:
    """Return the context attached to a given Flask server (for scripts and tests)."""
    return server.extensions[EXTENSION_KEY]
