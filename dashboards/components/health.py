"""System-health widgets: status badges (icon + text, never colour alone), tables and figures.

Pure: frames in, Dash components or plotly figures out. States are green / amber / red as in
store.health_readers; each carries its own icon shape (✔ ▲ ✖) so no one has to tell colours apart.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
from dash import html

from config.health import COMMUNE_SYSTEMS, SYSTEM_CATALOG
from dashboards.components.charts import FONT, OKABE_ITO, separators
from dashboards.format import NO_DATA, format_count, format_datetime, format_percent, is_missing
from dashboards.i18n import t

STATES = ("green", "amber", "red")
STATE_ICONS = {"green": "✔", "amber": "▲", "red": "✖", "unknown": "?", "maintenance": "🔧"}
STATE_COLOURS = {"green": OKABE_ITO["green"], "amber": OKABE_ITO["orange"], "red": OKABE_ITO["vermillion"]}
MAINTENANCE_GREY = "#9aa3ae"
REASONS = ("timeout", "refused", "dns", "tls", "status", "content")
UPTIME_COLUMNS = ("uptime_24h", "uptime_7d", "uptime_30d", "uptime_90d")
ANCHOR_PREFIX = "systems-"


@dataclass(frozen=True)
class MapMeasure:
    """What the connectivity map colours by, shaped like a KPI definition for charts.choropleth_figure."""

    key: str
    unit: str
    higher_is_better: bool
    label_vi: str
    label_en: str


SHARE_UP = MapMeasure("share_up", "percent", True, "Tỷ lệ điểm kiểm tra đang hoạt động", "Share of targets up")


def anchor_id(system: str) -> str:
    """The id of a system's row on the board (alerts link to /systems#<code>)."""
    return f"{ANCHOR_PREFIX}{system}"


def system_href(system: str) -> str:
    """The link that opens /systems scrolled to a system's row."""
    return f"/systems#{system}"


def system_label(code: str, stored_name: str | None, lang: str) -> str:
    """A system's display name: the stored (configured) name in Vietnamese, the catalogue's in English."""
    if lang == "en":
        if code in SYSTEM_CATALOG:
            return SYSTEM_CATALOG[code][1]
        if code in COMMUNE_SYSTEMS:
            return COMMUNE_SYSTEMS[code][1]
    return stored_name or SYSTEM_CATALOG.get(code, COMMUNE_SYSTEMS.get(code, (code,)))[0]


def state_text(state: str | None, lang: str) -> str:
    """The words for a state ('green', 'amber', 'red'; anything else = not checked yet)."""
    return t(f"systems_state_{state if state in STATES else 'unknown'}", lang)


def status_badge(state: str | None, lang: str, in_maintenance: bool = False) -> html.Span:
    """An icon and the state's words on the state's colour; maintenance adds its own marker."""
    state = state if state in STATES else "unknown"
    children = [html.Span(STATE_ICONS[state], className="health-icon", **{"aria-hidden": "true"}),
                html.Span(state_text(state, lang), className="health-text")]
    if in_maintenance:
        children.append(html.Span(f" {STATE_ICONS['maintenance']} {t('systems_in_maintenance', lang)}",
                                  className="health-maintenance"))
    return html.Span(children, className=f"health-badge health-{state}", **{"data-state": state})


def format_ms(value, lang: str) -> str:
    """A latency in whole milliseconds: 4500 -> "4.500 ms"."""
    return NO_DATA if is_missing(value) else t("systems_ms", lang, value=format_count(value, lang))


