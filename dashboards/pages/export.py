"""Analysts' room (/export): Biểu 06 and on-time statistics for any period, units and fields.

The page previews Biểu 06 for the chosen filters (the same function writes the XLSX), offers
direct downloads (CSV streams), and runs any export as a background job whose progress is polled
by a dcc.Interval, ending in a download link.
"""
from __future__ import annotations

from urllib.parse import urlencode

import dash
import flask
from dash import Input, Output, State, callback, dcc, html

from config.fields import PROCEDURE_FIELDS
from dashboards.cache import rendered
from dashboards.components import plain
from dashboards import context, loaders_export, scope_url
from dashboards.exports.bieu06_xlsx import Bieu06Report
from access.scope import EXPORT_ROLES, current_reader, current_scope
from dashboards.exports.request import FORMATS, ExportInputError, apply_scope, build_request, file_name, to_params
from dashboards.exports.routes import DOWNLOAD_PATH, JOB_PATH, audit_export, export_jobs
from dashboards.exports.run import total_steps, write_export
from dashboards.format import format_count, format_date, parse_date
from dashboards.i18n import normalise_lang, t
from kpis.bieu06 import BIEU06_COLUMNS, COUNT_NUMBERS
from store.readers_export import GRAINS

dash.register_page(__name__, path="/export", name="Xuất số liệu", title="Xuất số liệu — IOC", order=90,
                   nav_key="nav_export",
                   roles=EXPORT_ROLES)

PREFIX = "export"
PERIOD, UNITS, FIELDS = f"{PREFIX}-period", f"{PREFIX}-units", f"{PREFIX}-fields"
BY, FORMAT, LANG = f"{PREFIX}-by", f"{PREFIX}-format", f"{PREFIX}-lang"
LINK_BIEU06, LINK_CSV = f"{PREFIX}-link-bieu06", f"{PREFIX}-link-csv"
START, JOB, POLL = f"{PREFIX}-start", f"{PREFIX}-job", f"{PREFIX}-poll"
PROGRESS, STATUS, DOWNLOAD = f"{PREFIX}-progress", f"{PREFIX}-status", f"{PREFIX}-download"
PREVIEW, PREVIEW_NOTE, ERROR = f"{PREFIX}-preview", f"{PREFIX}-preview-note", f"{PREFIX}-error"
POLL_MS = 500
DEFAULT_BY, DEFAULT_FORMAT = "month", "bieu06-xlsx"


def layout(lang: str | None = None, **_query) -> html.Div:
    """Render the filters, direct links, the job area and the Biểu 06 preview."""
    lang = normalise_lang(lang)
    app = context.current()
    today = app.today()
    start = min(app.settings.history_start, today)
    return html.Div(className="room room-export", children=[
        dcc.Store(id=LANG, data=lang), dcc.Store(id=JOB),
        dcc.Interval(id=POLL, interval=POLL_MS, disabled=True),
        html.Div(className="toolbar", children=[html.H2(t("export_page_title", lang))]),
        html.Section(className="card export-filters", children=[
            _labelled(t("period", lang), dcc.DatePickerRange(
                id=PERIOD, start_date=start, end_date=today, display_format="DD/MM/YYYY", min_date_allowed=start,
                max_date_allowed=today, first_day_of_week=1, updatemode="bothdates")),
            _labelled(t("export_units", lang), dcc.Dropdown(
                id=UNITS, options=_unit_options(app), multi=True, placeholder=t("export_units_all", lang))),
            _labelled(t("export_fields", lang), dcc.Dropdown(
                id=FIELDS, multi=True, placeholder=t("export_fields_all", lang),
                options=[{"label": getattr(f, f"name_{lang}"), "value": f.code} for f in PROCEDURE_FIELDS])),
            _labelled(t("export_by", lang), dcc.RadioItems(
                id=BY, value=DEFAULT_BY, inline=True,
                options=[{"label": t(f"export_by_{g}", lang), "value": g} for g in GRAINS])),
            _labelled(t("export_format", lang), dcc.RadioItems(
                id=FORMAT, value=DEFAULT_FORMAT, inline=True,
                options=[{"label": t(f"export_format_{f}", lang), "value": f} for f in FORMATS])),
        ]),
        html.Section(className="card export-actions", children=[
            html.Span(t("export_direct", lang)),
            html.A(t("export_direct_bieu06", lang), id=LINK_BIEU06, href="", className="export-link"),
            html.A(t("export_direct_csv", lang), id=LINK_CSV, href="", className="export-link"),
            html.Button(t("export_start", lang), id=START, n_clicks=0, className="preset"),
            html.Progress(id=PROGRESS, value="0", max="1", className="export-progress"),
            html.Span(id=STATUS, className="muted"),
            html.A(id=DOWNLOAD, href="", className="export-download", style={"display": "none"}),
            html.P(id=ERROR, className="freshness-stale"),
        ]),
        html.Section(className="card", children=[
            html.H3(t("export_preview", lang)), html.P(id=PREVIEW_NOTE, className="muted"), html.Div(id=PREVIEW),
        ]),
    ])


