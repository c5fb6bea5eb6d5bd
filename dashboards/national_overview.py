"""The overview at the nation's level (national mode, no ?tinh): the nation's KPI strip, the 34 provinces
coloured by the chosen indicator, best and worst provinces, the daily trend; a province drills down.

It shares the overview's URL state and controls (period, presets, map indicator: the same ids, so
dashboards.pages.overview.update_url writes the query for both); its figures have their own ids and
callbacks, reading store.readers_national through dashboards.loaders_national (rollups only).
Clicking a province on the map, or its name in a table, opens `?tinh=NN`: that province's overview.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import dash
from dash import Input, Output, State, dcc, html

from dashboards import context, loaders, loaders_national, scope_url
from dashboards.components.callbacks import CallbackSet
from dashboards.components.charts import trend_figure
from dashboards.components.kpi import kpi_card, kpi_card_outputs, kpi_outputs
from dashboards.components.overview_charts import IndexKpi, format_indicator, map_figure
from dashboards.components.period import period_picker
from dashboards.components.shell import breadcrumb
from dashboards.format import format_date, parse_date
from dashboards.i18n import label, normalise_lang, t
from dashboards.overview_state import ALL_FIELDS, PRESETS, default_period
from kpis.definitions import KPI_BY_KEY, KPIS
from kpis.ranking import best_and_worst

callbacks = CallbackSet()  # added to each app by dashboards.scope_url.install
PREFIX = "nation"
MAP, TREND, BEST, WORST = f"{PREFIX}-map", f"{PREFIX}-trend", f"{PREFIX}-best", f"{PREFIX}-worst"
INTERVAL, LANG, FRESHNESS, PERIOD_SHOWN = (f"{PREFIX}-interval", f"{PREFIX}-lang", f"{PREFIX}-freshness",
                                           f"{PREFIX}-period-shown")
# The overview's controls, reused (their callback writes the URL for both views).
O_URL, O_PERIOD, O_PRESET, O_FIELD, O_MAP_KPI = ("overview-url", "overview-period", "overview-preset",
                                                 "overview-field", "overview-map-kpi")
SERVICE_INDEX = IndexKpi(loaders_national.SERVICE_INDEX, "Chỉ số phục vụ (766, thang 100)",
                         "Service index (766, out of 100)")
INDICATORS = {**KPI_BY_KEY, SERVICE_INDEX.key: SERVICE_INDEX}
MAP_CHOICES = ("on_time_766", "on_time_bieu06", "online_share", "received", "overdue_pending", SERVICE_INDEX.key)
DEFAULT_KPI = "on_time_766"
MAP_HEIGHT, TREND_HEIGHT = 560, 340


def layout(state, app) -> html.Div:
    """The nation's room for a parsed overview state (dashboards.overview_state.ViewState)."""
    lang = state.lang
    return html.Div(className="room room-overview room-nation", children=[
        dcc.Location(id=O_URL, refresh="callback-nav"),
        dcc.Store(id=LANG, data=lang),
        dcc.Interval(id=INTERVAL, interval=app.settings.collection_interval_s * 1000),
        breadcrumb(None, lang),
        _toolbar(state, app),
        html.Section(className="kpi-strip", children=[kpi_card(kpi, lang, f"{PREFIX}-kpi") for kpi in KPIS]),
        html.P(t("national_scope_provinces", lang, count=len(_province_codes(app))), className="muted scope-note"),
        html.Div(className="grid-3", children=[_map_section(state, app), _ranking_section(lang)]),
        html.Section(className="card", children=[
            html.H3(t("national_trend_title", lang)),
            dcc.Graph(id=TREND, config={"displaylogo": False}, style={"height": f"{TREND_HEIGHT}px"}),
        ]),
    ])


def validation_view(app) -> html.Div:
    """The view with default state, for Dash's validation layout (dashboards.scope_url.install)."""
    from dashboards.overview_state import parse_state

    state = parse_state({}, history_start=app.settings.history_start, today=app.today(),
                        kpi_keys=tuple(INDICATORS), default_kpi=DEFAULT_KPI)
    return layout(state, app)


