"""KPI descriptions: data plus a pure value function. Adding a KPI = adding one entry to KPIS.

Keys equal the column names that kpis.indicators.with_indicators adds, so a frame of period
totals with indicators can be ranked or displayed by key directly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import pandas as pd

from kpis import indicators


@dataclass(frozen=True)
class KpiDefinition:
    """One KPI: identity, labels, unit, direction and how to compute it from period totals."""

    key: str
    label_vi: str
    label_en: str
    unit: Literal["percent", "count"]
    higher_is_better: bool
    value: Callable[[pd.DataFrame], pd.Series]
    description_vi: str
    description_en: str


def _as_float(function: Callable[[pd.DataFrame], pd.Series]) -> Callable[[pd.DataFrame], pd.Series]:
    # Counts become float so that a missing unit (NaN) and a complete one share one dtype.
    def value(totals: pd.DataFrame) -> pd.Series:
        result = function(totals)
        return result.astype("float64") if isinstance(result, pd.Series) else float(result)
    value.__name__ = function.__name__
    value.__doc__ = function.__doc__
    return value


KPIS: tuple[KpiDefinition, ...] = (
    KpiDefinition(
        "received", "Hồ sơ tiếp nhận", "Dossiers received", "count", True, _as_float(indicators.received),
        "Số hồ sơ tiếp nhận trong kỳ (trực tuyến và trực tiếp, bưu chính).",
        "Dossiers received in the period (online, in person and by post)."),
    KpiDefinition(
        "resolved", "Đã giải quyết", "Resolved", "count", True, _as_float(indicators.resolved),
        "Số hồ sơ đã giải quyết trong kỳ (trước hạn, đúng hạn và quá hạn).",
        "Dossiers resolved in the period (early, on time and late)."),
    KpiDefinition(
        "on_time_766", "Đúng hạn (766)", "On time (766)", "percent", True, indicators.on_time_rate_766,
        "(Hồ sơ giải quyết trước và đúng hạn + hồ sơ đang giải quyết trong hạn) / "
        "(hồ sơ đã giải quyết + hồ sơ đang giải quyết), theo Quyết định 766/QĐ-TTg.",
        "(Resolved on or before the deadline + pending within the deadline) / (resolved + pending), "
        "as in Decision 766/QĐ-TTg."),
    KpiDefinition(
        "on_time_bieu06", "Đúng hạn (Biểu 06)", "On time (Form 06)", "percent", True,
        indicators.on_time_rate_bieu06,
        "(Hồ sơ giải quyết trước hạn + đúng hạn) / hồ sơ đã giải quyết, theo Biểu số 06/VPCP/KSTT.",
        "(Resolved early + on time) / resolved, as in Form 06/VPCP/KSTT."),
    KpiDefinition(
        "online_share", "Tỷ lệ trực tuyến", "Online share", "percent", True, indicators.online_share,
        "Hồ sơ tiếp nhận trực tuyến / tổng số hồ sơ tiếp nhận trong kỳ.",
        "Dossiers received online / all dossiers received in the period."),
    KpiDefinition(
        "overdue_pending", "Quá hạn đang giải quyết", "Overdue pending", "count", False,
        _as_float(indicators.overdue_pending),
        "Số hồ sơ đang giải quyết đã quá hạn vào cuối kỳ.",
        "Dossiers still being processed and past their deadline at the end of the period."),
)
KPI_BY_KEY: dict[str, KpiDefinition] = {kpi.key: kpi for kpi in KPIS}


def kpi(key: str) -> KpiDefinition:
    """Look up a KPI by key, naming the valid keys when it is unknown."""
    try:
        return KPI_BY_KEY[key]
    except KeyError:
        raise KeyError(f"Unknown KPI {key!r}; known KPIs: {', '.join(KPI_BY_KEY)}") from None
