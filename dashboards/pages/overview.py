"""Overview room (/): the province at a glance — commune-level KPI strip (province level apart), commune
map by a chosen indicator with stale units flagged, daily trend with system incidents, best and worst
communes, and the alerts panel.

The view lives in the URL (preset or from/to, field, kpi, lang; see dashboards.overview_state): a
control only rewrites the query string (no reload: refresh="callback-nav"); the page router then renders layout(**query)
and the figures fill in from it, so a copied link reproduces the view and nothing is computed twice.
"""
from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl

import dash
from dash import ALL, Input, Output, State, callback, ctx as dash_ctx, dcc, html

from access.scope import DATA_ROLES, current_reader
from config.fields import PROCEDURE_FIELDS
from dashboards.cache import rendered
from dashboards import context, loaders, loaders_overview, national_overview, scope_url
from dashboards.components.period import period_picker
from dashboards.components.kpi import kpi_card, kpi_card_outputs, kpi_outputs
from dashboards.components.shell import breadcrumb
from dashboards.components.overview_charts import (
    IndexKpi, add_incidents, alerts_panel, format_indicator, map_figure, ranking_table,
)
from dashboards.components.charts import trend_figure
from dashboards.format import format_count, format_date, format_datetime, parse_date
from dashboards.i18n import label, normalise_lang, t
from dashboards.overview_state import (
    ALL_FIELDS, PRESETS, default_period, parse_state, preset_period, state_search,
)
from kpis.definitions import KPI_BY_KEY, KPIS
from kpis.ranking import best_and_worst

dash.register_page(__name__, path="/", name="Tổng quan", title="Tổng quan — IOC", order=0, nav_key="nav_overview",
                   roles=DATA_ROLES)

PREFIX = "overview"
URL = f"{PREFIX}-url"
PERIOD = f"{PREFIX}-period"
PRESET = f"{PREFIX}-preset"
FIELD = f"{PREFIX}-field"
MAP = f"{PREFIX}-map"
MAP_KPI = f"{PREFIX}-map-kpi"
TREND = f"{PREFIX}-trend"
BEST = f"{PREFIX}-best"
WORST = f"{PREFIX}-worst"
RANKED_BY = f"{PREFIX}-ranked-by"
ALERTS = f"{PREFIX}-alerts"
PROVINCE_LEVEL = f"{PREFIX}-province-level"
FRESHNESS = f"{PREFIX}-freshness"
PERIOD_SHOWN = f"{PREFIX}-period-shown"
INTERVAL = f"{PREFIX}-interval"
LANG = f"{PREFIX}-lang"
DEFAULT_MAP_KPI = "on_time_766"
SERVICE_INDEX = IndexKpi(loaders_overview.SERVICE_INDEX, "Chỉ số phục vụ (766, thang 100)",
                         "Service index (766, out of 100)")
INDICATORS = {**KPI_BY_KEY, SERVICE_INDEX.key: SERVICE_INDEX}
# The map's choices, in the order leaders asked for them (KPI strip order otherwise).
MAP_CHOICES = ("on_time_766", "on_time_bieu06", "online_share", "received", "overdue_pending", SERVICE_INDEX.key)
PROVINCE_LINE_KPIS = ("received", "on_time_766", "online_share")
COMMUNE_LEVEL = loaders_overview.COMMUNE_LEVEL
MAP_HEIGHT, TREND_HEIGHT = 520, 340

__all__ = ["layout", "preset_period", "default_period", "freshness_text"]


def layout(lang: str | None = None, **query) -> html.Div:
    """Render the room for the URL's query (period, field, map indicator, language)."""
    app = context.current()
    state = _state(dict(query, lang=lang), app)
    if app.national and app.province_code is None:   # national mode without ?tinh: the nation's view
        return national_overview.layout(state, app)
    return html.Div(className="room room-overview", children=[
        # "callback-nav": pushState quietly, but let the page router see the new query and render it.
        dcc.Location(id=URL, refresh="callback-nav"),
        dcc.Store(id=LANG, data=state.lang),
        dcc.Interval(id=INTERVAL, interval=app.settings.collection_interval_s * 1000),
        breadcrumb(app.province_code, state.lang),
        _toolbar(state, app),
        html.Section(className="kpi-strip", children=[kpi_card(kpi, state.lang, f"{PREFIX}-kpi") for kpi in KPIS]),
        html.P(t("overview_scope_communes", state.lang, count=len(loaders_overview.level_codes(
            _reader(app), app.province_code, COMMUNE_LEVEL))), className="muted scope-note"),
        html.P(id=PROVINCE_LEVEL, className="province-level"),
        html.Div(className="grid-3", children=[_map_section(state, app), _ranking_section(state.lang),
                                               _alerts_section(state.lang)]),
        html.Section(className="card", children=[
            html.H3(t("trend_title", state.lang)),
            dcc.Graph(id=TREND, config={"displaylogo": False}, style={"height": f"{TREND_HEIGHT}px"}),
            html.P(t("overview_incidents_note", state.lang), className="muted"),
        ]),
    ])


