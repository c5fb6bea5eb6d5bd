"""What it takes to climb: the fewest extra dossiers, on one lever, that lift a unit above better ones.

A lever moves N of a unit's dossiers from a worse state to a better one, all else unchanged:
"on_time" resolves N more on time (pending overdue first, then those resolved late, both counted
as on time), "online" takes N more online instead of in person, "paid_online", "digitised" and
"e_result" add N where the component has room. Scores of the other units stay as they are.
Pure: every candidate N is scored at once with kpis.service_index, no search loop over the store.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from config.service_index import ServiceIndexConfig
from kpis.service_index import INPUT_COLUMNS, score_arrays, service_index_frame

# A unit's score must exceed the target's by more than this to count as above it (float noise).
EPSILON = 1e-9


@dataclass(frozen=True)
class Lever:
    """One way to gain points: its component, how many dossiers can move, how to move n of them."""

    key: str
    component: str
    capacity: Callable[[pd.Series], int]
    apply: Callable[[dict[str, np.ndarray], np.ndarray], dict[str, np.ndarray]]


@dataclass(frozen=True)
class ClimbStep:
    """N more dossiers on a lever lift the unit from rank `from_rank` to `to_rank`."""

    lever: str
    n: int
    points_gained: float
    score_gained: float
    new_points: float
    new_score: float
    from_rank: int
    to_rank: int
    overtaken: tuple[str, ...]


Numbers = dict[str, np.ndarray]


def _on_time(rows: Numbers, n: np.ndarray) -> Numbers:
    from_overdue = np.minimum(n, rows["pending_overdue"])
    from_late = n - from_overdue
    rows["pending_overdue"] = rows["pending_overdue"] - from_overdue
    rows["resolved_late"] = rows["resolved_late"] - from_late
    rows["resolved_on_time"] = rows["resolved_on_time"] + n
    return rows


def _online(rows: Numbers, n: np.ndarray) -> Numbers:
    rows["received_direct"] = rows["received_direct"] - n
    rows["received_online"] = rows["received_online"] + n
    return rows


def _adding(column: str) -> Callable[[Numbers, np.ndarray], Numbers]:
    def apply(rows: Numbers, n: np.ndarray) -> Numbers:
        rows[column] = rows[column] + n
        return rows
    return apply


def _room(column: str, base: Callable[[pd.Series], float]) -> Callable[[pd.Series], int]:
    def capacity(row: pd.Series) -> int:
        value, total = row.get(column), base(row)
        if value is None or pd.isna(value) or pd.isna(total):
            return 0  # not reported: the lever has no data to move
        return max(0, int(total - value))
    return capacity


def _received(row: pd.Series) -> float:
    return row["received_online"] + row["received_direct"]


LEVERS: dict[str, Lever] = {lever.key: lever for lever in (
    Lever("on_time", "tdgq_on_time", lambda r: int(r["pending_overdue"] + r["resolved_late"]), _on_time),
    Lever("online", "clgq_online", lambda r: int(r["received_direct"]), _online),
    Lever("paid_online", "tttt_paid", _room("paid_online", lambda r: r.get("fee_bearing", np.nan)),
          _adding("paid_online")),
    Lever("digitised", "mdsh_digitised", _room("digitised", _received), _adding("digitised")),
    Lever("e_result", "mdsh_e_result", _room("e_result", _received), _adding("e_result")),
)}


def climb(totals_df: pd.DataFrame, unit_code: str, config: ServiceIndexConfig, lever: str = "on_time",
          steps: int = 1, scores: pd.DataFrame | None = None) -> list[ClimbStep]:
    """Return the smallest N on `lever` that passes each of the next `steps` better score levels.

    Steps are distinct: a step that already passes several units counts once, and the next step
    aims above the score it reaches. Empty when the unit is first, has no score, or the lever
    cannot carry it past the next unit. `scores` = service_index_frame(totals_df, config) when
    the caller has it already.
    """
    scores = service_index_frame(totals_df, config) if scores is None else scores
    return _climb(_Standing.of(totals_df, scores, unit_code), config, _lever(lever), steps)


def climb_options(totals_df: pd.DataFrame, unit_code: str, config: ServiceIndexConfig,
                  scores: pd.DataFrame | None = None, levers: tuple[str, ...] | None = None) -> list[ClimbStep]:
    """Return, for every lever (or the named ones) that can pass the next better unit, the smallest N;
    fewest dossiers first."""
    scores = service_index_frame(totals_df, config) if scores is None else scores
    standing = _Standing.of(totals_df, scores, unit_code)
    chosen = [LEVERS[key] for key in LEVERS if levers is None or key in levers]
    steps = [step for lever in chosen for step in _climb(standing, config, lever, 1)]
    return sorted(steps, key=lambda step: (step.n, -step.points_gained, step.lever))


@dataclass(frozen=True)
class _Standing:
    """What every lever's search needs about the unit: its scores row, the others with a score, its totals."""

    current: pd.Series | None
    others: pd.DataFrame
    row: pd.Series | None

    @staticmethod
    def of(totals_df: pd.DataFrame, scores: pd.DataFrame, unit_code: str) -> "_Standing":
        current = _current(scores, unit_code)
        if current is None:
            return _Standing(None, scores.iloc[0:0], None)
        others = scores[(scores["unit_code"] != str(unit_code)) & scores["score"].notna()]
        return _Standing(current, others, _unit_totals(totals_df, unit_code))


