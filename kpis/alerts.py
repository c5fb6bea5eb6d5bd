"""Alert rules for the leaders' overview: pure functions, frames in, frames out; no I/O, no clock.

Each rule returns one row per unit (or system) that needs attention, worst first, ties by code so
the order never changes between calls. `now` and `as_of` are always passed in.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from kpis.definitions import KPI_BY_KEY

ALERT_STATES = ("red", "amber")  # system states that raise an alert, most severe first
STOCK_ALERTS = ("pending_overdue", "nearly_due")


def stock_alerts(totals: pd.DataFrame, column: str) -> pd.DataFrame:
    """Units whose end-of-period stock in `column` (pending_overdue or nearly_due) is above zero.

    `totals` has one row per unit (store.readers.period_totals); returns unit_code and count, largest first.
    """
    if column not in STOCK_ALERTS:
        raise ValueError(f"Unknown stock alert {column!r}; expected one of {', '.join(STOCK_ALERTS)}")
    _require(totals, ["unit_code", column], "period totals")
    counts = pd.to_numeric(totals[column]).fillna(0).astype("int64")
    frame = pd.DataFrame({"unit_code": totals["unit_code"].astype(str), "count": counts})
    frame = frame[frame["count"] > 0]
    return frame.sort_values(["count", "unit_code"], ascending=[False, True], kind="mergesort").reset_index(drop=True)


def daily_rates(daily: pd.DataFrame, kpi_key: str) -> pd.DataFrame:
    """The rate `kpi_key` per unit and day from store.readers.daily_totals(..., by_unit=True); NaN = no data."""
    if kpi_key not in KPI_BY_KEY or KPI_BY_KEY[kpi_key].unit != "percent":
        rates = [k for k, v in KPI_BY_KEY.items() if v.unit == "percent"]
        raise ValueError(f"Cannot watch {kpi_key!r} day by day; use a rate: {', '.join(rates)}")
    _require(daily, ["day", "unit_code"], "daily totals by unit")
    totals = daily.copy()
    totals["carried_over"] = np.nan  # a day has no carried-over stock of its own; no rate here needs one
    value = KPI_BY_KEY[kpi_key].value(totals) if len(totals) else pd.Series(dtype="float64")
    return pd.DataFrame({"unit_code": totals["unit_code"].astype(str), "day": totals["day"], "value": value})


def below_threshold(daily: pd.DataFrame, kpi_key: str, threshold: float, consecutive_days: int,
                    as_of: dt.date | None = None) -> pd.DataFrame:
    """Units whose daily rate stayed below `threshold` on each of the last `consecutive_days` days up to `as_of`.

    A day without data (no row, or a zero denominator) ends a run: it cannot be called "below".
    `as_of` defaults to the newest day in `daily`. Returns unit_code, streak_days (the whole run,
    which may be longer than required), since (its first day) and latest (the value on `as_of`),
    longest run first.
    """
    if consecutive_days < 1:
        raise ValueError(f"consecutive_days must be 1 or more, got {consecutive_days}")
    rates = daily_rates(daily, kpi_key)
    columns = ["unit_code", "streak_days", "since", "latest"]
    if rates.empty:
        return pd.DataFrame(columns=columns)
    as_of = as_of or max(rates["day"])
    rates = rates[rates["day"] <= as_of]
    first = min(rates["day"], default=as_of)
    units, grid = _unit_day_grid(rates, first, as_of)
    below = grid < threshold  # NaN compares False: no data breaks the run
    streak = below[:, ::-1].cumprod(axis=1).sum(axis=1)
    frame = pd.DataFrame({"unit_code": pd.array(units, dtype="str"), "streak_days": streak.astype("int64"),
                          "latest": grid[:, -1] if grid.shape[1] else np.full(len(units), np.nan)})
    frame["since"] = [as_of - dt.timedelta(days=int(n) - 1) for n in frame["streak_days"]]
    frame = frame[frame["streak_days"] >= consecutive_days]
    frame = frame.sort_values(["streak_days", "latest", "unit_code"], ascending=[False, True, True], kind="mergesort")
    return frame[columns].reset_index(drop=True)


def _unit_day_grid(rates: pd.DataFrame, first: dt.date, last: dt.date) -> tuple[list[str], np.ndarray]:
    """Units (sorted) and a units x days array of the first value of each unit and day, NaN where none."""
    codes, units = pd.factorize(rates["unit_code"].astype(str), sort=True)
    offsets = {day: (day - first).days for day in set(rates["day"])}
    columns = np.array([offsets[day] for day in rates["day"]], dtype="int64")
    values = rates["value"].to_numpy(dtype="float64")
    grid = np.full((len(units), (last - first).days + 1), np.nan)
    known = ~np.isnan(values)
    # Assigned last to first: the first value with data of a unit and day wins, as pivot_table's "first".
    grid[codes[known][::-1], columns[known][::-1]] = values[known][::-1]
    return [str(code) for code in units], grid


def stale_units(freshness: pd.DataFrame, now: dt.datetime, stale_after_s: float) -> pd.DataFrame:
    """Units whose newest successful collection is older than `stale_after_s` before `now` (or never happened).

    `freshness` is store.readers.unit_freshness: units without any status row are unknown, not stale.
    Returns unit_code, last_success_at (NaT = never) and age_s (NaN = never), oldest first.
    """
    _require(freshness, ["unit_code", "last_success_at"], "unit freshness")
    last = _naive(pd.to_datetime(freshness["last_success_at"]))
    age = (pd.Timestamp(_naive_moment(now)) - last).dt.total_seconds()
    frame = pd.DataFrame({"unit_code": freshness["unit_code"].astype(str), "last_success_at": last, "age_s": age})
    frame = frame[frame["age_s"].isna() | (frame["age_s"] > stale_after_s)]
    never_first = frame.assign(_never=frame["age_s"].isna())
    never_first = never_first.sort_values(["_never", "age_s", "unit_code"], ascending=[False, False, True],
                                          kind="mergesort")
    return never_first.drop(columns="_never").reset_index(drop=True)


def systems_down(status: pd.DataFrame) -> pd.DataFrame:
    """Systems whose state is red or amber (store.health_readers.current_status), red first."""
    _require(status, ["system", "state"], "system status")
    frame = status[status["state"].isin(ALERT_STATES)].copy()
    frame["_severity"] = frame["state"].map({state: i for i, state in enumerate(ALERT_STATES)})
    frame = frame.sort_values(["_severity", "system"], kind="mergesort").drop(columns="_severity")
    return frame.reset_index(drop=True)


def _naive(series: pd.Series) -> pd.Series:
    # Store times are naive local; a backend that hands back aware ones is converted, not shifted by hand.
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert(None)
    return series


def _naive_moment(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone().replace(tzinfo=None) if moment.tzinfo else moment


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"The {what} frame lacks columns {missing}; it has {list(frame.columns)}")
