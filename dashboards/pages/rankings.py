"""Rankings room (/rankings): every commune's service index, rank, change, grade; search, filter, sort.

Also home of the overview map's click-through: clicking a commune there opens /commune/<code>.
"""
from __future__ import annotations

import dash
import pandas as pd
from dash import ALL, Input, Output, State, callback, ctx as dash_ctx, dcc, html

from access.scope import DATA_ROLES, current_reader
from config.service_index import GROUPS
from dashboards.cache import rendered
from dashboards import context, loaders_rankings, national_rankings
from dashboards.components.scorecard import (
    apply_preset,
    DEFAULT_SORT, SCORED_GROUPS, SORT_KEYS, TYPES, change_cell, commune_href_from_click, filter_frame,
    grade_label, next_sort, not_computable_note, period_shown, period_toolbar, points_text,
    rank_text, read_period, sort_frame, with_group_points,
)
from dashboards.components import plain
from dashboards.components.shell import breadcrumb
from dashboards.format import format_number
from dashboards.i18n import normalise_lang, t, with_lang
from kpis.change import previous_period

dash.register_page(__name__, path="/rankings", name="Xếp hạng xã", title="Xếp hạng xã — IOC", order=10,
                   nav_key="nav_rankings", roles=DATA_ROLES)

PREFIX = "rankings"
PERIOD = f"{PREFIX}-period"
PRESET = f"{PREFIX}-preset"
SEARCH = f"{PREFIX}-search"
TYPE = f"{PREFIX}-type"
SORT = f"{PREFIX}-sort"
SORT_BUTTON = f"{PREFIX}-sort-button"
TABLE = f"{PREFIX}-table"
SUMMARY = f"{PREFIX}-summary"
PERIOD_SHOWN = f"{PREFIX}-period-shown"
INTERVAL = f"{PREFIX}-interval"
LANG = f"{PREFIX}-lang"


def layout(lang: str | None = None, **_query) -> html.Div:
    """Render the room in the URL's language; callbacks fill in the table."""
    lang = normalise_lang(lang)
    app = context.current()
    if app.national and app.province_code is None:   # national mode without ?tinh: provinces ranked
        return national_rankings.layout(lang, app)
    config = app.settings.service_index
    return html.Div(className="room room-rankings", children=[
        dcc.Store(id=LANG, data=lang), dcc.Store(id=SORT, data=DEFAULT_SORT),
        breadcrumb(app.province_code, lang, path="/rankings"),
        dcc.Interval(id=INTERVAL, interval=app.settings.collection_interval_s * 1000),
        period_toolbar(PREFIX, t("rankings_title", lang), lang, app.settings.history_start, app.today()),
        html.Div(className="filters no-print", children=[
            html.Label(t("rankings_search", lang), htmlFor=SEARCH, className="muted"),
            dcc.Input(id=SEARCH, type="search", placeholder=t("rankings_search", lang), debounce=True,
                      className="search"),
            html.Label(t("rankings_type", lang), htmlFor=TYPE, className="muted"),
            dcc.RadioItems(id=TYPE, value="all", inline=True, className="type-filter",
                           options=[{"label": t(f"rankings_type_{k}", lang), "value": k} for k in TYPES]),
        ]),
        html.P(t("rankings_method", lang, max=format_number(config.max_points(), lang, digits=0)),
               className="muted", id=f"{PREFIX}-method"),
        not_computable_note(lang, f"{PREFIX}-not-computable"),
        html.Section(className="card", children=[
            html.P(id=SUMMARY, className="muted"),
            html.Div(id=TABLE, className="table-scroll"),
            html.P(t("rankings_sort_hint", lang), className="muted no-print"),
        ]),
    ])