def _labelled(text: str, control) -> html.Div:
    return html.Div(className="export-filter", children=[html.Label(text), control])


def _unit_options(app) -> list[dict]:
    frame = loaders_export.units(current_reader(app.engine), app.province_code).sort_values(
        ["level", "name"], ascending=[False, True])
    scope = current_scope()
    frame = frame[[scope.allows_unit(code) for code in frame["code"]]]
    return [{"label": f"{row.name} ({row.code})", "value": row.code} for row in frame.itertuples()]


def _request(start_date, end_date, units, fields, by, fmt, lang):
    app = context.current()
    start, end = parse_date(start_date, app.today()), parse_date(end_date, app.today())
    export = build_request(min(start, end), max(start, end), app.province_code,
                           loaders_export.known_codes(current_reader(app.engine), app.province_code),
                           unit_codes=units or None,
                           fields=fields or None, by=by or DEFAULT_BY, fmt=fmt or DEFAULT_FORMAT, lang=lang)
    return apply_scope(export, current_scope())


def _href(export) -> str:
    # National mode: the download names its province (?tinh=), which the request hook checks against the scope.
    shown = {scope_url.PARAM: export.province_code} if context.current().national and export.province_code else {}
    return dash.get_relative_path(DOWNLOAD_PATH) + "?" + urlencode({**to_params(export), **shown})


FILTERS = [Input(PERIOD, "start_date"), Input(PERIOD, "end_date"), Input(UNITS, "value"), Input(FIELDS, "value"),
           Input(BY, "value")]


@callback(
    Output(LINK_BIEU06, "href"), Output(LINK_CSV, "href"), Output(PREVIEW, "children"),
    Output(PREVIEW_NOTE, "children"), Output(ERROR, "children"),
    *FILTERS, State(LANG, "data"),
)
@rendered
def update_preview(start_date, end_date, units, fields, by, lang):
    """Refresh the direct download links and the Biểu 06 preview for the filters."""
    app, lang = context.current(), normalise_lang(lang)
    try:
        export = _request(start_date, end_date, units, fields, by, "bieu06-xlsx", lang)
    except ExportInputError as err:
        return "", "", None, "", str(err)
    report = loaders_export.bieu06_preview(current_reader(app.engine), export)
    note = " · ".join([t("period_shown", lang, start=format_date(export.start, lang), end=format_date(export.end, lang)),
                       t("export_units_with_data", lang, with_data=report.units_with_data, total=report.units_in_scope)])
    return (_href(export), _href(export.with_format("csv")), preview_table(report, lang), note, "")


