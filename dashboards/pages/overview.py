"""Overview room (/): the whole province at a glance — KPI strip, commune map, daily trend, best and worst."""
from __future__ import annotations

import datetime as dt

import dash
from dash import ALL, Input, Output, State, callback, ctx as dash_ctx, dcc, html

from dashboards import context, loaders
from dashboards.components.charts import choropleth_figure, trend_figure
from dashboards.components.kpi import kpi_card, kpi_outputs
from dashboards.components.ranking import ranking_table
from dashboards.format import format_date, format_datetime, parse_date
from dashboards.i18n import label, normalise_lang, t
from kpis.definitions import KPI_BY_KEY, KPIS
from kpis.ranking import best_and_worst

dash.register_page(__name__, path="/", name="Tổng quan", title="Tổng quan — IOC", order=0, nav_key="nav_overview")

PREFIX = "overview"
PERIOD = f"{PREFIX}-period"
PRESET = f"{PREFIX}-preset"
MAP = f"{PREFIX}-map"
MAP_KPI = f"{PREFIX}-map-kpi"
TREND = f"{PREFIX}-trend"
BEST = f"{PREFIX}-best"
WORST = f"{PREFIX}-worst"
RANKED_BY = f"{PREFIX}-ranked-by"
FRESHNESS = f"{PREFIX}-freshness"
PERIOD_SHOWN = f"{PREFIX}-period-shown"
INTERVAL = f"{PREFIX}-interval"
LANG = f"{PREFIX}-lang"
PRESETS = ("7d", "30d", "month", "all")
DEFAULT_MAP_KPI = "on_time_766"
COMMUNE_LEVEL = "xa"
MAP_HEIGHT, TREND_HEIGHT = 520, 340


def layout(lang: str | None = None, **_query) -> html.Div:
    """Render the room in the URL's language; callbacks fill in the numbers."""
    lang = normalise_lang(lang)
    app = context.current()
    start, end = default_period(app.settings.history_start, app.today())
    return html.Div(className="room room-overview", children=[
        dcc.Store(id=LANG, data=lang),
        dcc.Interval(id=INTERVAL, interval=app.settings.collection_interval_s * 1000),
        _toolbar(lang, start, end, app.settings.history_start, app.today()),
        html.Section(className="kpi-strip", children=[kpi_card(kpi, lang, f"{PREFIX}-kpi") for kpi in KPIS]),
        html.P(t("scope_province", lang), className="muted scope-note"),
        html.Div(className="grid-2", children=[_map_section(lang, app), _ranking_section(lang)]),
        html.Section(className="card", children=[
            html.H3(t("trend_title", lang)),
            dcc.Graph(id=TREND, config={"displaylogo": False}, style={"height": f"{TREND_HEIGHT}px"}),
        ]),
    ])


def default_period(history_start: dt.date, today: dt.date) -> tuple[dt.date, dt.date]:
    """Return the period shown first: from the start of history to today."""
    return min(history_start, today), today


def preset_period(preset: str, history_start: dt.date, today: dt.date) -> tuple[dt.date, dt.date]:
    """Return the dates of a preset button ('7d', '30d', 'month', 'all'), never before history starts."""
    starts = {"7d": today - dt.timedelta(days=6), "30d": today - dt.timedelta(days=29),
              "month": today.replace(day=1), "all": history_start}
    if preset not in starts:
        raise ValueError(f"Unknown period preset {preset!r}; expected one of {', '.join(PRESETS)}")
    return max(starts[preset], min(history_start, today)), today


def _toolbar(lang, start, end, history_start, today) -> html.Div:
    presets = [html.Button(t(f"preset_{p}", lang), id={"type": PRESET, "preset": p}, n_clicks=0,
                           className="preset") for p in PRESETS]
    return html.Div(className="toolbar", children=[
        html.H2(t("page_overview", lang)),
        html.Div(className="period", children=[
            html.Label(t("period", lang), htmlFor=PERIOD),
            dcc.DatePickerRange(id=PERIOD, start_date=start, end_date=end, display_format="DD/MM/YYYY",
                                min_date_allowed=min(history_start, today), max_date_allowed=today,
                                first_day_of_week=1, start_date_placeholder_text=t("period_start", lang),
                                end_date_placeholder_text=t("period_end", lang), updatemode="bothdates"),
            html.Div(presets, className="presets"),
        ]),
        html.Div(className="freshness", children=[
            html.Span(id=FRESHNESS), html.Span(" · "), html.Span(id=PERIOD_SHOWN)]),
    ])


