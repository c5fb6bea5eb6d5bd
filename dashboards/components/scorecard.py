"""Service-index widgets shared by the rankings and commune rooms: period toolbar, grades, rank change."""
from __future__ import annotations

import datetime as dt
import unicodedata

import pandas as pd

from dash import ctx as dash_ctx, html
from dash.exceptions import PreventUpdate

from config.service_index import COMPONENT_GROUPS, GROUPS, ServiceIndexConfig
from dashboards import context
from dashboards.format import NO_DATA, format_date, format_number, is_missing, parse_date
from dashboards.components.period import period_picker
from dashboards.i18n import normalise_lang, t, with_lang
from kpis.service_index import COMPONENTS, not_computable_groups

PRESETS = ("month", "30d", "7d", "all")
TYPES = ("all", "xa", "phuong", "dac_khu")
SCORED_GROUPS = tuple(g for g in GROUPS if g in COMPONENT_GROUPS.values())
# Sortable rankings columns -> (frame column, ascending on the first click?)
SORT_KEYS = {"rank": ("rank", True), "change": ("rank_change", False), "name": ("name", True),
             "type": ("type", True), "score": ("score", False), "points": ("points", False),
             **{f"group_{g}": (f"group_{g}", False) for g in SCORED_GROUPS}}
DEFAULT_SORT = {"column": "rank", "ascending": True}


def apply_preset(clicks) -> tuple[str, str]:
    """ISO dates of the preset button just clicked (the rooms' period callbacks); no update if none was."""
    if not dash_ctx.triggered_id or not any(clicks):
        raise PreventUpdate
    app = context.current()
    start, end = preset_period(dash_ctx.triggered_id["preset"], app.settings.history_start, app.today())
    return start.isoformat(), end.isoformat()


def preset_period(preset: str, history_start: dt.date, today: dt.date) -> tuple[dt.date, dt.date]:
    """Return the dates of a preset ('month', '30d', '7d', 'all'), never before history starts."""
    starts = {"7d": today - dt.timedelta(days=6), "30d": today - dt.timedelta(days=29),
              "month": today.replace(day=1), "all": history_start}
    if preset not in starts:
        raise ValueError(f"Unknown period preset {preset!r}; expected one of {', '.join(PRESETS)}")
    return max(starts[preset], min(history_start, today)), today


def read_period(start_date, end_date, history_start: dt.date, today: dt.date) -> tuple[dt.date, dt.date]:
    """Read the picker's dates (default: this month), swapped if given backwards."""
    default_start, default_end = preset_period("month", history_start, today)
    start, end = parse_date(start_date, default_start), parse_date(end_date, default_end)
    return (end, start) if start > end else (start, end)


def period_toolbar(prefix: str, title, lang: str, history_start: dt.date, today: dt.date) -> html.Div:
    """The room title, a date-range picker (this month first) and preset buttons."""
    start, end = preset_period("month", history_start, today)
    return html.Div(className="toolbar", children=[
        html.H2(title, id=f"{prefix}-title"),
        period_picker(f"{prefix}-period", f"{prefix}-preset", start, end, history_start, today, lang, PRESETS,
                      lambda preset: t(f"preset_{preset}", lang), class_name="period no-print"),
        html.Div(className="freshness", children=[html.Span(id=f"{prefix}-period-shown")]),
    ])


def grade_label(config: ServiceIndexConfig, grade_code, lang: str) -> str:
    """The grade's label in the language; the no-data dash for no grade."""
    for band in config.grade_bands:
        if band.code == grade_code:
            return band.label_vi if normalise_lang(lang) == "vi" else band.label_en
    return NO_DATA


def rank_text(rank) -> str:
    """A rank as text; the no-data dash for units without a score."""
    return NO_DATA if is_missing(rank) else str(int(rank))