def _reader(app):
    """The caller's scoped view of the store: every read of this room goes through it."""
    return current_reader(app.engine)


def _state(query: dict, app):
    return parse_state(query, history_start=app.settings.history_start, today=app.today(),
                       kpi_keys=tuple(INDICATORS), default_kpi=DEFAULT_MAP_KPI)


def _toolbar(state, app) -> html.Div:
    lang, history_start, today = state.lang, app.settings.history_start, app.today()
    fields = [{"label": t("overview_field_all", lang), "value": ALL_FIELDS}] + [
        {"label": getattr(f, f"name_{lang}"), "value": f.code} for f in PROCEDURE_FIELDS]
    return html.Div(className="toolbar", children=[
        html.H2(t("page_overview", lang)),
        period_picker(PERIOD, PRESET, state.start, state.end, history_start, today, lang, PRESETS,
                      lambda preset: t(f"overview_preset_{preset}", lang), active=state.preset),
        html.Div(className="filters", children=[
            html.Label(t("overview_field", lang), htmlFor=FIELD),
            dcc.Dropdown(id=FIELD, options=fields, value=state.field or ALL_FIELDS, clearable=False,
                         searchable=False, className="field-filter"),
        ]),
        html.Div(className="freshness", children=[
            html.Span(id=FRESHNESS), html.Span(" · "), html.Span(id=PERIOD_SHOWN)]),
    ])


def _map_section(state, app) -> html.Section:
    lang = state.lang
    options = [{"label": label(INDICATORS[key], lang), "value": key} for key in MAP_CHOICES]
    geometry, geojson_url = app.map_for(app.province_code)
    notes = []
    if geometry is not None and geometry.approximate:
        notes.append(html.P(t("map_approximate", lang), className="map-note", id=f"{MAP}-approximate"))
    notes.append(html.P(t("overview_map_legend", lang), className="muted map-legend"))
    if geometry is not None and geometry.attribution:
        notes.append(html.P(geometry.attribution, className="attribution", id=f"{MAP}-attribution"))
    graph = dcc.Graph(id=MAP, config={"displaylogo": False, "scrollZoom": False, "topojsonURL": app.topojson_url},
                      style={"height": f"{MAP_HEIGHT}px"} if geojson_url else {"display": "none"})
    if not geojson_url:
        notes.insert(0, html.P(t("map_unavailable", lang), className="muted", id=f"{MAP}-unavailable"))
    return html.Section(className="card map-card", children=[
        html.Div(className="card-head", children=[
            html.H3(t("map_title", lang)),
            html.Div(className="map-kpi", children=[
                html.Label(t("map_kpi", lang), htmlFor=MAP_KPI),
                dcc.Dropdown(id=MAP_KPI, options=options, value=state.kpi, clearable=False, searchable=False),
            ]),
        ]),
        graph, *notes,
    ])


def _ranking_section(lang) -> html.Section:
    return html.Section(className="card ranking-card", children=[
        html.P(id=RANKED_BY, className="muted"),
        html.H3(t("best_title", lang)), html.Div(id=BEST),
        html.H3(t("worst_title", lang)), html.Div(id=WORST),
    ])


def _alerts_section(lang) -> html.Section:
    return html.Section(className="card alerts-card", children=[
        html.H3(t("overview_alerts_title", lang)), html.Div(id=ALERTS)])


# --- URL state ---------------------------------------------------------------------------------

@callback(
    Output(URL, "search"),
    Input({"type": PRESET, "preset": ALL}, "n_clicks"), Input(PERIOD, "start_date"), Input(PERIOD, "end_date"),
    Input(FIELD, "value"), Input(MAP_KPI, "value"), State(URL, "search"),
    prevent_initial_call=True,
)
def update_url(_clicks, start_date, end_date, field, kpi_key, search):
    """Write the chosen view into the query string; the router then renders it."""
    app = context.current()
    triggered = dash_ctx.triggered_id
    current = _state(_query(search), app)
    preset, start, end = current.preset, current.start, current.end
    if isinstance(triggered, dict):
        if not any(_clicks):
            raise dash.exceptions.PreventUpdate
        preset = triggered["preset"]
    elif triggered == PERIOD:
        preset, start, end = None, *_period(start_date, end_date)
    new = state_search(search, preset=preset, start=start, end=end, field=field, kpi=kpi_key,
                       default_kpi=DEFAULT_MAP_KPI)
    if new == (search or ""):
        raise dash.exceptions.PreventUpdate
    return new


