"""Simulated commune feeds: deterministic daily dossier facts for any unit and day.

The model follows dossiers, not totals: each (unit, field, day) cohort of received dossiers is
split by a seeded multinomial into the number resolved 0, 1, 2, ... days later. Flows and
end-of-day stocks are then counted from the cohorts, so stock(d) = stock(d-1) + received(d) -
resolved(d) holds exactly and any period's Biểu 06 row is consistent.

Randomness is drawn per (seed, unit, month), so the figures of a day never depend on which range
was asked for. Calibration (tests/collectors/test_simulator.py): Đồng Nai's commune-level totals
for 2025-07-01..2025-08-27 are within 3% of the published 156,063 received, 89.37% online and
98.77% on time (KPI.md §4).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from config.facts import FACT_COLUMNS
from collectors.base import Batch, FetchRequest
from config.fields import PROCEDURE_FIELDS
from geo import registry

SOURCE_NAME = "simulator"
FIELD_CODES = [f.code for f in PROCEDURE_FIELDS]
FIELD_SHARES = np.array([f.share for f in PROCEDURE_FIELDS])
DEADLINES = np.array([f.deadline_days for f in PROCEDURE_FIELDS])
LATE_SPREAD = 6                            # late dossiers finish 1..6 days after the deadline
MAX_LAG = int(DEADLINES.max()) + LATE_SPREAD
LAGS = np.arange(MAX_LAG + 1)

# Calibrated against Đồng Nai 2025-07-01..2025-08-27 (see module docstring).
BASE_DAILY_DOSSIERS = 33.9                 # an average xã on an ordinary weekday
TYPE_VOLUME = {"phuong": 1.75, "xa": 0.82, "dac_khu": 0.55}
BASE_ONLINE_SHARE = 0.905
TYPE_ONLINE_SHIFT = {"phuong": 0.03, "xa": -0.01, "dac_khu": -0.06}
BASE_LATE_SHARE = 0.0085
LAGGING_UNIT_SHARE = 0.07                  # a few communes fall behind...
LAGGING_LATE_FACTOR = 4.5                  # ...with several times the late share
LAGGING_ONLINE_PENALTY = 0.12
WEEKDAY_VOLUME = (1.15, 1.05, 1.0, 1.0, 0.98, 0.22, 0.015)  # Monday .. Sunday
MONTH_END_DAYS, MONTH_END_BOOST = 3, 1.3
OFFICE_OPEN, OFFICE_CLOSE = dt.time(7, 30), dt.time(17, 0)
# Public holidays after 1 July 2025 on which one-stop desks are closed.
HOLIDAYS = frozenset(dt.date.fromisoformat(d) for d in (
    "2025-09-01", "2025-09-02", "2026-01-01", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19",
    "2026-02-20", "2026-04-27", "2026-04-30", "2026-05-01", "2026-08-31", "2026-09-01", "2026-09-02",
))


@dataclass(frozen=True)
class UnitProfile:
    """The stable character of a unit in the simulation."""
    code: str
    volume: float
    online_share: float
    late_share: float
    lagging: bool


class SimulatorSource:
    """Source adapter producing simulated facts; `fetch` does the (in-process) work, `parse` is identity."""

    name = SOURCE_NAME

    def __init__(self, seed: int, history_start: dt.date = dt.date(2025, 7, 1)):
        self.seed = seed
        self.history_start = history_start

    def fetch(self, request: FetchRequest) -> pd.DataFrame:
        """Facts for the requested units and days; today's figures are the part of the day elapsed.

        One frame for the whole chunk, built from the units' arrays: a frame per unit cost more than
        simulating it (the national backfill fetches 3,321 units).
        """
        counted = [self._unit_counts(code, request.first_day, request.last_day, request.now)
                   for code in request.unit_codes]
        return _frame([c for c in counted if c is not None and len(c[1])])

    def parse(self, payload: pd.DataFrame, request: FetchRequest) -> Batch:
        return Batch(payload)

    def unit_facts(self, code: str, first_day: dt.date, last_day: dt.date, now: dt.datetime) -> pd.DataFrame:
        """One unit's fact rows for [first_day, last_day], nothing after `now` or before history starts."""
        counted = self._unit_counts(code, first_day, last_day, now)
        return _frame([] if counted is None else [counted])

    def _unit_counts(self, code: str, first_day: dt.date, last_day: dt.date,
                     now: dt.datetime) -> "_UnitCounts | None":
        last_day = min(last_day, now.date())
        first_day = max(first_day, self.history_start)
        if first_day > last_day:
            return None
        profile = unit_profile(self.seed, code)
        cohorts = _cohorts(self.seed, profile, _month_start(first_day - dt.timedelta(days=MAX_LAG)), last_day,
                           self.history_start)
        return _count_facts(profile.code, cohorts, first_day, last_day, now)


