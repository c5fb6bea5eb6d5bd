"""Small ranking tables (best / worst units by a KPI)."""
from __future__ import annotations

import pandas as pd
from dash import html

from dashboards.format import format_value
from dashboards.i18n import t


def ranking_table(frame: pd.DataFrame, kpi, lang: str, table_id: str, empty_text: str = "") -> html.Table | html.P:
    """Render rank, unit name and formatted value; `empty_text` when the frame is empty."""
    if frame.empty:
        return html.P(empty_text, className="muted", id=table_id)
    header = html.Thead(html.Tr([html.Th(t("rank", lang)), html.Th(t("unit", lang)),
                                 html.Th(t("value", lang), className="num")]))
    rows = [html.Tr([html.Td(str(row["rank"])), html.Td(row["name"]),
                     html.Td(format_value(row[kpi.key], kpi.unit, lang), className="num")],
                    **{"data-unit": row["unit_code"]})
            for _, row in frame.iterrows()]
    return html.Table([header, html.Tbody(rows)], className="ranking", id=table_id)
