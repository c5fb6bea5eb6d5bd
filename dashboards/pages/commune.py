"""Commune room (/commune/<code>): a chair's scorecard — index, rank, components, how to climb, trends, systems.

Access: only callers whose scope holds the commune may open it (a chair: their own commune). The
page itself (dashboards.auth runs `scope_check` before serving it), its layout and every callback
check the code, so a crafted request for another commune gets 403. Rank and climb read with the
rankings scope (every commune's score, as the rankings table shows); details read with the caller's own.

Printable: the print button calls window.print() and assets/print.css lays the scorecard out on paper.
"""
from __future__ import annotations

import dash
import flask
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import ALL, Input, Output, State, callback, clientside_callback, dcc, html

from access.scope import current_reader, current_scope
from config.fields import FIELDS_BY_CODE
from config.health import COMMUNE_SYSTEMS, SYSTEM_CATALOG
from dashboards.cache import rendered
from dashboards import context, loaders, loaders_rankings, scope_url
from dashboards.components.charts import FONT, OKABE_ITO, separators, trend_figure
from dashboards.components.shell import breadcrumb
from dashboards.components.scorecard import (
    apply_preset,
    change_cell, grade_label, group_name, not_computable_note, period_shown, period_toolbar, points_text,
    rank_text, read_period,
)
from dashboards.format import (
    NO_DATA, format_count, format_datetime, format_number, format_percent, format_value, is_missing,
)
from dashboards.i18n import label, normalise_lang, t, with_lang
from kpis.change import previous_period
from kpis.definitions import KPIS
from kpis.service_index import COMPONENT_LABELS, component_breakdown



def check_scope(code: str | None = None, **_query) -> None:
    """Refuse a commune outside a restricted caller's scope (403) and, for the others, an unknown one (404)."""
    scope = current_scope()
    if not scope.whole_province:
        scope.restrict([str(code or "")])
    elif _commune_info(context.current(), code) is None:
        flask.abort(404)


dash.register_page(__name__, path_template="/commune/<code>", name="Xã", title="Phiếu điểm xã — IOC", order=11,
                   scope_check=check_scope)

PREFIX = "commune"
CODE = f"{PREFIX}-code"
LANG = f"{PREFIX}-lang"
PERIOD = f"{PREFIX}-period"
PRESET = f"{PREFIX}-preset"
PERIOD_SHOWN = f"{PREFIX}-period-shown"
INTERVAL = f"{PREFIX}-interval"
PRINT = f"{PREFIX}-print"
SCORE, POINTS, RANK, GRADE, CHANGE = (f"{PREFIX}-{k}" for k in ("score", "points", "rank", "grade", "change"))
KPI_TABLE = f"{PREFIX}-kpis"
COMPONENTS = f"{PREFIX}-components"
CLIMB = f"{PREFIX}-climb"
HISTORY = f"{PREFIX}-history"
TREND = f"{PREFIX}-trend"
FIELDS = f"{PREFIX}-fields"
SYSTEMS = f"{PREFIX}-systems"
COMMUNE_LEVEL = "xa"


def layout(code: str | None = None, lang: str | None = None, **_query) -> html.Div:
    """Render the commune's scorecard frame; callbacks fill in the numbers."""
    lang = normalise_lang(lang)
    app = context.current()
    info = _commune_info(app, code)
    if info is not None:
        current_scope().restrict([info["code"]])  # the page router's callback: 403 outside the scope
    # An unknown code still gets every component (hidden), so Dash's validation layout knows all ids.
    not_found = [] if info is not None else [
        html.P(t("commune_not_found", lang, code=code), id=f"{PREFIX}-not-found", className="card")]
    title = f"{info['name']} ({info['code']})" if info is not None else NO_DATA
    crumbs = breadcrumb(app.province_code, lang, (info["code"], info["name"])) if info is not None else None
    return html.Div(className="room room-commune scorecard", children=not_found + [crumbs, html.Div(
        hidden=info is None, children=_content(app, lang, title, info["code"] if info is not None else None))])