def _province_codes(app) -> list[str]:
    from geo.registry import provinces

    shown = scope_url.province(app)
    return [shown] if shown else list(provinces())


def _toolbar(state, app) -> html.Div:
    lang, history_start, today = state.lang, app.settings.history_start, app.today()
    return html.Div(className="toolbar", children=[
        html.H2(t("national_overview_title", lang)),
        period_picker(O_PERIOD, O_PRESET, state.start, state.end, history_start, today, lang, PRESETS,
                      lambda preset: t(f"overview_preset_{preset}", lang), active=state.preset),
        # The rollups the nation reads have no field dimension: the filter applies inside a province.
        dcc.Input(id=O_FIELD, type="hidden", value=ALL_FIELDS),
        html.P(t("national_field_note", lang), className="muted"),
        html.Div(className="freshness", children=[
            html.Span(id=FRESHNESS), html.Span(" · "), html.Span(id=PERIOD_SHOWN)]),
    ])


def _map_section(state, app) -> html.Section:
    lang = state.lang
    geometry, url = app.map_for(None)
    options = [{"label": label(INDICATORS[key], lang), "value": key} for key in MAP_CHOICES]
    notes = [html.P(t("national_map_legend", lang), className="muted map-legend")]
    if geometry is not None and geometry.approximate:
        notes.insert(0, html.P(t("national_map_approximate", lang), className="map-note", id=f"{MAP}-approximate"))
    if geometry is not None and geometry.attribution:
        notes.append(html.P(geometry.attribution, className="attribution"))
    return html.Section(className="card map-card", children=[
        html.Div(className="card-head", children=[
            html.H3(t("national_map_title", lang)),
            html.Div(className="map-kpi", children=[
                html.Label(t("map_kpi", lang), htmlFor=O_MAP_KPI),
                dcc.Dropdown(id=O_MAP_KPI, options=options, value=state.kpi if state.kpi in INDICATORS else DEFAULT_KPI,
                             clearable=False, searchable=False),
            ]),
        ]),
        dcc.Graph(id=MAP, config={"displaylogo": False, "scrollZoom": False, "topojsonURL": app.topojson_url},
                  style={"height": f"{MAP_HEIGHT}px"}),
        *notes,
    ])


def _ranking_section(lang) -> html.Section:
    return html.Section(className="card ranking-card", children=[
        html.H3(t("national_best_title", lang)), html.Div(id=BEST),
        html.H3(t("national_worst_title", lang)), html.Div(id=WORST),
    ])


# --- callbacks ---------------------------------------------------------------------------------

def _period(start_date, end_date):
    app = context.current()
    default_start, default_end = default_period(app.settings.history_start, app.today())
    start, end = parse_date(start_date, default_start), parse_date(end_date, default_end)
    return (end, start) if start > end else (start, end)


def _indicator(kpi_key):
    """The map's chosen indicator (the default for a missing or unknown key)."""
    return INDICATORS.get(kpi_key or DEFAULT_KPI, INDICATORS[DEFAULT_KPI])


@callbacks(*kpi_card_outputs(KPIS, f"{PREFIX}-kpi"),
          Output(FRESHNESS, "children"), Output(FRESHNESS, "className"), Output(PERIOD_SHOWN, "children"),
          State(O_PERIOD, "start_date"), State(O_PERIOD, "end_date"), Input(INTERVAL, "n_intervals"),
          State(LANG, "data"))
def update_kpis(start_date, end_date, _tick, lang):
    """The nation's commune-level KPI strip (from the province rollups), freshness and period."""
    from dashboards.pages.overview import freshness_text

    app, lang = context.current(), normalise_lang(lang)
    start, end = _period(start_date, end_date)
    reader = scope_url.reader(app)
    current, previous = loaders_national.nation_kpis_with_previous(reader, start, end)
    values = []
    for kpi in KPIS:
        values += kpi_outputs(kpi, current[kpi.key], previous[kpi.key], lang)
    text, css = freshness_text(loaders.data_stamp(reader), app.now(), app.settings.stale_after_s, lang)
    shown = t("period_shown", lang, start=format_date(start, lang), end=format_date(end, lang))
    return *values, text, css, shown