def _query(search: str | None) -> dict:
    return dict(parse_qsl((search or "").lstrip("?")))


def _period(start_date, end_date) -> tuple[dt.date, dt.date]:
    app = context.current()
    default_start, default_end = default_period(app.settings.history_start, app.today())
    start, end = parse_date(start_date, default_start), parse_date(end_date, default_end)
    return (end, start) if start > end else (start, end)


def _fields(field) -> tuple[str, ...] | None:
    return None if field in (None, "", ALL_FIELDS) else (field,)


# --- figures -----------------------------------------------------------------------------------
# The controls are States: they change only through the URL, which re-renders the page, and the
# Interval (collection cadence) is the one Input that refreshes figures in place.

@callback(
    *kpi_card_outputs(KPIS, f"{PREFIX}-kpi"), Output(FRESHNESS, "children"), Output(FRESHNESS, "className"),
    Output(PERIOD_SHOWN, "children"),
    State(PERIOD, "start_date"), State(PERIOD, "end_date"), Input(INTERVAL, "n_intervals"), State(LANG, "data"),
    State(FIELD, "value"),
)
@rendered
def update_kpis(start_date, end_date, _tick, lang, field=None):
    """Fill the commune-level KPI strip, the freshness line and the period shown."""
    app, lang = context.current(), normalise_lang(lang)
    start, end = _period(start_date, end_date)
    current, previous = loaders_overview.level_kpis_with_previous(_reader(app), app.province_code, start, end,
                                                                  COMMUNE_LEVEL, _fields(field))
    values = []
    for kpi in KPIS:
        values += kpi_outputs(kpi, current[kpi.key], previous[kpi.key], lang)
    text, css = freshness_text(loaders.data_stamp(_reader(app)), app.now(), app.settings.stale_after_s, lang)
    stale = loaders_overview.stale_units(_reader(app), app.province_code, app.now(), app.settings.stale_after_s)
    if len(stale):
        text, css = f"{text} · {format_count(len(stale), lang)} {t('unit', lang).lower()} {t('overview_stale', lang)}", \
            "freshness-stale"
    shown = t("period_shown", lang, start=format_date(start, lang), end=format_date(end, lang))
    return *values, text, css, shown


def freshness_text(last: dt.datetime | None, now: dt.datetime, stale_after_s: int, lang: str) -> tuple[str, str]:
    """Say when data was last collected, and flag it when older than the staleness limit."""
    if last is None:
        return t("last_updated", lang, time=t("never_collected", lang)), "freshness-stale"
    text = t("last_updated", lang, time=format_datetime(last, lang))
    if (_naive(now) - _naive(last)).total_seconds() > stale_after_s:
        return f"{text} ({t('stale', lang)})", "freshness-stale"
    return text, "freshness-ok"


def _naive(moment: dt.datetime) -> dt.datetime:
    # The store may hand back aware or naive UTC times depending on the backend; compare as naive local.
    return moment.astimezone().replace(tzinfo=None) if moment.tzinfo else moment


@callback(
    Output(PROVINCE_LEVEL, "children"),
    State(PERIOD, "start_date"), State(PERIOD, "end_date"), Input(INTERVAL, "n_intervals"), State(LANG, "data"),
    State(FIELD, "value"),
)
@rendered
def update_province_level(start_date, end_date, _tick, lang, field=None):
    """Show the province-level unit's own figures next to (never inside) the commune-level strip."""
    app, lang = context.current(), normalise_lang(lang)
    start, end = _period(start_date, end_date)
    values = loaders_overview.level_kpis(_reader(app), app.province_code, start, end, "tinh", _fields(field))
    if all(values[key] != values[key] for key in PROVINCE_LINE_KPIS):  # all NaN
        return t("overview_province_level_empty", lang)
    items = [html.Span(f"{label(KPI_BY_KEY[key], lang)}: {format_indicator(values[key], KPI_BY_KEY[key], lang)}",
                       className="item") for key in PROVINCE_LINE_KPIS]
    return [html.B(t("overview_province_level", lang)), *items]


