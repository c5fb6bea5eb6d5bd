"""Overview widgets on top of the shared charts: stale units on the map, incidents on the trend, alerts.

Pure builders: frames in, figures and components out. Stale units are drawn dark grey with an ×
at their centre and "dữ liệu cũ" on hover, never with a value (DESIGN: stale is flagged, never zero).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import dash
import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html

from dashboards.components.charts import OKABE_ITO, choropleth_figure
from dashboards.format import format_count, format_datetime, format_number, format_percent, format_value, is_missing
from dashboards.i18n import t, with_lang

STALE_GREY = "#7a7a7a"
INCIDENT_FILL = "rgba(213, 94, 0, 0.16)"   # Okabe-Ito vermillion, light
MARKER_Y = 1.03                             # incident markers sit just above the 100% line of the rate axis


@dataclass(frozen=True)
class IndexKpi:
    """The service index as a map/ranking indicator: a 0-100 score, higher is better."""

    key: str
    label_vi: str
    label_en: str
    unit: str = "points"
    higher_is_better: bool = True


def format_indicator(value, kpi, lang: str) -> str:
    """Format a KPI value, including the service index's points (one decimal)."""
    if kpi.unit == "points":
        return format_number(value, lang, 1)
    return format_value(value, kpi.unit, lang)


def map_figure(frame: pd.DataFrame, stale: pd.DataFrame, kpi, geojson_url: str, lang: str) -> go.Figure:
    """Choropleth of communes by a KPI; stale units drawn apart (dark grey, ×, "dữ liệu cũ")."""
    is_stale = frame["unit_code"].isin(stale["unit_code"])
    fresh, old = frame[~is_stale], frame[is_stale].merge(stale, on="unit_code", how="left")
    shown = kpi if kpi.unit != "points" else _as_count(kpi)
    figure = choropleth_figure(fresh, shown, geojson_url, lang)
    if kpi.unit == "points":
        for trace in figure.data:
            if trace.showscale is not False and trace.z is not None:
                trace.text = [format_indicator(v, kpi, lang) for v in trace.z]
                trace.colorbar.tickformat = ",.0f"
    if len(old):
        figure.add_trace(_stale_areas(old, geojson_url, lang))
        figure.add_trace(_stale_marks(old, lang))
    return figure


def _as_count(kpi):
    return IndexKpi(kpi.key, kpi.label_vi, kpi.label_en, unit="count", higher_is_better=kpi.higher_is_better)


def _stale_hover(old: pd.DataFrame, lang: str) -> list[str]:
    return [t("overview_stale_hover", lang, time=t("overview_alert_never", lang) if is_missing(last)
              else format_datetime(last.to_pydatetime(), lang)) for last in old["last_success_at"]]


def _stale_areas(old: pd.DataFrame, geojson_url: str, lang: str) -> go.Choropleth:
    return go.Choropleth(
        geojson=geojson_url, featureidkey="id", locations=list(old["unit_code"]), z=[0] * len(old),
        text=_stale_hover(old, lang), customdata=list(old["name"]), colorscale=[[0, STALE_GREY], [1, STALE_GREY]],
        showscale=False, marker_line_color="white", marker_line_width=0.6, name=t("overview_stale_legend", lang),
        hovertemplate="<b>%{customdata}</b><br>%{text}<extra></extra>")


def _stale_marks(old: pd.DataFrame, lang: str) -> go.Scattergeo:
    # Choropleths cannot be hatched; an × at the centre keeps stale apart from "no data" without colour.
    return go.Scattergeo(
        lat=list(old["lat"]), lon=list(old["lon"]), mode="markers", name=t("overview_stale_legend", lang),
        marker=dict(symbol="x-thin-open", size=9, color="white", line=dict(width=2, color="white")),
        text=_stale_hover(old, lang), customdata=list(old["name"]), showlegend=False,
        hovertemplate="<b>%{customdata}</b><br>%{text}<extra></extra>")


def add_incidents(figure: go.Figure, incidents: pd.DataFrame, now: dt.datetime, lang: str) -> go.Figure:
    """Shade each incident's span on a daily trend and mark its start, so drops can be read against outages."""
    if incidents.empty:
        return figure
    ends = incidents["ended_at"].fillna(pd.Timestamp(now))
    for start, end in zip(incidents["started_at"], ends):
        figure.add_vrect(x0=start, x1=end, fillcolor=INCIDENT_FILL, line_width=0, layer="below")
    hover = [t("overview_incident_hover", lang, system=name or system, start=format_datetime(s.to_pydatetime(), lang),
               end=t("overview_incident_open", lang) if is_missing(e) else format_datetime(e.to_pydatetime(), lang))
             for name, system, s, e in zip(incidents["name"], incidents["system"], incidents["started_at"],
                                           incidents["ended_at"])]
    figure.add_scatter(x=list(incidents["started_at"]), y=[MARKER_Y] * len(incidents), yaxis="y2", mode="markers",
                       name=t("overview_incident", lang), text=hover, hovertemplate="%{text}<extra></extra>",
                       marker=dict(symbol="triangle-down", size=11, color=OKABE_ITO["vermillion"]))
    return figure


