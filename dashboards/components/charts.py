"""Figure builders (pure: frames in, plotly figures out). Colour-blind-safe palettes only.

The choropleth never embeds geometry: it names the GeoJSON URL the app serves, which plotly.js
fetches once and caches, so value updates stay small.
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboards.format import format_value
from dashboards.i18n import t

# Okabe-Ito: distinguishable with every common colour-vision deficiency.
OKABE_ITO = {"blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "vermillion": "#D55E00",
             "sky": "#56B4E9", "purple": "#CC79A7", "yellow": "#F0E442", "black": "#000000"}
MAP_COLORSCALE = "Cividis"
NO_DATA_GREY = "#c9c9c9"
DAY_MS = 24 * 3600 * 1000
DAILY_TICKS_UP_TO = 31
FONT = dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', sans-serif", size=13)


def separators(lang: str) -> str:
    """Plotly's decimal and thousands marks for the language."""
    return ",." if lang == "vi" else ".,"


def choropleth_figure(frame: pd.DataFrame, kpi, geojson_url: str, lang: str) -> go.Figure:
    """Colour units by a KPI; units without data are grey and say "no data" on hover.

    `frame` has unit_code, name and the KPI's column (NaN = no data).
    """
    values = frame[kpi.key]
    with_data, without = frame[values.notna()], frame[values.isna()]
    figure = go.Figure()
    if len(without):
        figure.add_trace(_no_data_trace(without, geojson_url, lang))
    if len(with_data):
        figure.add_trace(_value_trace(with_data, kpi, geojson_url, lang))
    figure.update_geos(fitbounds="locations", visible=False, projection_type="mercator")
    figure.update_layout(margin=dict(l=0, r=0, t=0, b=0), height=520, separators=separators(lang), font=FONT,
                         uirevision=kpi.key, paper_bgcolor="rgba(0,0,0,0)", geo_bgcolor="rgba(0,0,0,0)")
    return figure


def _value_trace(frame: pd.DataFrame, kpi, geojson_url: str, lang: str) -> go.Choropleth:
    text = [format_value(v, kpi.unit, lang) for v in frame[kpi.key]]
    colorbar = dict(thickness=12, len=0.8, tickformat=".1%" if kpi.unit == "percent" else ",d")
    return go.Choropleth(
        geojson=geojson_url, featureidkey="id", locations=list(frame["unit_code"]), z=list(frame[kpi.key]),
        text=text, customdata=list(frame["name"]), colorscale=MAP_COLORSCALE,
        # Brighter always means better, whichever direction the KPI runs.
        reversescale=not kpi.higher_is_better, colorbar=colorbar, marker_line_color="white", marker_line_width=0.6,
        hovertemplate="<b>%{customdata}</b><br>" + kpi_label(kpi, lang) + ": %{text}<extra></extra>",
        name=kpi_label(kpi, lang))


def _no_data_trace(frame: pd.DataFrame, geojson_url: str, lang: str) -> go.Choropleth:
    return go.Choropleth(
        geojson=geojson_url, featureidkey="id", locations=list(frame["unit_code"]), z=[0] * len(frame),
        customdata=list(frame["name"]), colorscale=[[0, NO_DATA_GREY], [1, NO_DATA_GREY]], showscale=False,
        marker_line_color="white", marker_line_width=0.6, name=t("no_data", lang),
        hovertemplate="<b>%{customdata}</b><br>" + t("no_data", lang) + "<extra></extra>")


def trend_figure(frame: pd.DataFrame, lang: str) -> go.Figure:
    """Stacked daily received bars (online, direct/postal) with the day's Biểu 06 on-time rate as a line."""
    figure = go.Figure()
    days = pd.to_datetime(frame["day"]) if len(frame) else []
    figure.add_bar(x=days, y=frame["received_online"], name=t("received_online", lang),
                   marker_color=OKABE_ITO["blue"], hovertemplate="%{y:,d}")
    figure.add_bar(x=days, y=frame["received_direct"], name=t("received_direct", lang),
                   marker_color=OKABE_ITO["orange"], hovertemplate="%{y:,d}")
    figure.add_scatter(x=days, y=frame["on_time_bieu06"], name=t("on_time_line", lang), yaxis="y2",
                       mode="lines+markers" if len(frame) <= DAILY_TICKS_UP_TO else "lines", line=dict(color=OKABE_ITO["vermillion"], width=2), hovertemplate="%{y:.2%}",
                       connectgaps=False)
    figure.update_layout(
        barmode="stack", separators=separators(lang), font=FONT, height=340, hovermode="x unified",
        margin=dict(l=50, r=50, t=36, b=40), legend=dict(orientation="h", y=-0.18),
        # One tick per day for short periods, else plotly's own spacing (never several ticks per day).
        xaxis=dict(tickformat="%d/%m", hoverformat="%d/%m/%Y",
                   dtick=DAY_MS if len(frame) <= DAILY_TICKS_UP_TO else None),
        yaxis=dict(title=dict(text=t("dossiers", lang)), tickformat=",d", rangemode="tozero"),
        yaxis2=dict(overlaying="y", side="right", tickformat=".0%", showgrid=False, range=[0, 1.05],
                    tickvals=[0, 0.25, 0.5, 0.75, 1]),
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")
    return figure


def kpi_label(kpi, lang: str) -> str:
    """The KPI's label in the language."""
    return getattr(kpi, f"label_{lang}")
