"""Comparison with the previous period: its dates and the relative change (NaN-safe)."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """Return the period of equal length that ends the day before `start`."""
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise TypeError(f"Period {name} must be a datetime.date, got {type(value).__name__}: {value!r}")
    if start > end:
        raise ValueError(f"Period start {start} is after its end {end}; pass start <= end")
    length = end - start
    previous_end = start - dt.timedelta(days=1)
    return previous_end - length, previous_end


def relative_change(current, previous):
    """Return (current - previous) / previous; NaN when either is missing or previous is zero.

    Takes scalars or Series (Series align on their index, as units do).
    """
    current, previous = _floats(current), _floats(previous)
    if isinstance(previous, pd.Series):
        base = previous.where(previous != 0)
    else:
        base = np.nan if previous == 0 else previous
    result = (current - base) / base
    return result.astype("float64") if isinstance(result, pd.Series) else float(result)


def _floats(value):
    if isinstance(value, pd.Series):
        return pd.to_numeric(value).astype("float64")
    return np.nan if value is None or pd.isna(value) else float(value)