def change_cell(change, previous_rank, rank, lang: str) -> html.Span:
    """Rank change against the previous period: arrow plus words, never colour alone."""
    if is_missing(rank):
        return html.Span(NO_DATA, className="rank-change")
    if is_missing(previous_rank):
        return html.Span(t("rankings_change_new", lang), className="rank-change")
    change = int(change)
    if change > 0:
        return html.Span(f"▲ {change}", title=t("rankings_change_up", lang, n=change),
                         className="rank-change kpi-change-good")
    if change < 0:
        return html.Span(f"▼ {-change}", title=t("rankings_change_down", lang, n=-change),
                         className="rank-change kpi-change-bad")
    return html.Span("=", title=t("rankings_change_same", lang), className="rank-change")


def points_text(points, max_points, lang: str) -> str:
    """'39,2 / 48' (points earned of the points available); the dash without data."""
    if is_missing(points):
        return NO_DATA
    return f"{format_number(points, lang)} / {format_number(max_points, lang, digits=0)}"


def group_name(group: str, lang: str) -> str:
    """A 766 group's name in the language, with its code."""
    name_vi, name_en, _ = GROUPS[group]
    return f"{group} — {name_vi if normalise_lang(lang) == 'vi' else name_en}"


def not_computable_note(lang: str, element_id: str) -> html.P:
    """Name the 766 groups no collected data can score ("no data", not zero)."""
    groups = "; ".join(group_name(g, lang) for g in not_computable_groups())
    return html.P(t("rankings_not_computable", lang, groups=groups), className="muted", id=element_id)


def fold(text: str) -> str:
    """Lower-case and strip Vietnamese diacritics so 'dong xoai' finds 'Đồng Xoài'."""
    text = str(text).replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().strip()


def period_shown(start: dt.date, end: dt.date, previous: tuple[dt.date, dt.date], lang: str) -> str:
    """Say which period is ranked and which one it is compared with."""
    return t("rankings_period_shown", lang, start=format_date(start, lang), end=format_date(end, lang),
             pstart=format_date(previous[0], lang), pend=format_date(previous[1], lang))


def next_sort(current: dict, column: str) -> dict:
    """Return the sort state after clicking `column`'s heading."""
    if column not in SORT_KEYS:
        raise ValueError(f"Unknown sort column {column!r}; expected one of {', '.join(SORT_KEYS)}")
    if current.get("column") == column:
        return {"column": column, "ascending": not current.get("ascending", True)}
    return {"column": column, "ascending": SORT_KEYS[column][1]}


def with_group_points(frame: pd.DataFrame) -> pd.DataFrame:
    """Add group_<CODE> = the points of a 766 group's supported components (NaN = no data)."""
    frame = frame.copy()
    for group in SCORED_GROUPS:
        columns = [f"pts_{c}" for c in COMPONENTS if COMPONENT_GROUPS[c] == group]
        frame[f"group_{group}"] = frame[columns].sum(axis=1, min_count=1)
    return frame


def filter_frame(frame: pd.DataFrame, search: str | None, unit_type: str | None) -> pd.DataFrame:
    """Keep units of the chosen type whose name or code contains the search text (accents ignored)."""
    if unit_type and unit_type != "all":
        if unit_type not in TYPES:
            raise ValueError(f"Unknown unit type {unit_type!r}; expected one of {', '.join(TYPES)}")
        frame = frame[frame["type"] == unit_type]
    needle = fold(search or "")
    if needle:
        names = frame["name"].map(fold) + " " + frame["unit_code"].astype(str)
        frame = frame[names.str.contains(needle, regex=False)]
    return frame


def sort_frame(frame: pd.DataFrame, sort: dict) -> pd.DataFrame:
    """Sort by the chosen column; units without a value always last, ties by code."""
    column, _ = SORT_KEYS.get(sort.get("column"), SORT_KEYS["rank"])
    ascending = bool(sort.get("ascending", True))
    key = (lambda s: s.map(fold)) if column in ("name", "type") else None
    ordered = frame.sort_values("unit_code", kind="mergesort")
    return ordered.sort_values(column, ascending=ascending, na_position="last", kind="mergesort", key=key)


def commune_href_from_click(click: dict | None, lang: str | None) -> str | None:
    """The /commune/<code> link for a plotly clickData on a choropleth; None when nothing was hit."""
    points = (click or {}).get("points") or []
    code = points[0].get("location") if points else None
    return with_lang(f"/commune/{code}", normalise_lang(lang)) if code else None
