"""Validate incoming fact rows: good rows go on, bad rows go to quarantine with a reason.

Checks: types, whole non-negative counts, a requested (hence known) unit code, a day inside the
requested window, a known procedure field, and the internal identities of the grain — nearly due
is part of pending within deadline, and where the previous day is in the same batch, what was
resolved fits the workload (open yesterday + received today) and the stock carries over
(open today = open yesterday + received - resolved). Today's row is provisional (the day is not
over, and it is replaced by the next run), so the day-to-day identities wait until it is complete. A source may add a `_raw` column holding
each row's original record: it is what quarantine keeps.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from collectors.base import Batch, FatalError, FetchRequest, Rejected
from config.facts import COUNT_COLUMNS, FACT_COLUMNS, FLOW_COLUMNS, KEY_COLUMNS, STOCK_COLUMNS
from config.fields import FIELDS_BY_CODE

REQUIRED_COLUMNS = KEY_COLUMNS + FLOW_COLUMNS + STOCK_COLUMNS
RAW_COLUMN = "_raw"
RECEIVED = ["received_online", "received_direct"]
RESOLVED = ["resolved_early", "resolved_on_time", "resolved_late"]
OPEN = ["pending_on_time", "pending_overdue"]


def validate_batch(batch: Batch, request: FetchRequest) -> Batch:
    """Keep rows that are well-typed, in the request and internally consistent; reject the rest."""
    frame = batch.facts
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise FatalError(f"Source rows lack columns {missing}; every row needs {list(REQUIRED_COLUMNS)}")
    raw = frame[RAW_COLUMN].reset_index(drop=True) if RAW_COLUMN in frame.columns else None
    frame = frame.reindex(columns=list(FACT_COLUMNS)).reset_index(drop=True)
    reasons = _row_problems(frame, request)
    # Today's row is provisional (replaced once the day ends): identities wait until it is complete.
    complete_day = pd.to_datetime(frame["day"]) < pd.Timestamp(request.now.date())
    reasons = _join(reasons, _identity_problems(frame, (reasons.str.len() == 0) & complete_day))
    bad = reasons.str.len() > 0
    rejected = [Rejected(reason=reasons[i], raw=_raw(frame.loc[i]) if raw is None else raw[i],
                         unit_code=_text(frame.at[i, "unit_code"]), day=_day(frame.at[i, "day"]))
                for i in np.flatnonzero(bad)]
    good = frame.loc[~bad].copy()
    for column in COUNT_COLUMNS:
        numbers = pd.to_numeric(good[column], errors="coerce")
        good[column] = numbers.astype("int64") if column in REQUIRED_COLUMNS else numbers.astype("Int64")
    good["unit_code"] = good["unit_code"].astype(str)
    good = _drop_duplicate_keys(good, rejected, raw)
    return Batch(good.reset_index(drop=True), batch.rejected + rejected)


def _identity_problems(frame: pd.DataFrame, clean: pd.Series) -> pd.Series:
    """Day-to-day identities, checked where yesterday's row of the same unit and field is in the batch."""
    problems = pd.Series("", index=frame.index, dtype=object)
    rows = frame.loc[clean]
    if rows.empty:
        return problems
    numbers = rows[RECEIVED + RESOLVED + OPEN].apply(pd.to_numeric).astype("int64")
    keys = rows["unit_code"].astype(str) + "|" + rows["field"].astype(str) + "|" + rows["source"].astype(str)
    days = pd.to_datetime(rows["day"])
    order = np.lexsort((days.to_numpy(), keys.to_numpy()))
    index = rows.index[order]
    keys, days, numbers = keys.loc[index], days.loc[index], numbers.loc[index]
    follows = (keys.eq(keys.shift())) & (days - days.shift() == pd.Timedelta(days=1))
    opened = numbers[OPEN].sum(axis=1)
    before = opened.shift().where(follows)
    received, resolved = numbers[RECEIVED].sum(axis=1), numbers[RESOLVED].sum(axis=1)
    too_many = follows & (resolved > before + received)
    drift = follows & (opened != before + received - resolved)
    problems.loc[index[too_many.to_numpy()]] += "resolved exceeds the workload (open the day before + received)"
    message = "open dossiers do not carry over (open the day before + received - resolved)"
    problems.loc[index[drift.to_numpy()]] = _join(problems.loc[index[drift.to_numpy()]], message)
    return problems


def _join(left: pd.Series, right) -> pd.Series:
    right = pd.Series(right, index=left.index) if not isinstance(right, pd.Series) else right
    both = (left.str.len() > 0) & (right.str.len() > 0)
    return (left + np.where(both, "; ", "") + right).astype(object)


def _row_problems(frame: pd.DataFrame, request: FetchRequest) -> pd.Series:
    checks: list[tuple[np.ndarray, str]] = []

    def flag(mask, message):
        checks.append((pd.Series(mask, index=frame.index).fillna(True).astype(bool).to_numpy(), message))

    wanted = set(request.unit_codes)
    flag(~frame.unit_code.astype(str).isin(wanted), "unit code not requested or unknown")
    days = pd.to_datetime(frame.day, errors="coerce")
    flag(days.isna(), "day is not a date")
    first, last = pd.Timestamp(request.first_day), pd.Timestamp(request.last_day)
    flag(~days.between(first, last), f"day outside {request.first_day}..{request.last_day}")
    flag(~frame.field.isin(list(FIELDS_BY_CODE)), f"unknown procedure field (known: {', '.join(FIELDS_BY_CODE)})")
    for column in COUNT_COLUMNS:
        values = pd.to_numeric(frame[column], errors="coerce")
        optional = column not in FLOW_COLUMNS + STOCK_COLUMNS
        not_number = values.isna() & (frame[column].notna() if optional else True)
        flag(not_number, f"{column} is not a number")
        flag(values.notna() & ((values < 0) | (values % 1 != 0)), f"{column} must be a whole number >= 0")
    numbers = frame[list(STOCK_COLUMNS)].apply(pd.to_numeric, errors="coerce")
    flag(numbers.nearly_due > numbers.pending_on_time, "nearly_due exceeds pending_on_time")
    frame["day"] = days.dt.date.where(days.notna(), None)
    return _reasons(checks, len(frame), frame.index)


def _reasons(checks: list[tuple[np.ndarray, str]], size: int, index: pd.Index) -> pd.Series:
    """Reason text for the rows that failed any check; only bad rows pay for string building."""
    reasons = np.full(size, "", dtype=object)
    bad = np.zeros(size, dtype=bool)
    for mask, _ in checks:
        bad |= mask
    for i in np.flatnonzero(bad):
        reasons[i] = "; ".join(message for mask, message in checks if mask[i])
    return pd.Series(reasons, index=index, dtype=object)


def _drop_duplicate_keys(good: pd.DataFrame, rejected: list[Rejected], raw: pd.Series | None) -> pd.DataFrame:
    duplicated = good.duplicated(list(KEY_COLUMNS), keep="last")
    for index, row in good.loc[duplicated].iterrows():
        rejected.append(Rejected("duplicate of a later row with the same unit, day, field and source",
                                 _raw(row) if raw is None else raw[index], row.unit_code, row.day))
    return good.loc[~duplicated]


def _raw(row: pd.Series) -> str:
    values = {k: (None if pd.isna(v) else v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
    return json.dumps(values, ensure_ascii=False, default=str)


def _text(value) -> str | None:
    return None if pd.isna(value) else str(value)


def _day(value):
    return None if pd.isna(value) else value
