"""Validate incoming fact rows: good rows go on, bad rows go to quarantine with a reason."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from collectors.base import Batch, FatalError, FetchRequest, Rejected
from config.facts import COUNT_COLUMNS, FACT_COLUMNS, FLOW_COLUMNS, KEY_COLUMNS, STOCK_COLUMNS
from config.fields import FIELDS_BY_CODE

REQUIRED_COLUMNS = KEY_COLUMNS + FLOW_COLUMNS + STOCK_COLUMNS


def validate_batch(batch: Batch, request: FetchRequest) -> Batch:
    """Keep rows that are well-typed, in the request and internally consistent; reject the rest."""
    frame = batch.facts
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise FatalError(f"Source rows lack columns {missing}; every row needs {list(REQUIRED_COLUMNS)}")
    frame = frame.reindex(columns=list(FACT_COLUMNS)).reset_index(drop=True)
    reasons = _row_problems(frame, request)
    bad = reasons.str.len() > 0
    rejected = [Rejected(reason=reasons[i], raw=_raw(frame.loc[i]), unit_code=_text(frame.at[i, "unit_code"]),
                         day=_day(frame.at[i, "day"])) for i in np.flatnonzero(bad)]
    good = frame.loc[~bad].copy()
    good[list(FLOW_COLUMNS + STOCK_COLUMNS)] = good[list(FLOW_COLUMNS + STOCK_COLUMNS)].astype("int64")
    good = _drop_duplicate_keys(good, rejected)
    return Batch(good.reset_index(drop=True), batch.rejected + rejected)


def _row_problems(frame: pd.DataFrame, request: FetchRequest) -> pd.Series:
    problems = pd.Series([""] * len(frame), index=frame.index, dtype=object)

    def flag(mask, message):
        mask = pd.Series(mask, index=frame.index).fillna(True).astype(bool)
        problems[mask] = problems[mask] + message + "; "

    wanted = set(request.unit_codes)
    flag(~frame.unit_code.astype(str).isin(wanted), "unit code not requested or unknown")
    days = pd.to_datetime(frame.day, errors="coerce").dt.date
    flag(days.isna(), "day is not a date")
    flag(~days.between(request.first_day, request.last_day), f"day outside {request.first_day}..{request.last_day}")
    flag(~frame.field.isin(list(FIELDS_BY_CODE)), f"unknown procedure field (known: {', '.join(FIELDS_BY_CODE)})")
    for column in COUNT_COLUMNS:
        values = pd.to_numeric(frame[column], errors="coerce")
        optional = column not in FLOW_COLUMNS + STOCK_COLUMNS
        not_number = values.isna() & (frame[column].notna() if optional else True)
        flag(not_number, f"{column} is not a number")
        flag((values < 0) | (values % 1 != 0), f"{column} must be a whole number >= 0")
    numbers = frame[list(STOCK_COLUMNS)].apply(pd.to_numeric, errors="coerce")
    flag(numbers.nearly_due > numbers.pending_on_time, "nearly_due exceeds pending_on_time")
    frame["day"] = days
    return problems.str.rstrip("; ")


def _drop_duplicate_keys(good: pd.DataFrame, rejected: list[Rejected]) -> pd.DataFrame:
    duplicated = good.duplicated(list(KEY_COLUMNS), keep="last")
    for _, row in good.loc[duplicated].iterrows():
        rejected.append(Rejected("duplicate of a later row with the same unit, day, field and source",
                                 _raw(row), row.unit_code, row.day))
    return good.loc[~duplicated]


def _raw(row: pd.Series) -> str:
    return json.dumps({k: (None if pd.isna(v) else v) for k, v in row.items()}, ensure_ascii=False, default=str)


def _text(value) -> str | None:
    return None if pd.isna(value) else str(value)


def _day(value):
    return None if pd.isna(value) else value
