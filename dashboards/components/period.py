"""The period picker every room's toolbar shows: a date range (dd/mm/yyyy, Monday first) and preset buttons."""
from __future__ import annotations

import datetime as dt
from typing import Callable, Iterable

from dash import dcc, html

from dashboards.i18n import t


def period_picker(picker_id: str, preset_type: str, start: dt.date, end: dt.date, history_start: dt.date,
                  today: dt.date, lang: str, presets: Iterable[str], preset_label: Callable[[str], str],
                  active: str | None = None, class_name: str = "period") -> html.Div:
    """The labelled range picker (never before history starts nor after today) and one button per preset.

    Buttons have pattern ids {"type": preset_type, "preset": p}, so one callback per room serves them all.
    """
    buttons = [html.Button(preset_label(p), id={"type": preset_type, "preset": p}, n_clicks=0,
                           className="preset active" if p == active else "preset") for p in presets]
    return html.Div(className=class_name, children=[
        html.Label(t("period", lang), htmlFor=picker_id),
        dcc.DatePickerRange(id=picker_id, start_date=start, end_date=end, display_format="DD/MM/YYYY",
                            min_date_allowed=min(history_start, today), max_date_allowed=today,
                            first_day_of_week=1, start_date_placeholder_text=t("period_start", lang),
                            end_date_placeholder_text=t("period_end", lang), updatemode="bothdates"),
        html.Div(buttons, className="presets"),
    ])