def _content(app, lang: str, title: str, code: str | None) -> list:
    return [
        dcc.Store(id=CODE, data=code), dcc.Store(id=LANG, data=lang),
        dcc.Interval(id=INTERVAL, interval=app.settings.collection_interval_s * 1000),
        html.Div(className="commune-actions no-print", children=[
            dcc.Link(t("commune_back", lang), href=scope_url.link(app, "/rankings", lang), id=f"{PREFIX}-back"),
            html.Button(t("commune_print", lang), id=PRINT, n_clicks=0, className="preset"),
            html.Span(id=f"{PRINT}-done", hidden=True)]),
        period_toolbar(PREFIX, title, lang, app.settings.history_start, app.today()),
        _score_strip(lang),
        html.Div(className="grid-2", children=[
            _card(t("commune_components_title", lang), html.Div(id=COMPONENTS),
                  not_computable_note(lang, f"{PREFIX}-not-computable")),
            _card(t("commune_climb_title", lang), html.Div(id=CLIMB, className="climb")),
        ]),
        _card(t("commune_kpis_title", lang), html.Div(id=KPI_TABLE)),
        html.Div(className="grid-2", children=[
            _card(t("commune_trend_title", lang), dcc.Graph(id=TREND, config={"displaylogo": False})),
            _card(t("commune_history_title", lang), dcc.Graph(id=HISTORY, config={"displaylogo": False})),
        ]),
        html.Div(className="grid-2", children=[
            _card(t("commune_fields_title", lang), html.Div(id=FIELDS)),
            _card(t("commune_systems_title", lang), html.Div(id=SYSTEMS)),
        ]),
    ]


def _require(code) -> None:
    if not code:  # an unknown commune: nothing to fill in
        raise dash.exceptions.PreventUpdate
    current_scope().restrict([str(code)])  # a crafted request for another commune: 403, nothing read


def _commune_info(app, code) -> dict | None:
    units = loaders.units(current_reader(app.engine), app.province_code)
    match = units[(units["code"] == str(code or "")) & (units["level"] == COMMUNE_LEVEL)]
    return None if match.empty else match.iloc[0].to_dict()


def _card(title: str, *children) -> html.Section:
    return html.Section(className="card", children=[html.H3(title), *children])


def _score_strip(lang: str) -> html.Section:
    items = [(SCORE, "commune_score"), (POINTS, "commune_points"), (RANK, "commune_rank"),
             (GRADE, "commune_grade"), (CHANGE, "commune_change")]
    return html.Section(className="kpi-strip score-strip", children=[
        html.Div(className="kpi-card", children=[html.Div(t(key, lang), className="kpi-label"),
                                                 html.Div(NO_DATA, id=element, className="kpi-value")])
        for element, key in items])


clientside_callback(
    "function(n) { if (n) { window.print(); } return ''; }",
    Output(f"{PRINT}-done", "children"), Input(PRINT, "n_clicks"), prevent_initial_call=True,
)