@callbacks(Output(MAP, "figure"),
          State(O_PERIOD, "start_date"), State(O_PERIOD, "end_date"), State(O_MAP_KPI, "value"),
          Input(INTERVAL, "n_intervals"), State(LANG, "data"))
def update_map(start_date, end_date, kpi_key, _tick, lang):
    """The 34 provinces coloured by the chosen indicator (grey: no data)."""
    app, lang = context.current(), normalise_lang(lang)
    start, end = _period(start_date, end_date)
    kpi = _indicator(kpi_key)
    frame = _provinces(app, start, end)
    no_stale = frame.iloc[0:0][["unit_code"]].assign(last_success_at=None)
    figure = map_figure(frame, no_stale, kpi, app.map_for(None)[1], lang)
    figure.update_layout(clickmode="event")
    return figure


@callbacks(Output(O_URL, "href"), Input(MAP, "clickData"), State(O_URL, "search"), prevent_initial_call=True)
def drill_down(click, search):
    """A click on a province opens its overview (same period, indicator and language)."""
    points = (click or {}).get("points") or []
    code = points[0].get("location") if points else None
    if not code:
        raise dash.exceptions.PreventUpdate
    kept = [(k, v) for k, v in parse_qsl((search or "").lstrip("?")) if k != scope_url.PARAM]
    return dash.get_relative_path("/") + "?" + urlencode([(scope_url.PARAM, code), *kept])


@callbacks(Output(BEST, "children"), Output(WORST, "children"),
          State(O_PERIOD, "start_date"), State(O_PERIOD, "end_date"), State(O_MAP_KPI, "value"),
          Input(INTERVAL, "n_intervals"), State(LANG, "data"))
def update_rankings(start_date, end_date, kpi_key, _tick, lang):
    """Five best and five worst provinces by the chosen indicator, each a link to its overview."""
    app, lang = context.current(), normalise_lang(lang)
    start, end = _period(start_date, end_date)
    kpi = _indicator(kpi_key)
    best, worst = best_and_worst(_provinces(app, start, end), kpi.key, n=5, higher_is_better=kpi.higher_is_better)
    return province_table(best, kpi, lang, f"{BEST}-table"), province_table(worst, kpi, lang, f"{WORST}-table")


def province_table(frame, kpi, lang: str, table_id: str, path: str = "/"):
    """Rank, province (a link that drills down) and value."""
    if frame.empty:
        return html.P(t("no_data_period", lang), className="muted", id=table_id)
    header = html.Thead(html.Tr([html.Th(t("rank", lang)), html.Th(t("national_col_province", lang)),
                                 html.Th(t("value", lang), className="num")]))
    rows = [html.Tr([html.Td(str(row["rank"])),
                     html.Td(dcc.Link(row["name"], href=scope_url.href(path, row["unit_code"], lang),
                                      className="province-link")),
                     html.Td(format_indicator(row[kpi.key], kpi, lang), className="num")],
                    **{"data-province": row["unit_code"]})
            for _, row in frame.iterrows()]
    return html.Table([header, html.Tbody(rows)], className="ranking", id=table_id)


@callbacks(Output(TREND, "figure"),
          State(O_PERIOD, "start_date"), State(O_PERIOD, "end_date"), Input(INTERVAL, "n_intervals"),
          State(LANG, "data"))
def update_trend(start_date, end_date, _tick, lang):
    """Daily received (online, direct) and the Biểu 06 on-time rate of every commune."""
    app, lang = context.current(), normalise_lang(lang)
    start, end = _period(start_date, end_date)
    return trend_figure(loaders_national.nation_daily(scope_url.reader(app), start, end), lang)


def _provinces(app, start, end):
    return loaders_national.province_kpis(scope_url.reader(app), start, end, app.settings.service_index)