@lru_cache(maxsize=8192)
def unit_profile(seed: int, code: str) -> UnitProfile:
    """Volume, online share and lateness of a unit: fixed for a seed."""
    rng = np.random.default_rng(_seed_for(seed, code, "profile"))
    unit_type = _unit_types().get(code, "xa")
    lagging = rng.random() < LAGGING_UNIT_SHARE
    online = BASE_ONLINE_SHARE + TYPE_ONLINE_SHIFT.get(unit_type, 0.0) + rng.normal(0, 0.035)
    online -= LAGGING_ONLINE_PENALTY if lagging else 0.0
    late = BASE_LATE_SHARE * (LAGGING_LATE_FACTOR if lagging else 1.0) * rng.lognormal(0, 0.3)
    volume = BASE_DAILY_DOSSIERS * TYPE_VOLUME.get(unit_type, 1.0) * rng.lognormal(0, 0.3)
    return UnitProfile(code, volume, float(np.clip(online, 0.4, 0.995)), float(np.clip(late, 0.0, 0.25)), lagging)


@lru_cache(maxsize=1)
def _unit_types() -> dict[str, str]:
    units = registry.all_units()
    return dict(zip(units.code, units.type))


def _seed_for(seed: int, code: str, salt: str) -> int:
    digest = hashlib.blake2b(f"{seed}|{code}|{salt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


@dataclass
class _Cohorts:
    days: pd.DatetimeIndex
    received: np.ndarray      # (field, day)
    online: np.ndarray        # (field, day)
    resolved_at_lag: np.ndarray  # (field, day, lag): cohort of that day resolved `lag` days later
    optional: dict[str, np.ndarray]


def _cohorts(seed: int, profile: UnitProfile, first_month: dt.date, last_day: dt.date, history_start: dt.date) -> _Cohorts:
    months = []
    month = first_month
    while month <= last_day:
        months.append(_month_cohorts(seed, profile, month, history_start))
        month = _next_month(month)
    return _Cohorts(
        days=months[0].days.append([m.days for m in months[1:]]),
        received=np.concatenate([m.received for m in months], axis=1),
        online=np.concatenate([m.online for m in months], axis=1),
        resolved_at_lag=np.concatenate([m.resolved_at_lag for m in months], axis=1),
        optional={k: np.concatenate([m.optional[k] for m in months], axis=1) for k in months[0].optional},
    )


def _month_cohorts(seed: int, profile: UnitProfile, month: dt.date, history_start: dt.date) -> _Cohorts:
    """All cohorts received in one month: drawn from the (seed, unit, month) stream only."""
    return _month_cohorts_cached(seed, profile, month, history_start)


@lru_cache(maxsize=4096)
def _month_cohorts_cached(seed: int, profile: UnitProfile, month: dt.date, history_start: dt.date) -> _Cohorts:
    rng = np.random.default_rng(_seed_for(seed, profile.code, month.isoformat()))
    days = pd.date_range(month, _next_month(month) - dt.timedelta(days=1), freq="D")
    expected = profile.volume * _day_factors(days)[None, :] * FIELD_SHARES[:, None]
    received = rng.poisson(expected * rng.gamma(20.0, 1 / 20.0, size=expected.shape))
    received[:, days.date < history_start] = 0
    online = rng.binomial(received, profile.online_share)
    resolved_at_lag = rng.multinomial(received, _lag_probabilities(profile.late_share)[:, None, :])
    fee_bearing = rng.binomial(received, 0.35)
    optional = {
        "fully_online": rng.binomial(online, 0.45),
        "fee_bearing": fee_bearing,
        "paid_online": rng.binomial(fee_bearing, 0.62),
        "digitised": rng.binomial(received, 0.72),
        "e_result": rng.binomial(received, 0.55),
        "dissatisfied": rng.binomial(received, 0.002),
    }
    return _Cohorts(days, received, online, resolved_at_lag, optional)


def _day_factors(days: pd.DatetimeIndex) -> np.ndarray:
    """Weekly rhythm, closed on holidays, a rush in the last working days of each month."""
    weekday = np.array(WEEKDAY_VOLUME)[days.day_of_week]
    month_end = (days.days_in_month - days.day) < MONTH_END_DAYS
    holiday = np.array([d in HOLIDAYS for d in days.date])
    return weekday * np.where(month_end, MONTH_END_BOOST, 1.0) * np.where(holiday, 0.01, 1.0)


@lru_cache(maxsize=1024)
def _lag_probabilities(late_share: float) -> np.ndarray:
    """P(resolved `lag` days after receipt) per field: mostly early, some on the deadline, a few late."""
    table = np.zeros((len(DEADLINES), len(LAGS)))
    for i, deadline in enumerate(DEADLINES):
        in_time = np.exp(-LAGS[: deadline + 1] / max(deadline * 0.45, 0.6))
        in_time[deadline] += in_time[:deadline].sum() * 0.15  # a bump on the due date itself
        table[i, : deadline + 1] = (1 - late_share) * in_time / in_time.sum()
        late = np.exp(-np.arange(LATE_SPREAD) / 2.0)
        table[i, deadline + 1: deadline + 1 + LATE_SPREAD] = late_share * late / late.sum()
    return table


_UnitCounts = tuple  # (unit code, kept days, {column: (field, day) array})


def _count_facts(code: str, cohorts: _Cohorts, first_day: dt.date, last_day: dt.date,
                 now: dt.datetime) -> _UnitCounts:
    """Flows and end-of-day stocks per (field, day) from the cohorts, for the unit's days in range."""
    columns = _count_arrays(cohorts)
    keep = (cohorts.days.date >= first_day) & (cohorts.days.date <= last_day)
    columns = {name: values[:, keep] for name, values in columns.items()}
    kept_days = cohorts.days[keep].date
    if len(kept_days) and kept_days[-1] == now.date():
        _partial_today(columns, _office_day_fraction(now))
    return code, kept_days, columns


def _frame(units: list[_UnitCounts]) -> pd.DataFrame:
    """Fact rows of the units in order, each unit's rows field by field, day by day."""
    if not units:
        return pd.DataFrame(columns=list(FACT_COLUMNS))
    n_fields = len(FIELD_CODES)
    sizes = [n_fields * len(days) for _, days, _ in units]
    frame = pd.DataFrame({name: np.concatenate([columns[name].ravel() for _, _, columns in units])
                          for name in units[0][2]})
    frame.insert(0, "unit_code", np.repeat([code for code, _, _ in units], sizes).astype(object))
    frame.insert(1, "day", np.concatenate([np.tile(days, n_fields) for _, days, _ in units]))
    frame.insert(2, "field", np.concatenate([np.repeat(FIELD_CODES, len(days)) for _, days, _ in units]).astype(object))
    frame.insert(3, "source", SOURCE_NAME)
    return frame[list(FACT_COLUMNS)]


def _count_arrays(cohorts: _Cohorts) -> dict[str, np.ndarray]:
    n_fields, n_days, n_lags = cohorts.resolved_at_lag.shape
    early = np.zeros((n_fields, n_days), dtype=np.int64)
    on_time, late = np.zeros_like(early), np.zeros_like(early)
    pending_on_time, pending_overdue, nearly_due = np.zeros_like(early), np.zeros_like(early), np.zeros_like(early)
    remaining = cohorts.received[:, :, None] - np.cumsum(cohorts.resolved_at_lag, axis=2)  # after `lag` days
    for lag in range(n_lags):
        resolved = _shift(cohorts.resolved_at_lag[:, :, lag], lag)
        still_open = _shift(remaining[:, :, lag], lag)
        overdue = (lag > DEADLINES)[:, None]
        early += np.where((lag < DEADLINES)[:, None], resolved, 0)
        on_time += np.where((lag == DEADLINES)[:, None], resolved, 0)
        late += np.where(overdue, resolved, 0)
        pending_overdue += np.where(overdue, still_open, 0)
        pending_on_time += np.where(overdue, 0, still_open)
        nearly_due += np.where((lag == DEADLINES - 1)[:, None], still_open, 0)
    return {
        "received_online": cohorts.online, "received_direct": cohorts.received - cohorts.online,
        "resolved_early": early, "resolved_on_time": on_time, "resolved_late": late,
        "pending_on_time": pending_on_time, "pending_overdue": pending_overdue, "nearly_due": nearly_due,
        **cohorts.optional,
    }


def _shift(values: np.ndarray, lag: int) -> np.ndarray:
    """Move cohort-indexed values `lag` days later (cohort of day d counted on day d + lag)."""
    if lag == 0:
        return values
    shifted = np.zeros_like(values)
    shifted[:, lag:] = values[:, :-lag]
    return shifted


PARTIAL_FLOWS = ("received_online", "received_direct", "resolved_early", "resolved_on_time", "resolved_late",
                 "fully_online", "fee_bearing", "paid_online", "digitised", "e_result", "dissatisfied")


def _partial_today(columns: dict[str, np.ndarray], fraction: float) -> None:
    """Scale the last day's flows to the part of the office day elapsed; keep its stocks consistent."""
    full = {name: values[:, -1].copy() for name, values in columns.items()}
    for name in PARTIAL_FLOWS:
        columns[name][:, -1] = np.floor(full[name] * fraction)
    received = ("received_online", "received_direct")
    resolved = ("resolved_early", "resolved_on_time", "resolved_late")
    not_yet_received = sum(full[n] - columns[n][:, -1] for n in received)
    not_yet_resolved = sum(full[n] - columns[n][:, -1] for n in resolved)
    pending = np.maximum(full["pending_on_time"] + full["pending_overdue"] - not_yet_received + not_yet_resolved, 0)
    columns["pending_overdue"][:, -1] = np.minimum(full["pending_overdue"], pending)
    columns["pending_on_time"][:, -1] = pending - columns["pending_overdue"][:, -1]
    columns["nearly_due"][:, -1] = np.minimum(full["nearly_due"], columns["pending_on_time"][:, -1])


def _office_day_fraction(now: dt.datetime) -> float:
    opening = dt.datetime.combine(now.date(), OFFICE_OPEN)
    closing = dt.datetime.combine(now.date(), OFFICE_CLOSE)
    return float(np.clip((now - opening) / (closing - opening), 0.0, 1.0))
