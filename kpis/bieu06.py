"""Biểu số 06/VPCP/KSTT: the official statistics layout, and period totals computed from fact rows.

The 13 columns are declared once, in BIEU06_COLUMNS, so that tables, CSV and the XLSX two-level
header all come from the same spec (whether TT 01/2020 is replaced after 7/2025 is unconfirmed).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Mapping, Sequence

import pandas as pd

from config.facts import FLOW_COLUMNS, KEY_COLUMNS, OPTIONAL_COLUMNS, PERIOD_COLUMNS, STOCK_COLUMNS

# Same limits as store.readers: a stock older than this before a boundary is unknown, not still true.
STOCK_LOOKBACK_DAYS = 31
GROUPINGS = ("unit_code", "field")
TOTAL_LABEL_VI = "Tổng cộng"


@dataclass(frozen=True)
class Bieu06Column:
    """One column of Biểu 06: its number, header texts, and where its count comes from."""

    number: int
    key: str
    group_vi: str
    group_en: str
    label_vi: str
    label_en: str
    rule: str
    source: str | None = None          # a PERIOD_COLUMNS name for columns read directly
    parts: tuple[int, ...] = ()        # column numbers summed for total columns


_RECEIVED = ("Số hồ sơ nhận giải quyết", "Dossiers received for processing")
_RESOLVED = ("Số hồ sơ đã giải quyết", "Dossiers resolved")
_PENDING = ("Số hồ sơ đang giải quyết", "Dossiers being processed")

BIEU06_COLUMNS: tuple[Bieu06Column, ...] = (
    Bieu06Column(1, "stt", "", "", "STT", "No.", ""),
    Bieu06Column(2, "label", "", "", "Lĩnh vực, công việc giải quyết theo cấp",
                 "Field, work handled by level", ""),
    Bieu06Column(3, "received_total", *_RECEIVED, "Tổng số", "Total", "= 4 + 5 + 6", parts=(4, 5, 6)),
    Bieu06Column(4, "received_online", *_RECEIVED, "Trực tuyến", "Online",
                 "received in the period, KenhThucHien = 2", source="received_online"),
    Bieu06Column(5, "received_direct", *_RECEIVED, "Trực tiếp, dịch vụ bưu chính", "In person, postal service",
                 "received in the period, KenhThucHien = 1 or 3 (null = direct)", source="received_direct"),
    Bieu06Column(6, "carried_over", *_RECEIVED, "Từ kỳ trước", "Carried over",
                 "received before the period, still open at its start", source="carried_over"),
    Bieu06Column(7, "resolved_total", *_RESOLVED, "Tổng số", "Total", "= 8 + 9 + 10", parts=(8, 9, 10)),
    Bieu06Column(8, "resolved_early", *_RESOLVED, "Trước hạn", "Early",
                 "NgayKetThucXuLy < NgayHenTra", source="resolved_early"),
    Bieu06Column(9, "resolved_on_time", *_RESOLVED, "Đúng hạn", "On time",
                 "NgayKetThucXuLy = NgayHenTra", source="resolved_on_time"),
    Bieu06Column(10, "resolved_late", *_RESOLVED, "Quá hạn", "Late",
                 "NgayKetThucXuLy > NgayHenTra", source="resolved_late"),
    Bieu06Column(11, "pending_total", *_PENDING, "Tổng số", "Total", "= 12 + 13", parts=(12, 13)),
    Bieu06Column(12, "pending_on_time", *_PENDING, "Trong hạn", "Within deadline",
                 "NgayHenTra >= end of period", source="pending_on_time"),
    Bieu06Column(13, "pending_overdue", *_PENDING, "Quá hạn", "Overdue",
                 "NgayHenTra < end of period", source="pending_overdue"),
)
BIEU06_BY_NUMBER = {c.number: c for c in BIEU06_COLUMNS}
COUNT_NUMBERS = tuple(c.number for c in BIEU06_COLUMNS if c.number >= 3)


def bieu06_row(totals: Mapping | pd.Series) -> dict[int, int]:
    """Map Biểu 06 column numbers 3..13 to counts from one row of period totals."""
    missing = [c.source for c in BIEU06_COLUMNS if c.source is not None and c.source not in totals]
    if missing:
        raise ValueError(f"Period totals lack columns {missing}; expected the columns of config.facts.PERIOD_COLUMNS")
    row: dict[int, int] = {}
    for column in BIEU06_COLUMNS:
        if column.source is not None:
            row[column.number] = _count(totals, column.source)
    for column in BIEU06_COLUMNS:
        if column.parts:
            row[column.number] = sum(row[part] for part in column.parts)
    return {number: row[number] for number in COUNT_NUMBERS}


def bieu06_table(totals: pd.DataFrame, label_column: str, total_label: str = TOTAL_LABEL_VI) -> pd.DataFrame:
    """Lay out period totals as Biểu 06 rows (columns numbered 1..13) followed by a total row."""
    if label_column not in totals.columns:
        raise ValueError(f"Biểu 06 label column {label_column!r} is not in the totals; "
                         f"available columns: {list(totals.columns)}")
    rows = [{1: index + 1, 2: label, **bieu06_row(record)}
            for index, (label, record) in enumerate(zip(totals[label_column], totals.to_dict("records")))]
    grand = {number: sum(row[number] for row in rows) for number in COUNT_NUMBERS}
    rows.append({1: pd.NA, 2: total_label, **grand})
    table = pd.DataFrame(rows, columns=[c.number for c in BIEU06_COLUMNS])
    table[1] = table[1].astype("Int64")
    table[list(COUNT_NUMBERS)] = table[list(COUNT_NUMBERS)].astype("int64")
    return table


def period_totals_from_facts(facts: pd.DataFrame, start: dt.date, end: dt.date,
                             group_by: Sequence[str] = ("unit_code",)) -> pd.DataFrame:
    """Compute period totals from fact rows: the pure reference of store.readers.period_totals.

    Flows are summed over [start, end]; stocks are those of the newest day <= end of each
    (unit, field, source) within STOCK_LOOKBACK_DAYS; carried_over is the pending stock of the
    newest day <= start - 1 within the same lookback. Groups without any such row are absent.
    """
    keys = _check_grouping(group_by)
    _check_range(start, end)
    frame = _normalised(facts)
    in_range = frame[(frame["day"] >= start) & (frame["day"] <= end)]
    flows = _grouped(in_range, keys).agg(
        **{c: (c, _sum_or_null) for c in FLOW_COLUMNS + OPTIONAL_COLUMNS},
        days_with_data=("day", "nunique"))
    closing = _stocks_as_of(frame, end, keys, STOCK_COLUMNS)
    opening = _stocks_as_of(frame, start - dt.timedelta(days=1), keys, ("pending_on_time", "pending_overdue"))
    carried = (opening["pending_on_time"] + opening["pending_overdue"]).rename("carried_over")
    result = flows.join(closing, how="outer").join(carried, how="left")
    counts = list(FLOW_COLUMNS + STOCK_COLUMNS) + ["carried_over", "days_with_data"]
    result[counts] = result[counts].fillna(0).astype("int64")
    result[list(OPTIONAL_COLUMNS)] = result[list(OPTIONAL_COLUMNS)].astype("float64")
    result = result.reset_index().drop(columns="_all", errors="ignore")
    return result[keys + list(PERIOD_COLUMNS) + ["days_with_data"]].sort_values(keys).reset_index(drop=True)


def _count(totals: Mapping | pd.Series, name: str) -> int:
    value = totals[name]
    if pd.isna(value):
        raise ValueError(f"Period totals have no value for {name!r}: a unit without data has no Biểu 06 row")
    return int(value)


def _stocks_as_of(frame: pd.DataFrame, as_of: dt.date, keys: list[str], columns: Sequence[str]) -> pd.DataFrame:
    """Sum, per group, the stocks of the newest day <= as_of of each (unit, field, source)."""
    window = frame[(frame["day"] >= as_of - dt.timedelta(days=STOCK_LOOKBACK_DAYS)) & (frame["day"] <= as_of)]
    newest = window.groupby(["unit_code", "field", "source"])["day"].transform("max")
    latest = window[window["day"] == newest]
    return _grouped(latest, keys)[list(columns)].sum()


def _grouped(frame: pd.DataFrame, keys: list[str]):
    # A constant key stands in for "no grouping" so that every path returns an indexed frame.
    return frame.assign(_all=1).groupby(keys or ["_all"])


def _sum_or_null(values: pd.Series) -> float:
    # SQL SUM semantics: all-NULL stays NULL (not reported), never zero.
    return values.sum(min_count=1)


def _normalised(facts: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in KEY_COLUMNS + FLOW_COLUMNS + STOCK_COLUMNS if c not in facts.columns]
    if missing:
        raise ValueError(f"Fact rows lack columns {missing}; expected config.facts.FACT_COLUMNS")
    frame = facts.reindex(columns=list(KEY_COLUMNS) + list(FLOW_COLUMNS + STOCK_COLUMNS + OPTIONAL_COLUMNS))
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    frame[list(OPTIONAL_COLUMNS)] = frame[list(OPTIONAL_COLUMNS)].astype("float64")
    return frame


def _check_grouping(group_by: Sequence[str]) -> list[str]:
    keys = list(group_by)
    unknown = set(keys) - set(GROUPINGS)
    if unknown:
        raise ValueError(f"Cannot group by {sorted(unknown)}; allowed: {GROUPINGS}")
    return keys


def _check_range(start: dt.date, end: dt.date) -> None:
    if start > end:
        raise ValueError(f"Period start {start} is after its end {end}; pass start <= end")