def preview_table(report: Bieu06Report, lang: str) -> dict:
    """Biểu 06 as an HTML table with the same two-level header as the XLSX."""
    top, bottom = [], []
    for column in BIEU06_COLUMNS:
        group, text = getattr(column, f"group_{lang}"), getattr(column, f"label_{lang}")
        if not group:
            top.append(html.Th(text, rowSpan=2))
        elif top and top[-1].children == group:
            top[-1].colSpan += 1
        else:
            top.append(html.Th(group, colSpan=1))
        if group:
            bottom.append(html.Th(text))
    # Body rows as the JSON Dash sends (dashboards.components.plain): ~30 rows x 13 cells of components
    # would cost more than the rest of the preview.
    counts = set(COUNT_NUMBERS)
    rows = [plain.tag("Tr", [plain.tag("Td", format_count(record[c.number], lang), className="num")
                             if c.number in counts else plain.tag("Td", record[c.number]) for c in BIEU06_COLUMNS],
                      className=f"bieu06-{record['kind']}", **plain.attrs(data_kind=record["kind"]))
            for record in report.table.to_dict("records")]
    head = html.Thead([html.Tr(top), html.Tr(bottom)])
    return plain.tag("Table", [head, plain.tag("Tbody", rows)], className="bieu06", id=f"{PREVIEW}-table")


@callback(
    Output(JOB, "data"), Output(POLL, "disabled"), Output(STATUS, "children", allow_duplicate=True),
    Output(DOWNLOAD, "style", allow_duplicate=True),
    Input(START, "n_clicks"), *[State(i.component_id, i.component_property) for i in FILTERS],
    State(FORMAT, "value"), State(LANG, "data"),
    prevent_initial_call=True,
)
def update_job(_clicks, start_date, end_date, units, fields, by, fmt, lang):
    """Start a background export job for the filters and begin polling it."""
    app, lang = context.current(), normalise_lang(lang)
    try:
        export = _request(start_date, end_date, units, fields, by, fmt, lang)
    except ExportInputError as err:
        return None, True, str(err), {"display": "none"}
    reader, province_code, now = current_reader(app.engine), app.province_code, app.now()
    frame, reporter = loaders_export.units(reader, province_code), loaders_export.reporter_name(province_code)
    record = audit_export(app.engine, now, current_scope(), export, flask.request.remote_addr or "")

    def work(path, progress):
        rows = write_export(reader, export, path, units=frame, reporter=reporter, generated_at=now, progress=progress)
        record(rows)
        return rows

    job_id = export_jobs().submit(work, file_name(export), total_steps(export), owner=current_scope().username)
    return job_id, False, t("export_queued", lang), {"display": "none"}


@callback(
    Output(PROGRESS, "value"), Output(PROGRESS, "max"), Output(STATUS, "children"), Output(DOWNLOAD, "href"),
    Output(DOWNLOAD, "children"), Output(DOWNLOAD, "style"), Output(POLL, "disabled", allow_duplicate=True),
    Input(POLL, "n_intervals"), State(JOB, "data"), State(LANG, "data"),
    prevent_initial_call=True,
)
def update_progress(_tick, job_id, lang):
    """Show the job's progress; when done, show its download link and stop polling."""
    lang = normalise_lang(lang)
    status = export_jobs().status(job_id, owner=current_scope().username)
    hidden = {"display": "none"}
    if status is None:
        return "0", "1", t("export_job_gone", lang), "", "", hidden, True
    value, maximum = str(status.done), str(status.total)
    if status.state == "failed":
        return value, maximum, t("export_failed", lang, error=status.error), "", "", hidden, True
    if status.state != "done":
        text = t("export_queued", lang) if status.state == "queued" else t(
            "export_running", lang, done=status.done, total=status.total)
        return value, maximum, text, "", "", hidden, False
    href = dash.get_relative_path(JOB_PATH + status.job_id)
    return (value, maximum, t("export_done", lang, rows=format_count(status.rows, lang)), href,
            t("export_download", lang, name=status.download_name), {"display": "inline"}, True)
