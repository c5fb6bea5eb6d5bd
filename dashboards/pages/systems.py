"""System-health room (/systems): status board, commune connectivity map, uptime, latency, incidents,
maintenance calendar and concurrent users. Each board row has id systems-<code>; /systems#<code> scrolls to it.
"""
from __future__ import annotations

import dash
from dash import Input, Output, State, callback, clientside_callback, dcc, html

from access.scope import current_reader
from dashboards.cache import rendered
from dashboards import context, scope_url
from dashboards import loaders_systems as loaders
from dashboards.components.charts import choropleth_figure
from dashboards.components.health import (
    SHARE_UP, commune_targets, gauge_figure, incident_table, incident_timeline_figure, latency_figure,
    maintenance_table, status_board, system_label, uptime_table,
)
from dashboards.format import format_datetime
from dashboards.i18n import normalise_lang, t, with_lang

dash.register_page(__name__, path="/systems", name="Hệ thống", title="Hệ thống — IOC", order=40,
                   nav_key="nav_systems")

PREFIX = "systems"
LANG = f"{PREFIX}-lang"
INTERVAL = f"{PREFIX}-interval"
WINDOW = f"{PREFIX}-window"
FRESHNESS = f"{PREFIX}-freshness"
BOARD = f"{PREFIX}-board"
UPTIME = f"{PREFIX}-uptime"
MAP = f"{PREFIX}-map"
MAP_KIND = f"{PREFIX}-map-kind"
COMMUNE = f"{PREFIX}-commune"
LATENCY = f"{PREFIX}-latency"
LATENCY_SYSTEM = f"{PREFIX}-latency-system"
TIMELINE = f"{PREFIX}-timeline"
INCIDENTS = f"{PREFIX}-incidents"
MAINTENANCE = f"{PREFIX}-maintenance"
GAUGES = f"{PREFIX}-gauges"
GAUGES_SECTION = f"{PREFIX}-gauges-section"
ANCHOR = f"{PREFIX}-anchor"
WINDOWS = tuple(loaders.WINDOWS)
DEFAULT_WINDOW = "24h"
ALL_KINDS = "*"
REFRESH_S = 60
STALE_AFTER_ROUNDS = 5   # no round for this many intervals: the board itself is stale
MAP_HEIGHT = 460


def layout(lang: str | None = None, **_query) -> html.Div:
    """Render the room in the URL's language; callbacks fill in the states and figures."""
    lang = normalise_lang(lang)
    app = context.current()
    # Only the systems' codes and names feed the dropdowns here: no unit data, so no scope is needed
    # (Dash may build every page's layout while serving /login, before anyone has a scope).
    status = _status(app, units=None)
    provincial = [(s, n) for s, n, level in zip(status["system"], status["name"], status["level"]) if level == "tinh"]
    communal = [(s, n) for s, n, level in zip(status["system"], status["name"], status["level"]) if level == "xa"]
    return html.Div(className="room room-systems", children=[
        dcc.Store(id=LANG, data=lang), dcc.Store(id=ANCHOR),
        dcc.Interval(id=INTERVAL, interval=_refresh_s(app) * 1000),
        _toolbar(lang),
        html.Section(className="card", children=[
            html.H3(t("systems_board_title", lang)), html.Div(id=BOARD, className="health-board")]),
        html.Div(className="grid-2", children=[_map_section(lang, app, communal), html.Section(
            className="card", children=[html.H3(t("systems_uptime_title", lang)), html.Div(id=UPTIME)])]),
        _latency_section(lang, provincial + communal),
        html.Section(className="card", children=[
            html.H3(t("systems_incidents_title", lang)),
            dcc.Graph(id=TIMELINE, config={"displaylogo": False}), html.Div(id=INCIDENTS)]),
        html.Div(className="grid-2", children=[
            html.Section(className="card", children=[
                html.H3(t("systems_maintenance_title", lang)), html.Div(id=MAINTENANCE)]),
            html.Section(id=GAUGES_SECTION, className="card", style={"display": "none"}, children=[
                html.H3(t("systems_gauges_title", lang)), dcc.Graph(id=GAUGES, config={"displaylogo": False})]),
        ]),
    ])


def _toolbar(lang: str) -> html.Div:
    options = [{"label": t(f"systems_window_{w}", lang), "value": w} for w in WINDOWS]
    return html.Div(className="toolbar", children=[
        html.H2(t("systems_page", lang)),
        html.Div(className="period", children=[
            html.Label(t("systems_window", lang), htmlFor=WINDOW),
            dcc.RadioItems(id=WINDOW, options=options, value=DEFAULT_WINDOW, inline=True, className="health-window"),
        ]),
        html.Div(className="freshness", children=[html.Span(id=FRESHNESS)]),
    ])


