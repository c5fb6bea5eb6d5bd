"""Ratios over period totals (KPI.md §3). No data is NaN, never 0%.

Every function takes either a DataFrame of period totals (one row per unit or field; returns a
Series aligned with it: float for rates, the input's dtype for counts) or one row as a
Series/Mapping (returns a float). A missing row
(None, or a row of NaN after reindexing to all units) gives NaN, as does a zero denominator.
"""
from __future__ import annotations

from typing import Mapping, Union

import numpy as np
import pandas as pd

Totals = Union[pd.DataFrame, pd.Series, Mapping, None]


def received(totals: Totals):
    """Count dossiers received in the period (online + direct/postal)."""
    return _apply(totals, lambda t: t["received_online"] + t["received_direct"], as_float=False)


def resolved(totals: Totals):
    """Count dossiers resolved in the period (early + on time + late)."""
    return _apply(totals, lambda t: t["resolved_early"] + t["resolved_on_time"] + t["resolved_late"], as_float=False)


def pending(totals: Totals):
    """Count dossiers open at the end of the period (within deadline + overdue)."""
    return _apply(totals, lambda t: t["pending_on_time"] + t["pending_overdue"], as_float=False)


def overdue_pending(totals: Totals):
    """Count dossiers open and overdue at the end of the period."""
    return _apply(totals, lambda t: t["pending_overdue"], as_float=False)


def on_time_rate_bieu06(totals: Totals):
    """Return (trước hạn + đúng hạn) / đã giải quyết: the Biểu 06 on-time rate."""
    return _apply(totals, lambda t: _ratio(t["resolved_early"] + t["resolved_on_time"], resolved(t)))


def on_time_rate_766(totals: Totals):
    """Return (resolved on or before deadline + pending within deadline) / (resolved + pending): the 766 rate."""
    return _apply(totals, lambda t: _ratio(t["resolved_early"] + t["resolved_on_time"] + t["pending_on_time"],
                                           resolved(t) + pending(t)))


def online_share(totals: Totals):
    """Return received online / received in the period."""
    return _apply(totals, lambda t: _ratio(t["received_online"], received(t)))


def late_rate(totals: Totals):
    """Return (late resolved + overdue pending) / (received + carried over), as the Gia Lai portal does."""
    return _apply(totals, lambda t: _ratio(t["resolved_late"] + t["pending_overdue"],
                                           received(t) + t["carried_over"]))


def with_indicators(totals: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of period totals with derived counts and rates added as columns."""
    frame = totals.copy()
    for name, function in _DERIVED.items():
        frame[name] = function(totals)
    return frame


def indicators_of(row: Mapping) -> dict[str, float]:
    """The derived counts and rates of with_indicators for one row of totals (a mapping), as floats:
    for one summed row, plain floats cost a fraction of a one-row DataFrame."""
    return {name: function(row) for name, function in _DERIVED.items()}


def _apply(totals: Totals, formula, as_float: bool = True):
    """Evaluate a formula on a frame (-> Series) or one row (-> float)."""
    if totals is None:
        return np.nan
    if isinstance(totals, pd.DataFrame):
        _check_columns(totals.columns)
        result = formula(totals)
        # Counts keep their integer dtype when complete; rates are always float.
        return result.astype("float64") if as_float else result
    _check_columns(list(totals.keys()))
    row = {name: _number(totals[name]) for name in _REQUIRED}
    return float(formula(row))


def _ratio(numerator, denominator):
    if isinstance(denominator, pd.Series):
        numerator = numerator.astype("float64")
        denominator = denominator.astype("float64")
        return (numerator / denominator.where(denominator > 0)).astype("float64")
    if pd.isna(denominator) or denominator <= 0:
        return np.nan
    return numerator / denominator


def _number(value) -> float:
    return np.nan if value is None or pd.isna(value) else float(value)


def _check_columns(columns) -> None:
    missing = [name for name in _REQUIRED if name not in columns]
    if missing:
        raise ValueError(f"Period totals lack columns {missing}; expected the columns of config.facts.PERIOD_COLUMNS")


_REQUIRED = ("carried_over", "received_online", "received_direct", "resolved_early", "resolved_on_time",
             "resolved_late", "pending_on_time", "pending_overdue")
_DERIVED = {
    "received": received,
    "resolved": resolved,
    "pending": pending,
    "on_time_bieu06": on_time_rate_bieu06,
    "on_time_766": on_time_rate_766,
    "online_share": online_share,
    "late_rate": late_rate,
    "overdue_pending": overdue_pending,
}
