"""Number and date formats for the interface: Vietnamese by default, English on request.

Vietnamese groups thousands with "." and writes decimals with ","; English the other way round.
A missing value (None or NaN) is never shown as zero: it is the NO_DATA dash.
"""
from __future__ import annotations

import datetime as dt
import math

NO_DATA = "—"
LANGUAGES = ("vi", "en")
_SEPARATORS = {"vi": (".", ","), "en": (",", ".")}  # (thousands, decimal)
_NO_DATA_TITLE = {"vi": "không có dữ liệu", "en": "no data"}


def is_missing(value) -> bool:
    """Say whether a value means "no data" (None, NaN, pandas NA)."""
    if value is None:
        return True
    try:
        return bool(value != value) or (isinstance(value, float) and math.isnan(value))
    except (TypeError, ValueError):  # pandas.NA refuses bool()
        return True


def no_data_title(lang: str = "vi") -> str:
    """The tooltip that explains the NO_DATA dash."""
    return _NO_DATA_TITLE[_check_lang(lang)]


def format_count(value, lang: str = "vi") -> str:
    """Format a whole count: 156063 -> "156.063" (vi) or "156,063" (en)."""
    if is_missing(value):
        return NO_DATA
    return _group(f"{round(float(value)):,d}", lang)


def format_number(value, lang: str = "vi", digits: int = 1) -> str:
    """Format a decimal number with a fixed number of digits."""
    if is_missing(value):
        return NO_DATA
    return _group(f"{float(value):,.{digits}f}", lang)


def format_percent(value, lang: str = "vi", digits: int = 2) -> str:
    """Format a ratio 0..1 as a percentage: 0.98765 -> "98,77%" (vi) or "98.77%" (en)."""
    if is_missing(value):
        return NO_DATA
    return _group(f"{float(value) * 100:,.{digits}f}", lang) + "%"


def format_points(value, lang: str = "vi", digits: int = 2) -> str:
    """Format a change of a ratio in percentage points: 0.0123 -> "+1,23 điểm %"."""
    if is_missing(value):
        return NO_DATA
    suffix = " điểm %" if _check_lang(lang) == "vi" else " pp"
    return _group(f"{float(value) * 100:+,.{digits}f}", lang) + suffix


def format_change(value, lang: str = "vi") -> str:
    """Format a relative change of a count: 0.125 -> "+12,5%"."""
    if is_missing(value):
        return NO_DATA
    return _group(f"{float(value) * 100:+,.1f}", lang) + "%"


def format_value(value, unit: str, lang: str = "vi") -> str:
    """Format a KPI value by its unit ('count' or 'percent')."""
    if unit == "count":
        return format_count(value, lang)
    if unit == "percent":
        return format_percent(value, lang)
    raise ValueError(f"Unknown KPI unit {unit!r}; expected 'count' or 'percent'")


def format_date(value, lang: str = "vi") -> str:
    """Format a date as dd/mm/yyyy (both languages: the province's convention)."""
    if is_missing(value):
        return NO_DATA
    _check_lang(lang)
    return _as_date(value).strftime("%d/%m/%Y")


def format_datetime(value, lang: str = "vi") -> str:
    """Format a moment as "HH:MM dd/mm/yyyy"."""
    if is_missing(value):
        return NO_DATA
    _check_lang(lang)
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.strftime("%H:%M %d/%m/%Y")


def parse_date(value, default: dt.date | None = None) -> dt.date | None:
    """Read a date from a picker value ('YYYY-MM-DD', possibly with a time part)."""
    if value in (None, ""):
        return default
    return _as_date(value)


def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "date") and callable(value.date):  # pandas Timestamp
        return value.date()
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ValueError(f"Cannot read {value!r} as a date; write it as YYYY-MM-DD") from None


def _group(text: str, lang: str) -> str:
    """Swap Python's "," thousands and "." decimal marks for the language's own."""
    thousands, decimal = _SEPARATORS[_check_lang(lang)]
    return text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)


def _check_lang(lang: str) -> str:
    if lang not in _SEPARATORS:
        raise ValueError(f"Unknown language {lang!r}; use one of {', '.join(LANGUAGES)}")
    return lang


__all__ = [
    "NO_DATA", "is_missing", "no_data_title", "format_count", "format_number", "format_percent", "format_points",
    "format_change", "format_value", "format_date", "format_datetime", "parse_date",
]