def _map_section(lang: str, app, communal) -> html.Section:
    options = [{"label": t("systems_map_all", lang), "value": ALL_KINDS}]
    options += [{"label": system_label(code, name, lang), "value": code} for code, name in communal]
    geojson_url = scope_url.commune_map_url(app)
    graph = dcc.Graph(id=MAP, config={"displaylogo": False, "scrollZoom": False, "topojsonURL": app.topojson_url},
                      style={"height": f"{MAP_HEIGHT}px"} if geojson_url else {"display": "none"})
    notes = [html.P(t("systems_map_hint", lang), className="muted"),
             html.P(t("systems_map_legend", lang), className="muted map-legend")]
    if not geojson_url:
        notes.insert(0, html.P(t("map_unavailable", lang), className="muted", id=f"{MAP}-unavailable"))
    return html.Section(className="card map-card", children=[
        html.Div(className="card-head", children=[
            html.H3(t("systems_map_title", lang)),
            html.Div(className="map-kpi", children=[
                html.Label(t("systems_map_kind", lang), htmlFor=MAP_KIND),
                dcc.Dropdown(id=MAP_KIND, options=options, value=ALL_KINDS, clearable=False, searchable=False),
            ]),
        ]),
        graph, *notes, html.Div(id=COMMUNE),
    ])


def _latency_section(lang: str, systems) -> html.Section:
    options = [{"label": system_label(code, name, lang), "value": code} for code, name in systems]
    return html.Section(className="card", children=[
        html.Div(className="card-head", children=[
            html.H3(t("systems_latency_title", lang)),
            html.Div(className="map-kpi", children=[
                html.Label(t("systems_latency_system", lang), htmlFor=LATENCY_SYSTEM),
                dcc.Dropdown(id=LATENCY_SYSTEM, options=options, value=options[0]["value"] if options else None,
                             clearable=False, searchable=False),
            ]),
        ]),
        dcc.Graph(id=LATENCY, config={"displaylogo": False}),
    ])


def _reader(app):
    """The caller's scoped view of the store: every read of this room goes through it."""
    return current_reader(app.engine)


def _units() -> tuple[str, ...] | None:
    """The communes the caller may see (None: the whole province); provincial systems are always shown."""
    return scope_url.unit_filter(context.current())


def _status(app, units: tuple[str, ...] | None | bool = True):
    """The board's rows for the caller's scope (units=True), or for the given units."""
    health = app.settings.health
    units = _units() if units is True else units
    return loaders.system_status(_reader(app), app.now(), health.slow_ms, health.cert_warn_days, units)


def _names(status) -> dict[str, str]:
    return dict(zip(status["system"], status["name"]))


def _refresh_s(app) -> int:
    intervals = [s.interval_s for s in app.settings.health.systems.values()]
    return int(min(intervals, default=REFRESH_S))


@callback(
    Output(BOARD, "children"), Output(UPTIME, "children"), Output(FRESHNESS, "children"),
    Output(FRESHNESS, "className"),
    Input(INTERVAL, "n_intervals"), State(LANG, "data"),
)
@rendered(health=True)
def update_board(_tick, lang):
    """Fill the status board, the uptime table and the last-checked line."""
    app, lang = context.current(), normalise_lang(lang)
    status = _status(app)
    uptime = loaders.uptime(_reader(app), app.now(), _units())
    order = {code: index for index, code in enumerate(status["system"])}
    uptime = uptime.assign(order=uptime["system"].map(order)).sort_values("order")
    text, css = checked_text(loaders.health_stamp(_reader(app)), app, lang)
    return (status_board(status, lang, f"{BOARD}-table"), uptime_table(uptime, _names(status), lang, f"{UPTIME}-table"),
            text, css)


def checked_text(stamp, app, lang: str) -> tuple[str, str]:
    """Say when the systems were last probed; flag it when rounds have stopped arriving."""
    if stamp is None:
        return t("systems_checked", lang, time=t("systems_never_checked", lang)), "freshness-stale"
    text = t("systems_checked", lang, time=format_datetime(stamp, lang))
    if (app.now() - stamp).total_seconds() > STALE_AFTER_ROUNDS * _refresh_s(app):
        return f"{text} ({t('stale', lang)})", "freshness-stale"
    return text, "freshness-ok"


@callback(
    Output(MAP, "figure"),
    Input(MAP_KIND, "value"), Input(INTERVAL, "n_intervals"), State(LANG, "data"),
)
@rendered(health=True)
def update_map(kind, _tick, lang):
    """Colour each commune by the share of its targets that answered their last probe."""
    app, lang = context.current(), normalise_lang(lang)
    geojson_url = scope_url.commune_map_url(app)
    if not geojson_url:
        raise dash.exceptions.PreventUpdate
    health = app.settings.health
    systems = None if kind in (None, ALL_KINDS) else [kind]
    shares = loaders.commune_connectivity(_reader(app), app.now(), health.slow_ms, health.cert_warn_days, systems,
                                          _units())
    units = _commune_units(app)
    frame = units.merge(shares[["unit_code", "share_up"]], on="unit_code", how="left")
    frame["share_up"] = frame["share_up"].astype("float64")
    return choropleth_figure(frame, SHARE_UP, geojson_url, lang)


