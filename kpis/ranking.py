"""Ranking of units by a KPI: standard competition ranking among units with a value (KPI.md §2)."""
from __future__ import annotations

import pandas as pd


def competition_rank(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """Rank values 1, 2, 2, 4 ...; units without a value (NaN) get <NA>, not a last place."""
    numeric = pd.to_numeric(values, errors="raise").astype("float64")
    return numeric.rank(method="min", ascending=not higher_is_better, na_option="keep").astype("Int64")


def best_and_worst(frame: pd.DataFrame, key: str, n: int = 5, higher_is_better: bool = True,
                   code_column: str = "unit_code") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the n best rows (best first) and the n worst among the rest (worst first), each with a rank.

    Rows without a value for `key` are left out of both; ties go to the lower code first so the
    lists never change between calls. The two lists never share a row.
    """
    _check_columns(frame, key, code_column)
    if n < 0:
        raise ValueError(f"n must be zero or more, got {n}")
    valid = frame[frame[key].notna()].copy()
    valid["rank"] = competition_rank(valid[key], higher_is_better)
    best = valid.sort_values([key, code_column], ascending=[not higher_is_better, True], kind="mergesort").head(n)
    rest = valid.drop(index=best.index)
    worst = rest.sort_values([key, code_column], ascending=[higher_is_better, True], kind="mergesort").head(n)
    return best.reset_index(drop=True), worst.reset_index(drop=True)


def _check_columns(frame: pd.DataFrame, key: str, code_column: str) -> None:
    missing = [c for c in (key, code_column) if c not in frame.columns]
    if missing:
        raise ValueError(f"Cannot rank: columns {missing} are missing; available: {list(frame.columns)}. "
                         "Add the KPI with kpis.indicators.with_indicators or pass code_column=")