@callback(
    Output(PERIOD, "start_date"), Output(PERIOD, "end_date"),
    Input({"type": PRESET, "preset": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def update_period(clicks):
    """Apply a preset button."""
    return apply_preset(clicks)


@callback(
    Output(SCORE, "children"), Output(POINTS, "children"), Output(RANK, "children"), Output(GRADE, "children"),
    Output(CHANGE, "children"), Output(KPI_TABLE, "children"), Output(COMPONENTS, "children"),
    Output(CLIMB, "children"), Output(PERIOD_SHOWN, "children"),
    Input(PERIOD, "start_date"), Input(PERIOD, "end_date"), Input(INTERVAL, "n_intervals"),
    State(CODE, "data"), State(LANG, "data"),
)
@rendered
def update_scorecard(start_date, end_date, _tick, code, lang):
    """Fill the score strip, the KPI comparison, the component breakdown and the climb advice."""
    app, lang = context.current(), normalise_lang(lang)
    _require(code)
    start, end = read_period(start_date, end_date, app.settings.history_start, app.today())
    config = app.settings.service_index
    ranking = current_reader(app.engine, rankings=True)  # rank among all communes, as the rankings table
    frame = loaders_rankings.scored_communes(ranking, app.province_code, start, end, config)
    row = frame[frame["unit_code"] == code].iloc[0]
    ranked = int(frame["rank"].notna().sum())
    rank = NO_DATA if is_missing(row["rank"]) else t("commune_rank_of", lang, rank=rank_text(row["rank"]), total=ranked)
    ladder, others = loaders_rankings.climb_for(ranking, app.province_code, start, end, code, config)
    return (format_number(row["score"], lang), points_text(row["points"], row["max_points"], lang), rank,
            grade_label(config, row["grade"], lang),
            change_cell(row["rank_change"], row["previous_rank"], row["rank"], lang),
            kpi_table(frame, code, lang), components_table(frame, code, config, lang),
            climb_text(row, ladder, others, lang), period_shown(start, end, previous_period(start, end), lang))


def kpi_table(frame: pd.DataFrame, code: str, lang: str) -> html.Table:
    """The unit's KPIs and service index against the province's median commune and its best one."""
    rows = [_kpi_row(frame, code, kpi.key, label(kpi, lang), kpi.unit, kpi.higher_is_better, lang) for kpi in KPIS]
    rows.append(_kpi_row(frame, code, "score", t("commune_service_index", lang), "score", True, lang))
    header = html.Thead(html.Tr([html.Th(t(k, lang), className=None if k == "commune_col_kpi" else "num")
                                 for k in ("commune_col_kpi", "commune_col_this", "commune_col_median",
                                           "commune_col_best")]))
    return html.Table([header, html.Tbody(rows)], className="ranking", id=f"{KPI_TABLE}-table")


def _kpi_row(frame, code, key, name, unit, higher_is_better, lang) -> html.Tr:
    # numpy on the column: ~100 communes, where each pandas call costs more than the arithmetic.
    values = frame[key].to_numpy(dtype="float64", na_value=np.nan)
    mine = values[(frame["unit_code"] == code).to_numpy()][0]
    shown = (lambda v: format_number(v, lang)) if unit == "score" else (lambda v: format_value(v, unit, lang))
    best_text, median = NO_DATA, np.nan
    if not np.isnan(values).all():
        at = int(np.nanargmax(values) if higher_is_better else np.nanargmin(values))  # first best, as idxmax
        best_text = f"{shown(frame[key].iloc[at])} ({frame['name'].iloc[at]})"
        median = float(np.nanmedian(values))
    return html.Tr([html.Td(name), html.Td(shown(mine), className="num"),
                    html.Td(shown(median), className="num"), html.Td(best_text, className="num")],
                   **{"data-kpi": key})


def components_table(frame: pd.DataFrame, code: str, config, lang: str) -> html.Table:
    """Each component: group, share, points of its weight and points lost; "no data" never as zero."""
    breakdown = component_breakdown(frame, code, config)
    no_data = t("commune_no_data", lang)
    rows = []
    for item in breakdown.to_dict("records"):
        missing = is_missing(item["points"])
        rows.append(html.Tr([
            html.Td(group_name(item["group"], lang)),
            html.Td(COMPONENT_LABELS[item["component"]][0 if lang == "vi" else 1]),
            html.Td(no_data if missing else format_percent(item["share"], lang), className="num"),
            html.Td(no_data if missing else points_text(item["points"], item["weight"], lang), className="num"),
            html.Td(no_data if missing else format_number(item["lost"], lang, digits=2), className="num"),
        ], **{"data-component": item["component"]}))
    header = html.Thead(html.Tr([html.Th(t(k, lang)) for k in (
        "commune_col_group", "commune_col_component", "commune_col_share", "commune_col_points", "commune_col_lost")]))
    return html.Table([header, html.Tbody(rows)], className="ranking", id=f"{COMPONENTS}-table")


def climb_text(row, ladder, others, lang: str) -> list:
    """Sentences saying how many more dossiers would move the unit up, and to which rank."""
    if is_missing(row["rank"]):
        return [html.P(t("commune_climb_no_score", lang))]
    if int(row["rank"]) == 1:
        return [html.P(t("commune_climb_top", lang), id=f"{CLIMB}-top")]
    parts = [html.P(_step_text(step, lang), id=f"{CLIMB}-step-{i}") for i, step in enumerate(ladder)]
    if not ladder:
        parts.append(html.P(t("commune_climb_none", lang), id=f"{CLIMB}-none"))
    if others:
        parts.append(html.P(t("commune_climb_other", lang), className="muted"))
        parts.append(html.Ul([html.Li(_step_text(step, lang), **{"data-lever": step.lever}) for step in others],
                             id=f"{CLIMB}-others"))
    return parts


def _step_text(step, lang: str) -> str:
    return t(f"commune_climb_{step.lever}", lang, n=format_count(step.n, lang),
             points=format_number(step.points_gained, lang, digits=2),
             score=format_number(step.score_gained, lang, digits=1), rank=step.from_rank, new_rank=step.to_rank)


@callback(
    Output(HISTORY, "figure"),
    Input(PERIOD, "end_date"), Input(INTERVAL, "n_intervals"), State(CODE, "data"), State(LANG, "data"),
)
@rendered
def update_history(end_date, _tick, code, lang):
    """Draw the unit's rank by calendar month up to the period's end (rank 1 on top)."""
    app, lang = context.current(), normalise_lang(lang)
    _require(code)
    _, end = read_period(None, end_date, app.settings.history_start, app.today())
    history = loaders_rankings.rank_history(current_reader(app.engine, rankings=True), app.province_code, code, end,
                                            app.settings.service_index,
                                            since=app.settings.history_start)
    return history_figure(history, lang)


def history_figure(history: pd.DataFrame, lang: str) -> go.Figure:
    """Rank per month as a line with markers; months without a score are gaps."""
    months = [m.strftime("%m/%Y") for m in history["month"]]
    ranks = [None if is_missing(r) else int(r) for r in history["rank"]]
    text = [f"{r}/{n}" if r is not None else t("no_data", lang) for r, n in zip(ranks, history["ranked"])]
    figure = go.Figure(go.Scatter(x=months, y=ranks, mode="lines+markers+text", text=text, textposition="top center",
                                  line=dict(color=OKABE_ITO["blue"], width=2), connectgaps=False,
                                  name=t("commune_history_rank", lang), hovertemplate="%{x}: %{text}<extra></extra>"))
    figure.update_yaxes(autorange="reversed", title=t("commune_history_rank", lang), rangemode="tozero")
    figure.update_xaxes(type="category")
    figure.update_layout(height=300, margin=dict(l=40, r=10, t=10, b=30), font=FONT, separators=separators(lang),
                         showlegend=False, paper_bgcolor="rgba(0,0,0,0)")
    return figure


@callback(
    Output(TREND, "figure"),
    Input(PERIOD, "start_date"), Input(PERIOD, "end_date"), Input(INTERVAL, "n_intervals"),
    State(CODE, "data"), State(LANG, "data"),
)
@rendered
def update_trend(start_date, end_date, _tick, code, lang):
    """Draw the unit's daily received bars and on-time line."""
    app, lang = context.current(), normalise_lang(lang)
    _require(code)
    start, end = read_period(start_date, end_date, app.settings.history_start, app.today())
    figure = trend_figure(loaders_rankings.unit_daily(current_reader(app.engine), code, start, end), lang)
    return figure.update_layout(height=300)


@callback(
    Output(FIELDS, "children"),
    Input(PERIOD, "start_date"), Input(PERIOD, "end_date"), Input(INTERVAL, "n_intervals"),
    State(CODE, "data"), State(LANG, "data"),
)
@rendered
def update_fields(start_date, end_date, _tick, code, lang):
    """Tabulate the unit's dossiers and rates by procedure field."""
    app, lang = context.current(), normalise_lang(lang)
    _require(code)
    start, end = read_period(start_date, end_date, app.settings.history_start, app.today())
    return fields_table(loaders_rankings.unit_fields(current_reader(app.engine), code, start, end), lang)


def fields_table(frame: pd.DataFrame, lang: str) -> html.Table | html.P:
    """One row per procedure field with received, resolved, 766 on-time rate and online share."""
    if frame.empty:
        return html.P(t("no_data_period", lang), className="muted", id=f"{FIELDS}-empty")
    keys = [k for k in ("received", "resolved", "on_time_766", "online_share")]
    by_key = {kpi.key: kpi for kpi in KPIS}
    header = html.Thead(html.Tr([html.Th(t("commune_col_field", lang))] +
                                [html.Th(label(by_key[k], lang), className="num") for k in keys]))
    rows = []
    for item in frame.sort_values("received", ascending=False, kind="mergesort").to_dict("records"):
        field = FIELDS_BY_CODE.get(item["field"])
        name = (field.name_vi if lang == "vi" else field.name_en) if field else item["field"]
        rows.append(html.Tr([html.Td(name)] + [html.Td(format_value(item[k], by_key[k].unit, lang), className="num")
                                               for k in keys], **{"data-field": item["field"]}))
    return html.Table([header, html.Tbody(rows)], className="ranking", id=f"{FIELDS}-table")


@callback(
    Output(SYSTEMS, "children"),
    Input(INTERVAL, "n_intervals"), State(CODE, "data"), State(LANG, "data"),
)
@rendered(health=True)
def update_systems(_tick, code, lang):
    """List the unit's monitored systems with their state and uptime."""
    app, lang = context.current(), normalise_lang(lang)
    _require(code)
    health = app.settings.health
    frame = loaders_rankings.unit_systems(current_reader(app.engine), code, app.now(), health.slow_ms,
                                          health.cert_warn_days)
    return systems_table(frame, lang)


def systems_table(frame: pd.DataFrame, lang: str) -> html.Table | html.P:
    """State and uptime of each of the unit's targets; states carry a symbol and a word, not colour alone."""
    if frame.empty:
        return html.P(t("commune_systems_none", lang), className="muted", id=f"{SYSTEMS}-none")
    columns = ("commune_col_system", "commune_col_state", "commune_col_last", "commune_col_uptime_24h",
               "commune_col_uptime_7d", "commune_col_uptime_30d")
    header = html.Thead(html.Tr([html.Th(t(k, lang)) for k in columns]))
    rows = [html.Tr([html.Td(_system_name(item["system"], lang)),
                     html.Td(t(f"commune_state_{item['state']}", lang), className=f"state state-{item['state']}"),
                     html.Td(format_datetime(None if pd.isna(item["last_at"]) else item["last_at"], lang)),
                     *[html.Td(format_percent(item[w], lang), className="num")
                       for w in ("uptime_24h", "uptime_7d", "uptime_30d")]], **{"data-target": item["key"]})
            for item in frame.to_dict("records")]
    return html.Table([header, html.Tbody(rows)], className="ranking", id=f"{SYSTEMS}-table")


def _system_name(system: str, lang: str) -> str:
    names = COMMUNE_SYSTEMS.get(system) or SYSTEM_CATALOG.get(system, (system, system, False))[:2]
    return names[0] if lang == "vi" else names[1]