def _commune_units(app):
    from dashboards import loaders as fact_loaders  # the units list is cached there already
    units = fact_loaders.units(_reader(app), app.province_code)
    units = units[units["level"] == "xa"]
    return units[["code", "name"]].rename(columns={"code": "unit_code"}).reset_index(drop=True)


@callback(
    Output(COMMUNE, "children"),
    Input(MAP, "clickData"), State(LANG, "data"),
    prevent_initial_call=True,
)
def update_commune(click, lang):
    """List the clicked commune's targets with their states, and link to the commune's page."""
    app, lang = context.current(), normalise_lang(lang)
    points = (click or {}).get("points") or []
    if not points or not points[0].get("location"):
        raise dash.exceptions.PreventUpdate
    code = str(points[0]["location"])
    health = app.settings.health
    targets = loaders.target_status(_reader(app), app.now(), health.slow_ms, health.cert_warn_days, _units())
    mine = targets[targets["unit_code"] == code].sort_values("system")
    name = points[0].get("customdata") or code
    if isinstance(name, list):
        name = name[0]
    return html.Div(className="health-commune", **{"data-unit": code}, children=[
        html.H4(t("systems_commune_title", lang, name=name)),
        commune_targets(mine, lang, f"{COMMUNE}-table"),
        dcc.Link(t("systems_commune_link", lang), href=with_lang(f"/commune/{code}", lang), id=f"{COMMUNE}-link"),
    ])


@callback(
    Output(LATENCY, "figure"),
    Input(LATENCY_SYSTEM, "value"), Input(WINDOW, "value"), Input(INTERVAL, "n_intervals"), State(LANG, "data"),
)
@rendered(health=True)
def update_latency(system, window, _tick, lang):
    """Draw the chosen system's hourly latency over the window, maintenance shaded."""
    app, lang = context.current(), normalise_lang(lang)
    window = window or DEFAULT_WINDOW
    series = loaders.latency(_reader(app), app.now(), window, _units())
    series = series[series["system"] == system].sort_values("hour")
    maintenance = loaders.maintenance_during(_reader(app), app.now(), window)
    maintenance = maintenance[maintenance["scope"].isin(["*", system])]
    return latency_figure(series, maintenance, lang)


@callback(
    Output(TIMELINE, "figure"), Output(INCIDENTS, "children"),
    Input(WINDOW, "value"), Input(INTERVAL, "n_intervals"), State(LANG, "data"),
)
@rendered(health=True)
def update_incidents(window, _tick, lang):
    """Draw the incident timeline and list the incidents with their causes."""
    app, lang = context.current(), normalise_lang(lang)
    window = window or DEFAULT_WINDOW
    now = app.now()
    start, end = loaders.window_bounds(window, now)
    incidents = loaders.incident_list(_reader(app), now, window)
    maintenance = loaders.maintenance_during(_reader(app), now, window)
    names = _names(_status(app))
    return (incident_timeline_figure(incidents, maintenance, names, start, end, lang),
            incident_table(incidents, names, lang, f"{INCIDENTS}-table"))


@callback(
    Output(MAINTENANCE, "children"),
    Input(INTERVAL, "n_intervals"), State(LANG, "data"),
)
@rendered(health=True)
def update_maintenance(_tick, lang):
    """List the maintenance occurrences of the next 14 days."""
    app, lang = context.current(), normalise_lang(lang)
    calendar = loaders.maintenance_calendar(_reader(app), app.now())
    return maintenance_table(calendar, _names(_status(app)), lang, f"{MAINTENANCE}-table")


@callback(
    Output(GAUGES, "figure"), Output(GAUGES_SECTION, "style"),
    Input(WINDOW, "value"), Input(INTERVAL, "n_intervals"), State(LANG, "data"),
)
@rendered(health=True)
def update_gauges(window, _tick, lang):
    """Draw concurrent users (and any other gauge) when some system publishes them; else hide the card."""
    app, lang = context.current(), normalise_lang(lang)
    readings = loaders.gauges(_reader(app), app.now(), window or DEFAULT_WINDOW)
    if readings.empty:
        return dash.no_update, {"display": "none"}
    return gauge_figure(readings, _names(_status(app)), lang), {}


# /systems#<code> (or #systems-<code>): the board is filled by a callback after load, so the browser's
# own anchor jump finds nothing; scroll to the row once it exists and mark it.
clientside_callback(
    """
    function(children) {
        const hash = decodeURIComponent((window.location.hash || "").slice(1));
        if (!hash) { return window.dash_clientside.no_update; }
        const row = document.getElementById("systems-" + hash) || document.getElementById(hash);
        if (!row) { return window.dash_clientside.no_update; }
        row.classList.add("health-row-target");
        row.scrollIntoView({block: "center"});
        return hash;
    }
    """,
    Output(ANCHOR, "data"), Input(BOARD, "children"),
)
