"""Which province a request looks at, resolved in ONE place for every page, callback, download and map.

Province mode (the default): settings.province_code; a `?tinh=` in the URL is ignored.
National mode (settings.mode = national): the URL's `?tinh=NN` (two-digit official code) chooses a
province, a commune page (/commune/<code>) implies its commune's province, and otherwise the page
shows the nation. `install(app)` adds a request hook that runs after the login guard and narrows the
request's access scope to that province (access.scope.Scope.for_province): from then on
current_scope(), current_reader() and AppContext.province_code (None = the nation) all mean the
province shown, so rooms and loaders need no province argument of their own. A user bound to one
province gets OutOfScope (403) for another province's `?tinh`, and their own province when the URL
names none; an unknown code answers 400.

The URL is the state: a page GET carries it; a Dash callback's request carries the page's current URL
in its Referer (the app sends Referrer-Policy: same-origin, so same-origin requests have the full
URL). A forged Referer cannot widen access: whatever it names goes through the same scope check.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

from access.scope import DEFAULT_SCOPE_KEY, G_KEY, current_scope, set_current_scope
from store.scoped import ScopedReader

PARAM = "tinh"
NATIONAL_KEY = "ioc_scope_national"   # flask.g: whether the request's scope covered the nation before narrowing


class UnknownProvince(ValueError):
    """A `?tinh=` that is not an official two-digit province code (the web layer answers 400)."""


COMMUNE_PATH = re.compile(r"/commune/(\d{5})/?$")


def requested_province(app, query: dict | None = None, path: str | None = None) -> str | None:
    """The province the page's URL asks for (None = the nation); settings.province_code in province mode."""
    if not app.settings.national:
        return app.settings.province_code
    if query is None or path is None:
        page_path, page_query = page_url()
        query = page_query if query is None else query
        path = page_path if path is None else path
    value = query.get(PARAM)
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else None
    chosen = parse_province(value)
    commune = COMMUNE_PATH.search(path or "")
    if chosen is None and commune:
        from geo.registry import UnknownUnitError, province_of

        try:
            chosen = province_of(commune.group(1))
        except UnknownUnitError:
            return None   # the commune page itself says the code is unknown
    return chosen


def parse_province(value) -> str | None:
    """A `?tinh=` value as a registry province code; None for empty; UnknownProvince otherwise."""
    from geo.registry import provinces

    text = str(value or "").strip()
    if not text:
        return None
    code = text.zfill(2) if text.isdigit() else text
    if code not in provinces():
        raise UnknownProvince(f"?{PARAM}={text!r} is not an official two-digit province code (e.g. 01, 75)")
    return code


def install(dash_app) -> None:
    """National mode: narrow every request's scope to the province its page shows, after the login guard.

    Call after dashboards.auth.install: its guard goes first in the hook list, this one last; and the
    page layouts it primed (under a province scope) are the province-level rooms, to which this adds
    the nation's views so that the browser knows every component id a page may show.
    """
    from dashboards import context

    server = dash_app.server
    from dashboards import national_overview, national_rankings

    for module in (national_overview, national_rankings):   # the nation's views answer in every app
        module.callbacks.register(dash_app)
    _add_nation_views(dash_app)   # ... so their ids must be known in every app
    if not context.of(server).national:
        return
    server.before_request_funcs.setdefault(None, []).append(lambda: narrow_request_scope(context.current()))


def _add_nation_views(dash_app) -> None:
    from access.scope import empty_scope
    from dashboards import context, national_overview, national_rankings

    if dash_app.validation_layout is None:   # suppress_callback_exceptions: nothing is validated
        return
    known = {_id_key(c.id) for c in dash_app.validation_layout._traverse() if getattr(c, "id", None) is not None}
    with dash_app.server.test_request_context("/"):
        set_current_scope(empty_scope(None))
        app = context.current()
        views = [national_overview.validation_view(app), national_rankings.layout("vi", app)]
    dash_app.validation_layout.children.append(_without_ids(views, known))


def _id_key(component_id) -> str:
    import json

    return json.dumps(component_id, sort_keys=True) if isinstance(component_id, dict) else str(component_id)


def _without_ids(node, known: set[str]):
    """The tree without components whose id the validation layout already has (the shared controls)."""
    if isinstance(node, (list, tuple)):
        return [kept for child in node if (kept := _without_ids(child, known)) is not None]
    if getattr(node, "id", None) is not None and _id_key(node.id) in known:
        return None
    children = getattr(node, "children", None)
    if children is not None and not isinstance(children, str):
        node.children = _without_ids(children, known)
    return node


def narrow_request_scope(app) -> None:
    """Replace the request's scope by the one narrowed to the page's province (OutOfScope, UnknownProvince)."""
    from flask import current_app, g

    scope = g.get(G_KEY) or current_app.extensions.get(DEFAULT_SCOPE_KEY)
    if scope is None:       # a public route (login, assets) or a refused request: nothing to narrow
        return
    g.setdefault(NATIONAL_KEY, scope.national)
    set_current_scope(scope.for_province(requested_province(app)))


def sees_nation() -> bool:
    """Whether the caller's own scope (before narrowing) covers the nation: the breadcrumb links up to it only then."""
    from flask import g, has_request_context

    return not has_request_context() or bool(g.get(NATIONAL_KEY, True))


def province(app) -> str | None:
    """The province the current request shows (None = the nation)."""
    if not app.settings.national:
        return app.settings.province_code
    return current_scope().province_code


def reader(app, *, rankings: bool = False) -> ScopedReader:
    """A ScopedReader of the current request's (narrowed) scope: access.scope.current_reader."""
    from access.scope import current_reader

    return current_reader(app.engine, rankings=rankings)


def page_url() -> tuple[str, dict]:
    """(path, query) of the page behind the current request: its own for a GET, the Referer's for a callback."""
    from flask import has_request_context, request

    if not has_request_context():
        return "", {}
    if request.method == "GET":
        return request.path, request.args.to_dict()
    referer = urlsplit(request.headers.get("Referer", ""))
    return referer.path, dict(parse_qsl(referer.query))


def href(path: str, province_code: str | None, lang: str | None = None, **params) -> str:
    """A link to a room for a province (None: the nation), keeping the language."""
    pairs = [(PARAM, province_code)] if province_code else []
    pairs += [(k, v) for k, v in params.items() if v not in (None, "")]
    if lang and lang != "vi":
        pairs.append(("lang", lang))
    query = urlencode(pairs)
    return f"{path}?{query}" if query else path


def settings_for(app):
    """The app's settings with province_code = the province shown (for code that reads it from settings)."""
    shown = province(app)
    if shown is None or shown == app.settings.province_code:
        return app.settings
    return app.settings.model_copy(update={"province_code": shown})


def link(app, path: str, lang: str | None = None) -> str:
    """A link to another room showing the same province: `?tinh=` kept in national mode (none in province mode)."""
    return href(path, province(app) if app.national else None, lang)


def commune_map_url(app) -> str | None:
    """URL of the shown province's commune geometry; None at the nation's level (no commune map there)."""
    shown = province(app)
    return app.map_for(shown)[1] if shown is not None else None


def unit_filter(app) -> tuple[str, ...] | None:
    """The units a room may name for the shown province: the scope's own list, or in national mode the
    province's communes (readers filtered only by unit, such as the health readers, need them)."""
    from geo.registry import communes

    scope = current_scope()
    restricted = scope.restrict()
    if restricted is not None or not app.national or scope.province_code is None:
        return restricted
    return tuple(communes(scope.province_code).code)