@callback(
    Output(PERIOD, "start_date"), Output(PERIOD, "end_date"),
    Input({"type": PRESET, "preset": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def update_period(clicks):
    """Apply a preset button."""
    return apply_preset(clicks)


@callback(
    Output(SORT, "data"),
    Input({"type": SORT_BUTTON, "column": ALL}, "n_clicks"), State(SORT, "data"),
    prevent_initial_call=True,
)
def update_sort(clicks, current):
    """Sort by the clicked heading; a second click on the same heading reverses the order."""
    if not dash_ctx.triggered_id or not any(c for c in clicks if c):
        raise dash.exceptions.PreventUpdate
    column = dash_ctx.triggered_id["column"]
    return next_sort(current or DEFAULT_SORT, column)


@callback(
    Output(TABLE, "children"), Output(SUMMARY, "children"), Output(PERIOD_SHOWN, "children"),
    Input(PERIOD, "start_date"), Input(PERIOD, "end_date"), Input(SEARCH, "value"), Input(TYPE, "value"),
    Input(SORT, "data"), Input(INTERVAL, "n_intervals"), State(LANG, "data"),
)
@rendered
def update_table(start_date, end_date, search, unit_type, sort, _tick, lang):
    """Rank the communes and render the filtered, sorted table."""
    app, lang = context.current(), normalise_lang(lang)
    start, end = read_period(start_date, end_date, app.settings.history_start, app.today())
    config = app.settings.service_index
    # The rankings table is public within the province: every commune's score and rank, also for chairs.
    reader = current_reader(app.engine, rankings=True)
    frame = with_group_points(loaders_rankings.scored_communes(reader, app.province_code, start, end, config))
    shown = sort_frame(filter_frame(frame, search, unit_type), sort or DEFAULT_SORT)
    summary = t("rankings_summary", lang, ranked=int(frame["rank"].notna().sum()), total=len(frame), shown=len(shown))
    body = ranking_table(shown, config, lang, sort or DEFAULT_SORT) if len(shown) else html.P(
        t("rankings_no_match", lang), className="muted", id=f"{TABLE}-empty")
    return body, summary, period_shown(start, end, previous_period(start, end), lang)


def ranking_table(frame: pd.DataFrame, config, lang: str, sort: dict) -> dict:
    """The rankings table; each unit's name links to its commune page.

    Rows are written as the JSON of html.Tr/Td (components.plain): a province has a hundred rows of
    fourteen cells, and component objects would cost more than the whole data read.
    """
    header = html.Thead(html.Tr([_heading(key, lang, sort) for key in SORT_KEYS] + [
        html.Th(t("rankings_col_grade", lang))]))
    rows = [_row(row, config, lang) for row in frame.to_dict("records")]
    return plain.tag("Table", [header, plain.tag("Tbody", rows)], className="ranking rankings-table",
                     id=f"{TABLE}-table")


def _heading(key: str, lang: str, sort: dict) -> html.Th:
    text = t(f"rankings_col_{key}", lang) if not key.startswith("group_") else key.removeprefix("group_")
    title = GROUPS[key.removeprefix("group_")][0 if lang == "vi" else 1] if key.startswith("group_") else None
    arrow = (" ▲" if sort.get("ascending") else " ▼") if sort.get("column") == key else ""
    numeric = key not in ("name", "type")
    return html.Th(html.Button(text + arrow, id={"type": SORT_BUTTON, "column": key}, n_clicks=0,
                               className="sort-button", title=title),
                   className="num" if numeric else None,
                   **{"aria-sort": ("ascending" if sort.get("ascending") else "descending")
                      if sort.get("column") == key else "none"})


def _row(row: dict, config, lang: str) -> dict:
    code, td = row["unit_code"], plain.tag
    cells = [
        td("Td", rank_text(row["rank"]), className="num"),
        td("Td", change_cell(row["rank_change"], row["previous_rank"], row["rank"], lang).to_plotly_json(),
           className="num"),
        td("Td", plain.link(row["name"], with_lang(f"/commune/{code}", lang), id=f"{PREFIX}-link-{code}")),
        td("Td", t(f"rankings_type_{row['type']}", lang) if row["type"] in TYPES else row["type"]),
        td("Td", format_number(row["score"], lang), className="num"),
        td("Td", points_text(row["points"], row["max_points"], lang), className="num"),
        *[td("Td", format_number(row[f"group_{g}"], lang), className="num") for g in SCORED_GROUPS],
        td("Td", grade_label(config, row["grade"], lang)),
    ]
    return td("Tr", cells, **plain.attrs(data_unit=code))


# Dash Pages routes on its own location component; setting its pathname renders the page in place
# (refresh="callback-nav"), and the URL's ?lang= query stays as it is.
PAGES_LOCATION = "_pages_location"


@callback(
    Output(PAGES_LOCATION, "pathname", allow_duplicate=True),
    Input("overview-map", "clickData"),
    prevent_initial_call=True,
)
def update_url_from_overview_map(click):
    """Open the clicked commune's page from the overview map."""
    href = commune_href_from_click(click, "vi")
    if href is None:
        raise dash.exceptions.PreventUpdate
    return href