def _climb(standing: _Standing, config: ServiceIndexConfig, lever: Lever, steps: int) -> list[ClimbStep]:
    current, others, row = standing.current, standing.others, standing.row
    if current is None:
        return []
    # Plain arrays from here on: a province has ~100 units, where pandas' per-operation cost dominates.
    other_scores = others["score"].to_numpy(dtype="float64")
    other_codes = others["unit_code"].astype(str).to_numpy(dtype=object)
    targets = np.sort(np.unique(other_scores[other_scores > current["score"] + EPSILON]))
    capacity = lever.capacity(row)
    if not len(targets) or capacity <= 0:
        return []
    candidates = _candidate_scores(row, lever, capacity, config)
    found: list[ClimbStep] = []
    for target in targets:
        if len(found) >= steps:
            break
        if found and found[-1].new_score > target + EPSILON:
            continue  # the previous step already passed this level
        step = _step(lever.key, candidates, target, current, other_scores, other_codes)
        if step is None:
            break  # higher levels are out of reach too
        found.append(step)
    return found


def _candidate_scores(row: pd.Series, lever: Lever, capacity: int,
                      config: ServiceIndexConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score the unit for every n in 1..capacity in one vectorised pass: (n, points, score)."""
    n = np.arange(1, capacity + 1, dtype="float64")
    rows = {column: np.full(len(n), _number(row.get(column))) for column in INPUT_COLUMNS}
    points, score = score_arrays(lever.apply(rows, n), config)
    return n.astype("int64"), np.asarray(points, dtype="float64"), np.asarray(score, dtype="float64")


def _step(lever: str, candidates: tuple[np.ndarray, np.ndarray, np.ndarray], target: float, current: pd.Series,
          other_scores: np.ndarray, other_codes: np.ndarray) -> ClimbStep | None:
    n, points, score = candidates
    passing = np.flatnonzero(score > target + EPSILON)
    if not len(passing):
        return None
    first = passing[0]  # candidates are in increasing n, so the first is the fewest dossiers
    new_score, new_points = float(score[first]), float(points[first])
    to_rank = 1 + int((other_scores > new_score + EPSILON).sum())
    overtaken = other_codes[(other_scores >= current["score"] - EPSILON) & (other_scores < new_score)]
    return ClimbStep(lever=lever, n=int(n[first]), points_gained=float(new_points - current["points"]),
                     score_gained=new_score - float(current["score"]), new_points=new_points,
                     new_score=new_score, from_rank=int(current["rank"]), to_rank=to_rank,
                     overtaken=tuple(sorted(overtaken)))


def _current(scores: pd.DataFrame, unit_code: str) -> pd.Series | None:
    matches = scores[scores["unit_code"] == str(unit_code)]
    if matches.empty:
        raise KeyError(f"Unit {unit_code!r} has no period totals; it cannot be ranked or climb")
    row = matches.iloc[0]
    return None if pd.isna(row["score"]) else row


def _unit_totals(totals_df: pd.DataFrame, unit_code: str) -> pd.Series:
    return totals_df[totals_df["unit_code"].astype(str) == str(unit_code)].iloc[0].copy()


def _number(value) -> float:
    return np.nan if value is None or pd.isna(value) else float(value)


def _lever(key: str) -> Lever:
    try:
        return LEVERS[key]
    except KeyError:
        raise ValueError(f"Unknown lever {key!r}; use one of: {', '.join(LEVERS)}") from None