def format_duration(seconds, lang: str) -> str:
    """A duration in words: minutes below an hour, hours and minutes below a day, else days and hours."""
    if is_missing(seconds):
        return NO_DATA
    minutes = int(round(float(seconds) / 60))
    if minutes < 60:
        return t("systems_duration_minutes", lang, m=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return t("systems_duration_hours", lang, h=hours, m=minutes)
    days, hours = divmod(hours, 24)
    return t("systems_duration_days", lang, d=days, h=hours)


def reason_text(reason, lang: str) -> str:
    """A failure reason in words ('timeout' -> 'Quá thời gian chờ phản hồi')."""
    return t(f"systems_reason_{reason}", lang) if reason in REASONS else NO_DATA


# --- tables ------------------------------------------------------------------------------------

def status_board(frame: pd.DataFrame, lang: str, table_id: str) -> html.Table | html.P:
    """One row per system (id systems-<code>): status badge, name, level, since, targets, latency, last check."""
    if frame.empty:
        return html.P(t("systems_board_empty", lang), className="muted", id=table_id)
    header = _header(lang, ["systems_col_state", "systems_col_system", "systems_col_level", "systems_col_since",
                            ("systems_col_targets", "num"), ("systems_col_latency", "num"), "systems_col_checked"])
    rows = [html.Tr(id=anchor_id(row["system"]), className=f"health-row health-row-{row['state']}",
                    **{"data-system": row["system"]}, children=[
                        html.Td(status_badge(row["state"], lang, bool(row["in_maintenance"]))),
                        html.Td(system_label(row["system"], row["name"], lang), className="health-system"),
                        html.Td(t(f"systems_level_{row['level']}", lang)),
                        html.Td(_since(row["since"], lang), className="health-since"),
                        html.Td(f"{int(row['targets_down'])} / {int(row['targets_amber'])} / {int(row['targets'])}",
                                className="num"),
                        html.Td(format_ms(row["latency_ms"], lang), className="num"),
                        html.Td(format_datetime(_moment(row["last_checked"]), lang)),
                    ]) for _, row in frame.iterrows()]
    return html.Table([header, html.Tbody(rows)], className="health-table", id=table_id)


def uptime_table(frame: pd.DataFrame, names: dict[str, str], lang: str, table_id: str) -> html.Table | html.P:
    """Uptime per system over 24 h, 7 d, 30 d and 90 d, as Vietnamese-formatted percentages."""
    if frame.empty:
        return html.P(t("systems_board_empty", lang), className="muted", id=table_id)
    windows = [(f"systems_window_{c.removeprefix('uptime_')}", "num") for c in UPTIME_COLUMNS]
    header = _header(lang, ["systems_col_system", *windows])
    rows = [html.Tr(id=f"{ANCHOR_PREFIX}uptime-{row['system']}", children=[
        html.Td(system_label(row["system"], names.get(row["system"]), lang)),
        *[html.Td(format_percent(row[c], lang), className="num") for c in UPTIME_COLUMNS],
    ]) for _, row in frame.iterrows()]
    return html.Table([header, html.Tbody(rows)], className="health-table", id=table_id)


def incident_table(frame: pd.DataFrame, names: dict[str, str], lang: str, table_id: str) -> html.Table | html.P:
    """Incidents, newest first: system, start, end (or ongoing), duration, cause and targets affected."""
    if frame.empty:
        return html.P(t("systems_incidents_none", lang), className="muted", id=table_id)
    header = _header(lang, ["systems_col_system", "systems_col_started", "systems_col_ended", "systems_col_duration",
                            "systems_col_reason", ("systems_col_affected", "num")])
    rows = []
    for _, row in frame.iterrows():
        ended = (html.Span(t("systems_incident_open", lang), className="health-badge health-red")
                 if row["open"] else format_datetime(_moment(row["ended_at"]), lang))
        rows.append(html.Tr(className="health-incident-open" if row["open"] else "", **{"data-system": row["system"]},
                            children=[
                                html.Td(system_label(row["system"], names.get(row["system"], row["name"]), lang)),
                                html.Td(format_datetime(_moment(row["started_at"]), lang)), html.Td(ended),
                                html.Td(format_duration(row["duration_s"], lang)),
                                html.Td(reason_text(row["reason"], lang), title=row["detail"] or ""),
                                html.Td(format_count(row["target_count"], lang), className="num"),
                            ]))
    return html.Table([header, html.Tbody(rows)], className="health-table", id=table_id)


def maintenance_table(frame: pd.DataFrame, names: dict[str, str], lang: str, table_id: str) -> html.Table | html.P:
    """Coming maintenance occurrences: when, scope (all systems, a system or a target), recurrence, note."""
    if frame.empty:
        return html.P(t("systems_maintenance_none", lang), className="muted", id=table_id)
    header = _header(lang, ["systems_col_when", "systems_col_scope", "systems_col_recurrence", "systems_col_note"])
    rows = []
    for _, row in frame.iterrows():
        when = f"{format_datetime(_moment(row['start']), lang)} – {format_datetime(_moment(row['end']), lang)}"
        if row["ongoing"]:
            when += f" ({t('systems_maintenance_now', lang)})"
        rows.append(html.Tr(className="health-maintenance-now" if row["ongoing"] else "", children=[
            html.Td(when), html.Td(scope_text(row["scope"], names, lang)),
            html.Td(recurrence_text(row["kind"], row["weekdays"], lang)), html.Td(row["note"] or ""),
        ]))
    return html.Table([header, html.Tbody(rows)], className="health-table", id=table_id)


def scope_text(scope: str, names: dict[str, str], lang: str) -> str:
    """A maintenance scope in words: '*' is every system, else the system's or target's name."""
    if scope == "*":
        return t("systems_scope_all", lang)
    return system_label(scope, names.get(scope), lang)


def recurrence_text(kind, weekdays, lang: str) -> str:
    """'Một lần', 'Hằng ngày' or 'Hằng tuần (Chủ nhật)'."""
    if kind == "daily":
        return t("systems_daily", lang)
    if kind == "weekly":
        day_names = t("systems_weekdays", lang).split(",")
        days = [day_names[int(d)] for d in str(weekdays or "").split(",") if d.strip()]
        return t("systems_weekly", lang, days=", ".join(days))
    return t("systems_once", lang)


def commune_targets(frame: pd.DataFrame, lang: str, table_id: str) -> html.Table | html.P:
    """A commune's targets with their state, since and last error."""
    if frame.empty:
        return html.P(t("systems_commune_none", lang), className="muted", id=table_id)
    header = _header(lang, ["systems_col_state", "systems_col_target", "systems_col_since", "systems_col_last_reason"])
    rows = [html.Tr(**{"data-target": row["key"]}, children=[
        html.Td(status_badge(row["state"] if not pd.isna(row["last_at"]) else None, lang, bool(row["in_maintenance"]))),
        html.Td(system_label(row["system"], None, lang)), html.Td(_since(row["since"], lang)),
        html.Td(reason_text(row["last_reason"], lang) if not row["last_success"] else ""),
    ]) for _, row in frame.iterrows()]
    return html.Table([header, html.Tbody(rows)], className="health-table", id=table_id)


def _header(lang: str, keys) -> html.Thead:
    cells = []
    for key in keys:
        key, css = key if isinstance(key, tuple) else (key, "")
        cells.append(html.Th(t(key, lang), className=css))
    return html.Thead(html.Tr(cells))


def _since(value, lang: str) -> str:
    return NO_DATA if is_missing(value) else t("systems_since", lang, time=format_datetime(_moment(value), lang))


def _moment(value):
    """A pandas Timestamp (or NaT) as a datetime for format_datetime."""
    return None if is_missing(value) else pd.Timestamp(value).to_pydatetime()


# --- figures -----------------------------------------------------------------------------------

def latency_figure(frame: pd.DataFrame, maintenance: pd.DataFrame, lang: str) -> go.Figure:
    """Hourly p50, p95 and max latency of one system, maintenance shaded."""
    figure = go.Figure()
    hours = pd.to_datetime(frame["hour"]) if len(frame) else []
    lines = (("p50_ms", "systems_latency_p50", OKABE_ITO["blue"], "solid"),
             ("p95_ms", "systems_latency_p95", OKABE_ITO["orange"], "dash"),
             ("max_ms", "systems_latency_max", OKABE_ITO["vermillion"], "dot"))
    for column, key, colour, dash in lines:
        figure.add_scatter(x=hours, y=frame[column], name=t(key, lang), mode="lines+markers" if len(frame) <= 48 else "lines",
                           line=dict(color=colour, dash=dash, width=2), hovertemplate="%{y:,.0f} ms",
                           connectgaps=False)
    _shade_maintenance(figure, maintenance)
    figure.update_layout(**_layout(lang, 320), hovermode="x unified",
                         xaxis=dict(tickformat="%H:%M\n%d/%m", hoverformat="%H:%M %d/%m/%Y"),
                         yaxis=dict(title=dict(text=t("systems_latency_axis", lang)), tickformat=",d", rangemode="tozero"))
    return figure


def incident_timeline_figure(incidents: pd.DataFrame, maintenance: pd.DataFrame, names: dict[str, str],
                             start: dt.datetime, end: dt.datetime, lang: str) -> go.Figure:
    """One lane per system: incident bars from start to end (or now), cause on hover, maintenance in grey."""
    figure = go.Figure()
    for is_open, colour in ((False, OKABE_ITO["orange"]), (True, OKABE_ITO["vermillion"])):
        part = incidents[incidents["open"] == is_open] if len(incidents) else incidents
        if len(part):
            figure.add_trace(_incident_bars(part, names, colour, is_open, end, lang))
    if len(maintenance):
        figure.add_trace(_maintenance_bars(maintenance, names, lang))
    figure.update_layout(**_layout(lang, 80 + 34 * max(1, _lanes(incidents, maintenance))), barmode="overlay",
                         xaxis=dict(type="date", range=[start, end], tickformat="%H:%M\n%d/%m"),
                         yaxis=dict(autorange="reversed", automargin=True), showlegend=True)
    return figure


def _incident_bars(frame: pd.DataFrame, names, colour: str, is_open: bool, end: dt.datetime, lang: str) -> go.Bar:
    started = pd.to_datetime(frame["started_at"])
    finished = pd.to_datetime(frame["ended_at"]).fillna(pd.Timestamp(end))
    hover = [f"{reason_text(r, lang)}<br>{format_datetime(_moment(s), lang)} – "
             f"{t('systems_incident_open', lang) if is_open else format_datetime(_moment(e), lang)}"
             f"<br>{format_duration(d, lang)}"
             for r, s, e, d in zip(frame["reason"], started, finished, frame["duration_s"])]
    name = t("systems_incident_open", lang) if is_open else t("systems_col_ended", lang)
    return go.Bar(y=[system_label(s, names.get(s), lang) for s in frame["system"]],
                  base=list(started), x=[(f - s).total_seconds() * 1000 for s, f in zip(started, finished)],
                  orientation="h", marker=dict(color=colour, pattern_shape="" if is_open else "/"),
                  name=name, hovertext=hover, hoverinfo="text+y",
                  text=[reason_text(r, lang) for r in frame["reason"]], textposition="inside", insidetextanchor="start")


def _maintenance_bars(frame: pd.DataFrame, names, lang: str) -> go.Bar:
    started, finished = pd.to_datetime(frame["start"]), pd.to_datetime(frame["end"])
    return go.Bar(y=[scope_text(s, names, lang) for s in frame["scope"]], base=list(started),
                  x=[(f - s).total_seconds() * 1000 for s, f in zip(started, finished)], orientation="h",
                  marker=dict(color=MAINTENANCE_GREY, pattern_shape="."), opacity=0.7,
                  name=t("systems_timeline_maintenance", lang),
                  hovertext=[note or t("systems_timeline_maintenance", lang) for note in frame["note"]],
                  hoverinfo="text+y")


def _lanes(incidents: pd.DataFrame, maintenance: pd.DataFrame) -> int:
    lanes = set(incidents["system"]) if len(incidents) else set()
    return len(lanes | (set(maintenance["scope"]) if len(maintenance) else set()))


def gauge_figure(frame: pd.DataFrame, names: dict[str, str], lang: str) -> go.Figure:
    """One line per system and gauge (e.g. concurrent users) over time."""
    figure = go.Figure()
    palette = list(OKABE_ITO.values())
    for index, ((system, gauge), part) in enumerate(frame.groupby(["system", "name"], sort=True)):
        label = system_label(system, names.get(system), lang)
        if gauge != "concurrent_users":
            label = f"{label} — {gauge}"
        figure.add_scatter(x=pd.to_datetime(part["at"]), y=part["value"], name=label, mode="lines",
                           line=dict(color=palette[index % len(palette)], width=2), hovertemplate="%{y:,.0f}")
    figure.update_layout(**_layout(lang, 300), hovermode="x unified",
                         xaxis=dict(tickformat="%H:%M\n%d/%m", hoverformat="%H:%M %d/%m/%Y"),
                         yaxis=dict(title=dict(text=t("systems_gauge_concurrent_users", lang)), tickformat=",d",
                                    rangemode="tozero"))
    return figure


def _shade_maintenance(figure: go.Figure, maintenance: pd.DataFrame) -> None:
    for row in maintenance.itertuples(index=False):
        figure.add_vrect(x0=row.start, x1=row.end, fillcolor=MAINTENANCE_GREY, opacity=0.25, line_width=0)


def _layout(lang: str, height: int) -> dict:
    return dict(separators=separators(lang), font=FONT, height=height, margin=dict(l=50, r=20, t=20, b=40),
                legend=dict(orientation="h", y=-0.25), paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")