@callback(
    Output(MAP, "figure"),
    State(PERIOD, "start_date"), State(PERIOD, "end_date"), State(MAP_KPI, "value"), Input(INTERVAL, "n_intervals"),
    State(LANG, "data"), State(FIELD, "value"),
)
@rendered
def update_map(start_date, end_date, kpi_key, _tick, lang, field=None):
    """Colour the communes by the chosen indicator; stale communes are marked, not coloured."""
    app, lang = context.current(), normalise_lang(lang)
    geojson_url = app.map_for(app.province_code)[1]
    if not geojson_url:
        raise dash.exceptions.PreventUpdate
    start, end = _period(start_date, end_date)
    kpi = INDICATORS.get(kpi_key or DEFAULT_MAP_KPI, INDICATORS[DEFAULT_MAP_KPI])
    frame = _communes(start, end, field, app)
    stale = loaders_overview.stale_units(_reader(app), app.province_code, app.now(), app.settings.stale_after_s)
    return map_figure(frame, stale, kpi, geojson_url, lang)


@callback(
    Output(TREND, "figure"),
    State(PERIOD, "start_date"), State(PERIOD, "end_date"), Input(INTERVAL, "n_intervals"), State(LANG, "data"),
    State(FIELD, "value"),
)
@rendered
def update_trend(start_date, end_date, _tick, lang, field=None):
    """Draw the daily received bars and on-time line (commune level) with system incidents shaded."""
    app, lang = context.current(), normalise_lang(lang)
    start, end = _period(start_date, end_date)
    daily = loaders_overview.daily_trend(_reader(app), app.province_code, start, end, COMMUNE_LEVEL, _fields(field))
    figure = trend_figure(daily, lang)
    return add_incidents(figure, loaders_overview.incidents(_reader(app), start, end, app.now()), app.now(), lang)


@callback(
    Output(BEST, "children"), Output(WORST, "children"), Output(RANKED_BY, "children"),
    State(PERIOD, "start_date"), State(PERIOD, "end_date"), State(MAP_KPI, "value"), Input(INTERVAL, "n_intervals"),
    State(LANG, "data"), State(FIELD, "value"),
)
@rendered
def update_rankings(start_date, end_date, kpi_key, _tick, lang, field=None):
    """List the five best and five worst communes by the chosen indicator (stale communes left out)."""
    app, lang = context.current(), normalise_lang(lang)
    start, end = _period(start_date, end_date)
    kpi = INDICATORS.get(kpi_key or DEFAULT_MAP_KPI, INDICATORS[DEFAULT_MAP_KPI])
    frame = _communes(start, end, field, app)
    stale = loaders_overview.stale_units(_reader(app), app.province_code, app.now(), app.settings.stale_after_s)
    frame = frame[~frame["unit_code"].isin(stale["unit_code"])]
    best, worst = best_and_worst(frame, kpi.key, n=5, higher_is_better=kpi.higher_is_better)
    empty = t("no_data_period", lang) if best.empty else ""
    ranked_by = t("ranked_by", lang, kpi=label(kpi, lang))
    if len(stale):
        ranked_by = f"{ranked_by}. {t('overview_ranking_excludes_stale', lang)}"
    return (ranking_table(best, kpi, lang, f"{BEST}-table", empty),
            ranking_table(worst, kpi, lang, f"{WORST}-table", empty), ranked_by)


@callback(
    Output(ALERTS, "children"),
    State(PERIOD, "start_date"), State(PERIOD, "end_date"), Input(INTERVAL, "n_intervals"), State(LANG, "data"),
    State(FIELD, "value"),
)
@rendered
def update_alerts(start_date, end_date, _tick, lang, field=None):
    """List overdue, nearly-due, falling-behind and stale communes and systems with problems."""
    app, lang = context.current(), normalise_lang(lang)
    start, end = _period(start_date, end_date)
    now = app.now()
    alerts = loaders_overview.overview_alerts(_reader(app), scope_url.settings_for(app), start, end, now,
                                              _fields(field))
    watched = label(KPI_BY_KEY[app.settings.alerts.below_threshold_kpi], lang)
    return alerts_panel(alerts, app.settings, min(end, now.date()), watched, lang)


def _communes(start, end, field, app):
    frame = loaders_overview.unit_kpis(_reader(app), app.province_code, start, end, _fields(field),
                                       app.settings.service_index)
    return frame[frame["level"] == COMMUNE_LEVEL].reset_index(drop=True)
