"""The overview's view state and its URL: period (preset or from/to), procedure field, map KPI, language.

Everything a leader sees is in the query string, so a copied link reproduces the view:
`?preset=month&field=ho_tich&kpi=online_share&lang=en`, or `?from=2025-08-01&to=2025-08-15`.
A preset is relative to today (a link to "this month" stays this month); from/to are fixed dates.
Pure: today is passed in.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from config.fields import FIELDS_BY_CODE
from dashboards.i18n import normalise_lang

REFORM_DAY = dt.date(2025, 7, 1)  # two-level local government starts
# Buttons shown, in order; "30d" and "all" are still understood in links made before.
PRESETS = ("today", "7d", "month", "last_month", "quarter", "year", "reform")
LEGACY_PRESETS = ("30d", "all")
ALL_FIELDS = "all"
STATE_KEYS = ("preset", "from", "to", "field", "kpi")  # query keys the overview owns; others are kept


@dataclass(frozen=True)
class ViewState:
    """What the overview shows; `preset` is None for a custom range."""

    start: dt.date
    end: dt.date
    preset: str | None
    field: str | None        # procedure field code, None = all fields
    kpi: str
    lang: str = "vi"

    @property
    def fields(self) -> tuple[str, ...] | None:
        """The field filter as the readers take it (None = every field)."""
        return (self.field,) if self.field else None


def preset_period(preset: str, history_start: dt.date, today: dt.date) -> tuple[dt.date, dt.date]:
    """Return the dates of a preset, never before history starts nor after today."""
    starts = _preset_starts(history_start, today)
    if preset not in starts:
        raise ValueError(f"Unknown period preset {preset!r}; expected one of {', '.join(PRESETS + LEGACY_PRESETS)}")
    start, end = starts[preset]
    floor = min(history_start, today)
    return max(start, floor), max(min(end, today), floor)


def _preset_starts(history_start: dt.date, today: dt.date) -> dict[str, tuple[dt.date, dt.date]]:
    month_start = today.replace(day=1)
    last_month_end = month_start - dt.timedelta(days=1)
    quarter_start = today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1)
    return {"today": (today, today), "7d": (today - dt.timedelta(days=6), today),
            "30d": (today - dt.timedelta(days=29), today), "month": (month_start, today),
            "last_month": (last_month_end.replace(day=1), last_month_end), "quarter": (quarter_start, today),
            "year": (today.replace(month=1, day=1), today), "reform": (REFORM_DAY, today),
            "all": (history_start, today)}


def default_period(history_start: dt.date, today: dt.date) -> tuple[dt.date, dt.date]:
    """Return the period shown without any query: from the start of history to today."""
    return min(history_start, today), today


def parse_state(query: dict, *, history_start: dt.date, today: dt.date, kpi_keys, default_kpi: str) -> ViewState:
    """Read the view state from URL query parameters; anything unreadable falls back to the default."""
    lang = normalise_lang(query.get("lang"))
    preset = _last(query.get("preset"))
    start, end = default_period(history_start, today)
    if preset in PRESETS + LEGACY_PRESETS:
        start, end = preset_period(preset, history_start, today)
    else:
        preset = None
        start, end = _date(query.get("from"), start), _date(query.get("to"), end)
        start, end = (end, start) if start > end else (start, end)
    field = _last(query.get("field"))
    kpi = _last(query.get("kpi"))
    return ViewState(start=start, end=end, preset=preset, field=field if field in FIELDS_BY_CODE else None,
                     kpi=kpi if kpi in kpi_keys else default_kpi, lang=lang)


def state_search(current_search: str | None, *, preset: str | None = None, start: dt.date | None = None,
                 end: dt.date | None = None, field: str | None = None, kpi: str | None = None,
                 default_kpi: str | None = None) -> str:
    """Build the query string for a state, keeping parameters the overview does not own (lang, kiosk)."""
    kept = [(k, v) for k, v in parse_qsl((current_search or "").lstrip("?")) if k not in STATE_KEYS]
    pairs: list[tuple[str, str]] = []
    if preset:
        pairs.append(("preset", preset))
    elif start and end:
        pairs += [("from", start.isoformat()), ("to", end.isoformat())]
    if field and field != ALL_FIELDS:
        pairs.append(("field", field))
    if kpi and kpi != default_kpi:
        pairs.append(("kpi", kpi))
    query = urlencode(pairs + kept)
    return f"?{query}" if query else ""


def _last(value):
    # ?a=1&a=2 arrives as a list: the last one wins, as in a browser form.
    if isinstance(value, (list, tuple)):
        return value[-1] if value else None
    return value


def _date(value, default: dt.date) -> dt.date:
    value = _last(value)
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else default
    except ValueError:
        return default