def _map_section(lang, app) -> html.Section:
    options = [{"label": label(kpi, lang), "value": kpi.key} for kpi in KPIS]
    geometry = app.map_geometry
    notes = []
    if geometry is not None and geometry.approximate:
        notes.append(html.P(t("map_approximate", lang), className="map-note", id=f"{MAP}-approximate"))
    notes.append(html.P(t("map_no_data_legend", lang), className="muted map-legend"))
    if geometry is not None and geometry.attribution:
        notes.append(html.P(geometry.attribution, className="attribution", id=f"{MAP}-attribution"))
    graph = dcc.Graph(id=MAP, config={"displaylogo": False, "scrollZoom": False, "topojsonURL": app.topojson_url},
                      style={"height": f"{MAP_HEIGHT}px"} if app.geojson_url else {"display": "none"})
    if not app.geojson_url:
        notes.insert(0, html.P(t("map_unavailable", lang), className="muted", id=f"{MAP}-unavailable"))
    return html.Section(className="card map-card", children=[
        html.Div(className="card-head", children=[
            html.H3(t("map_title", lang)),
            html.Div(className="map-kpi", children=[
                html.Label(t("map_kpi", lang), htmlFor=MAP_KPI),
                dcc.Dropdown(id=MAP_KPI, options=options, value=DEFAULT_MAP_KPI, clearable=False, searchable=False),
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


def _period(start_date, end_date) -> tuple[dt.date, dt.date]:
    app = context.current()
    default_start, default_end = default_period(app.settings.history_start, app.today())
    start, end = parse_date(start_date, default_start), parse_date(end_date, default_end)
    return (end, start) if start > end else (start, end)


def _kpi_output_list():
    outputs = []
    for kpi in KPIS:
        base = f"{PREFIX}-kpi-{kpi.key}"
        outputs += [Output(base, "children"), Output(base, "title"), Output(f"{base}-change", "children"),
                    Output(f"{base}-change", "className")]
    return outputs


@callback(
    Output(PERIOD, "start_date"), Output(PERIOD, "end_date"),
    Input({"type": PRESET, "preset": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def update_period(_clicks):
    """Apply a preset button."""
    app = context.current()
    triggered = dash_ctx.triggered_id
    if not triggered or not any(_clicks):
        raise dash.exceptions.PreventUpdate
    start, end = preset_period(triggered["preset"], app.settings.history_start, app.today())
    return start.isoformat(), end.isoformat()


@callback(
    *_kpi_output_list(), Output(FRESHNESS, "children"), Output(FRESHNESS, "className"),
    Output(PERIOD_SHOWN, "children"),
    Input(PERIOD, "start_date"), Input(PERIOD, "end_date"), Input(INTERVAL, "n_intervals"), State(LANG, "data"),
)
def update_kpis(start_date, end_date, _tick, lang):
    """Fill the KPI strip, the freshness line and the period shown."""
    app, lang = context.current(), normalise_lang(lang)
    start, end = _period(start_date, end_date)
    current, previous = loaders.province_kpis_with_previous(app.engine, app.province_code, start, end)
    values = []
    for kpi in KPIS:
        values += kpi_outputs(kpi, current[kpi.key], previous[kpi.key], lang)
    text, css = freshness_text(loaders.data_stamp(app.engine), app.now(), app.settings.stale_after_s, lang)
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
    Output(MAP, "figure"),
    Input(PERIOD, "start_date"), Input(PERIOD, "end_date"), Input(MAP_KPI, "value"), Input(INTERVAL, "n_intervals"),
    State(LANG, "data"),
)
def update_map(start_date, end_date, kpi_key, _tick, lang):
    """Colour the communes by the chosen KPI."""
    app, lang = context.current(), normalise_lang(lang)
    if not app.geojson_url:
        raise dash.exceptions.PreventUpdate
    start, end = _period(start_date, end_date)
    frame = _communes(loaders.unit_kpis(app.engine, app.province_code, start, end))
    return choropleth_figure(frame, KPI_BY_KEY[kpi_key or DEFAULT_MAP_KPI], app.geojson_url, lang)


@callback(
    Output(TREND, "figure"),
    Input(PERIOD, "start_date"), Input(PERIOD, "end_date"), Input(INTERVAL, "n_intervals"), State(LANG, "data"),
)
def update_trend(start_date, end_date, _tick, lang):
    """Draw the daily received bars and on-time line."""
    app, lang = context.current(), normalise_lang(lang)
    start, end = _period(start_date, end_date)
    return trend_figure(loaders.daily_trend(app.engine, app.province_code, start, end), lang)


@callback(
    Output(BEST, "children"), Output(WORST, "children"), Output(RANKED_BY, "children"),
    Input(PERIOD, "start_date"), Input(PERIOD, "end_date"), Input(MAP_KPI, "value"), Input(INTERVAL, "n_intervals"),
    State(LANG, "data"),
)
def update_rankings(start_date, end_date, kpi_key, _tick, lang):
    """List the five best and five worst communes by the chosen KPI."""
    app, lang = context.current(), normalise_lang(lang)
    start, end = _period(start_date, end_date)
    kpi = KPI_BY_KEY[kpi_key or DEFAULT_MAP_KPI]
    frame = _communes(loaders.unit_kpis(app.engine, app.province_code, start, end))
    best, worst = best_and_worst(frame, kpi.key, n=5, higher_is_better=kpi.higher_is_better)
    empty = t("no_data_period", lang) if best.empty else ""
    return (ranking_table(best, kpi, lang, f"{BEST}-table", empty), ranking_table(worst, kpi, lang, f"{WORST}-table", empty),
            t("ranked_by", lang, kpi=label(kpi, lang)))


def _communes(frame):
    return frame[frame["level"] == COMMUNE_LEVEL].reset_index(drop=True)
