"""The rankings room at the nation's level (national mode, no ?tinh): the provinces ranked by the service
index of their communes, each a link to that province's commune ranking (/rankings?tinh=NN).

Province figures come from the rollups (dashboards.loaders_national), the index is the same
kpis.service_index the communes get, computed on each province's commune-level totals.
"""
from __future__ import annotations

import pandas as pd
from dash import ALL, Input, Output, State, dcc, html

from dashboards import context, loaders_national, scope_url
from dashboards.components.callbacks import CallbackSet
from dashboards.components.scorecard import apply_preset, period_toolbar, read_period
from dashboards.components.shell import breadcrumb
from dashboards.format import format_count, format_date, format_number, format_percent
from dashboards.i18n import normalise_lang, t

callbacks = CallbackSet()  # added to each app by dashboards.scope_url.install
PREFIX = "nrank"
PERIOD, TABLE, PERIOD_SHOWN, INTERVAL, LANG = (f"{PREFIX}-period", f"{PREFIX}-table", f"{PREFIX}-period-shown",
                                               f"{PREFIX}-interval", f"{PREFIX}-lang")
INDEX = loaders_national.SERVICE_INDEX


def layout(lang: str, app) -> html.Div:
    """The provinces' ranking frame; a callback fills the table."""
    return html.Div(className="room room-rankings room-nation", children=[
        dcc.Store(id=LANG, data=lang),
        dcc.Interval(id=INTERVAL, interval=app.settings.collection_interval_s * 1000),
        breadcrumb(None, lang, path="/rankings"),
        period_toolbar(PREFIX, t("national_rankings_title", lang), lang, app.settings.history_start, app.today()),
        html.P(t("national_rankings_note", lang), className="muted"),
        html.Section(className="card", children=[
            html.P(id=PERIOD_SHOWN, className="muted"),
            html.Div(id=TABLE, className="table-scroll"),
        ]),
    ])


@callbacks(Output(PERIOD, "start_date"), Output(PERIOD, "end_date"),
          Input({"type": f"{PREFIX}-preset", "preset": ALL}, "n_clicks"), prevent_initial_call=True)
def update_period(clicks):
    """Apply a preset button."""
    return apply_preset(clicks)


@callbacks(Output(TABLE, "children"), Output(PERIOD_SHOWN, "children"),
          Input(PERIOD, "start_date"), Input(PERIOD, "end_date"), Input(INTERVAL, "n_intervals"),
          State(LANG, "data"))
def update_table(start_date, end_date, _tick, lang):
    """Rank the provinces by their communes' service index (competition ranking; no data last)."""
    app, lang = context.current(), normalise_lang(lang)
    start, end = read_period(start_date, end_date, app.settings.history_start, app.today())
    frame = loaders_national.province_kpis(scope_url.reader(app), start, end, app.settings.service_index)
    shown = t("period_shown", lang, start=format_date(start, lang), end=format_date(end, lang))
    return ranking_table(ranked(frame), lang), shown


def ranked(frame: pd.DataFrame) -> pd.DataFrame:
    """Provinces with a `rank` (1, 2, 2, 4 by the index, highest first), those without an index last."""
    frame = frame.assign(rank=frame[INDEX].rank(method="min", ascending=False))
    return frame.sort_values(["rank", "unit_code"], na_position="last", ignore_index=True)


def ranking_table(frame: pd.DataFrame, lang: str) -> html.Table:
    """One row per province: rank, name (drill-down link), communes, index, received, on time, online."""
    heads = ["national_col_rank", "national_col_province", "national_col_communes", "national_col_index",
             "national_col_received", "national_col_on_time", "national_col_online"]
    header = html.Thead(html.Tr([html.Th(t(key, lang), className="num" if i > 1 else None)
                                 for i, key in enumerate(heads)]))
    rows = []
    for _, row in frame.iterrows():
        rank = "—" if pd.isna(row["rank"]) else str(int(row["rank"]))
        link = dcc.Link(row["name"], href=scope_url.href("/rankings", row["unit_code"], lang), className="province-link")
        received = t("national_no_data", lang) if not row["has_data"] else format_count(row["received"], lang)
        rows.append(html.Tr([html.Td(rank), html.Td(link), html.Td(format_count(row["communes"], lang), className="num"),
                             html.Td(format_number(row[INDEX], lang, 1), className="num"),
                             html.Td(received, className="num"),
                             html.Td(format_percent(row["on_time_766"], lang), className="num"),
                             html.Td(format_percent(row["online_share"], lang), className="num")],
                            **{"data-province": row["unit_code"]}))
    return html.Table([header, html.Tbody(rows)], className="ranking", id=f"{TABLE}-table")