def ranking_table(frame: pd.DataFrame, kpi, lang: str, table_id: str, empty_text: str = ""):
    """Rank, unit name and value; names link to the commune's page."""
    if frame.empty:
        return html.P(empty_text, className="muted", id=table_id)
    header = html.Thead(html.Tr([html.Th(t("rank", lang)), html.Th(t("unit", lang)),
                                 html.Th(t("value", lang), className="num")]))
    rows = [html.Tr([html.Td(str(row["rank"])), html.Td(_commune_link(row["unit_code"], row["name"], lang)),
                     html.Td(format_indicator(row[kpi.key], kpi, lang), className="num")],
                    **{"data-unit": row["unit_code"]}) for _, row in frame.iterrows()]
    return html.Table([header, html.Tbody(rows)], className="ranking", id=table_id)


def _commune_link(code: str, name: str, lang: str) -> dcc.Link:
    return dcc.Link(name, href=with_lang(dash.get_relative_path(f"/commune/{code}"), lang),
                    className="commune-link")


def alerts_panel(alerts, settings, as_of: dt.date, kpi_label: str, lang: str) -> list:
    """The alert groups as lists of links (communes to /commune/<code>, systems to /systems#<code>)."""
    config = settings.alerts
    groups = [
        ("overdue", t("overview_alert_overdue", lang), _unit_items(alerts.overdue, config.max_items, lang,
                                                                    lambda r: _dossiers(r["count"], lang))),
        ("nearly_due", t("overview_alert_nearly_due", lang, hours=config.nearly_due_hours),
         _unit_items(alerts.nearly_due, config.max_items, lang, lambda r: _dossiers(r["count"], lang))),
        ("behind", t("overview_alert_behind", lang, kpi=kpi_label, threshold=format_percent(config.threshold, lang, 0),
                     days=config.consecutive_days),
         _unit_items(alerts.behind, config.max_items, lang, lambda r: t(
             "overview_alert_streak", lang, days=r["streak_days"], value=format_percent(r["latest"], lang)))),
        ("stale", t("overview_alert_stale", lang, hours=format_number(settings.stale_after_s / 3600, lang, 0)),
         _unit_items(alerts.stale, config.max_items, lang, lambda r: _last_success(r["last_success_at"], lang))),
        ("systems", t("overview_alert_systems", lang), _system_items(alerts.systems, lang)),
    ]
    children = [html.P(t("overview_alerts_as_of", lang, date=as_of.strftime("%d/%m/%Y")), className="muted")]
    shown = [(key, title, items) for key, title, items in groups if items]
    if not shown:
        children.append(html.P(t("overview_alerts_none", lang), className="alerts-none", id="overview-alerts-none"))
    for key, title, items in shown:
        total = _group_total(alerts, key)
        children.append(html.Div(className=f"alert-group alert-{key}", id=f"overview-alerts-{key}", children=[
            html.H4([title, html.Span(format_count(total, lang), className="alert-badge")]),
            html.Ul(items)]))
    return children


def _group_total(alerts, key: str) -> int:
    return len({"overdue": alerts.overdue, "nearly_due": alerts.nearly_due, "behind": alerts.behind,
                "stale": alerts.stale, "systems": alerts.systems}[key])


def _unit_items(frame: pd.DataFrame, limit: int, lang: str, detail) -> list:
    items = [html.Li([_commune_link(row["unit_code"], row["name"], lang), html.Span(detail(row), className="muted")])
             for row in frame.head(limit).to_dict("records")]  # (records: iterrows builds a Series per row)
    if len(frame) > limit:
        items.append(html.Li(t("overview_alert_more", lang, count=len(frame) - limit), className="muted"))
    return items


def _system_items(frame: pd.DataFrame, lang: str) -> list:
    items = []
    for _, row in frame.iterrows():
        href = with_lang(dash.get_relative_path("/systems"), lang) + f"#{row['system']}"
        since = "" if is_missing(row.get("since")) else t("overview_alert_since", lang,
                                                            time=format_datetime(pd.Timestamp(row["since"]).to_pydatetime(), lang))
        items.append(html.Li(className=f"state-{row['state']}", children=[
            html.A(row.get("name") or row["system"], href=href, className="system-link"),
            html.Span(f"{t('overview_state_' + row['state'], lang)} {since}".strip(), className="muted")]))
    return items


def _dossiers(count, lang: str) -> str:
    return t("overview_alert_count", lang, count=format_count(count, lang))


def _last_success(last, lang: str) -> str:
    if is_missing(last):
        return t("overview_alert_never", lang)
    return t("overview_alert_since", lang, time=format_datetime(pd.Timestamp(last).to_pydatetime(), lang))

