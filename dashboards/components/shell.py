"""The frame around every room: header with navigation and language switch, main area, footer."""
from __future__ import annotations

import dash
from dash import dcc, html

from dashboards.components.kiosk import kiosk_components
from dashboards.i18n import DEFAULT_LANGUAGE, switch_href, t, with_lang

# Rooms appear in the navigation in their register_page `order`, labelled by the i18n key given as
# register_page(..., nav_key="nav_<room>"); pages without nav_key (e.g. /commune/<code>) are hidden.
# register_page(..., roles=("admin",)) shows a room only to those roles (the room still checks on the server).


def shell(province_name: str) -> html.Div:
    """Build the app layout around dash.page_container (rendered in Vietnamese; callbacks switch language)."""
    lang = DEFAULT_LANGUAGE
    return html.Div(className="app", id="app-root", children=[  # id: kiosk mode restyles it
        dcc.Location(id="app-url", refresh=False),
        html.Header(className="app-header", children=[
            html.Div(className="app-brand", children=[
                html.H1(t("app_title", lang), id="app-title"),
                html.P(t("app_subtitle", lang, province=province_name), id="app-subtitle"),
            ]),
            html.Nav(nav_links("/", lang), id="app-nav", className="app-nav"),
            html.Div(id="app-user", className="app-user"),  # signed-in user and logout (dashboards.auth)
            dcc.Link(t("switch_language", lang), id="app-lang-switch", href=switch_href("/", ""),
                     className="lang-switch", title=t("switch_language_title", lang)),
        ]),
        html.Main(dash.page_container, className="app-main"),
        html.Footer(t("footer", lang), id="app-footer", className="app-footer"),
        *kiosk_components(),
    ])


def nav_links(pathname: str | None, lang: str, role: str | None = None) -> list:
    """One link per registered page the role may use (role None: unrestricted pages only), keeping the language."""
    links = []
    rooms = [p for p in dash.page_registry.values()
             if p.get("nav_key") and (p.get("roles") is None or role in p["roles"])]
    for page in sorted(rooms, key=lambda p: (p.get("order") or 0, p["path"])):
        path = page["relative_path"]
        name = t(page["nav_key"], lang)
        active = "nav-link active" if path == (pathname or "/") else "nav-link"
        links.append(dcc.Link(name, href=_room_href(path, lang), className=active))
    return links


def _room_href(path: str, lang: str) -> str:
    """A room's link; in national mode it keeps the province shown (?tinh=), so moving between rooms stays there."""
    from flask import has_request_context

    from dashboards import context, scope_url

    if has_request_context() and context.current().national:
        return scope_url.link(context.current(), path, lang)
    return with_lang(path, lang)


def breadcrumb(province_code: str | None, lang: str, commune: tuple[str, str] | None = None,
               path: str = "/") -> html.Nav | None:
    """National mode's "Toàn quốc › Tỉnh X › Xã Y" with links back up (None in province mode).

    `path` is the room the nation and province links open (the overview by default, or e.g. /rankings).
    """
    from dashboards import context, scope_url
    from geo.registry import province as registry_province

    if not context.current().national:
        return None
    nation = t("national_title", lang)
    # A user bound to one province has no nation to go up to: the first crumb is then plain text.
    items: list = [dcc.Link(nation, href=scope_url.href(path, None, lang), id="breadcrumb-nation")
                   if scope_url.sees_nation() else html.Span(nation, id="breadcrumb-nation")]
    if province_code is not None:
        name = registry_province(province_code).name
        items += [html.Span(" › ", className="sep"),
                  dcc.Link(name, href=scope_url.href(path, province_code, lang), id="breadcrumb-province")
                  if commune else html.Span(name, id="breadcrumb-province", className="current")]
    if commune is not None:
        items += [html.Span(" › ", className="sep"), html.Span(commune[1], id="breadcrumb-commune", className="current")]
    return html.Nav(items, className="breadcrumb", id="breadcrumb", **{"aria-label": t("national_breadcrumb", lang)})
