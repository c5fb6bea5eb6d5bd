"""Service index per unit, following the groups of Decision 766/QĐ-TTg (KPI.md §2).

Only the components that collected dossier facts support are computed (reconstructed indicators);
the other groups (CKMB and the rest of each group) are "not computable". A component whose inputs
are missing (NULL optional column) or whose denominator is zero is NaN = "no data", never zero.
Weights, saturation thresholds, grade bands and the missing-data rule come from
config.service_index.ServiceIndexConfig.
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
import pandas as pd

from config.service_index import COMPONENT_GROUPS, GROUPS, ServiceIndexConfig
from kpis.ranking import competition_rank

COMPONENTS = tuple(COMPONENT_GROUPS)
# Period-total columns the index reads; optional ones may be NULL (not reported).
INPUT_COLUMNS = ("received_online", "received_direct", "resolved_early", "resolved_on_time", "resolved_late",
                 "pending_on_time", "pending_overdue", "paid_online", "fee_bearing", "digitised", "e_result",
                 "dissatisfied")
COMPONENT_LABELS: dict[str, tuple[str, str]] = {
    "tdgq_on_time": ("Giải quyết đúng hạn (766)", "Handled on time (766)"),
    "clgq_online": ("Tỷ lệ nộp trực tuyến", "Online submission share"),
    "tttt_paid": ("Thanh toán trực tuyến", "Paid online"),
    "mdsh_digitised": ("Số hóa hồ sơ", "Dossiers digitised"),
    "mdsh_e_result": ("Trả kết quả điện tử", "Electronic results"),
    "mdhl_satisfied": ("Mức độ hài lòng", "Satisfied share"),
}


def _handled(t) -> np.ndarray:
    return (t["resolved_early"] + t["resolved_on_time"] + t["resolved_late"]
            + t["pending_on_time"] + t["pending_overdue"])


def _received(t) -> np.ndarray:
    return t["received_online"] + t["received_direct"]


def _satisfied(t) -> np.ndarray:
    # Overdue dossiers (resolved late or pending overdue) count as not satisfied, as on the portal.
    value = _handled(t) - t["dissatisfied"] - t["resolved_late"] - t["pending_overdue"]
    return np.maximum(value, 0.0)


# component -> (numerator, denominator) over period totals given as column -> float array
SHARES: dict[str, tuple[Callable[[Mapping], np.ndarray], Callable[[Mapping], np.ndarray]]] = {
    "tdgq_on_time": (lambda t: t["resolved_early"] + t["resolved_on_time"] + t["pending_on_time"], _handled),
    "clgq_online": (lambda t: t["received_online"], _received),
    "tttt_paid": (lambda t: t["paid_online"], lambda t: t["fee_bearing"]),
    "mdsh_digitised": (lambda t: t["digitised"], _received),
    "mdsh_e_result": (lambda t: t["e_result"], _received),
    "mdhl_satisfied": (_satisfied, _handled),
}


def service_index_frame(totals_df: pd.DataFrame, config: ServiceIndexConfig) -> pd.DataFrame:
    """Score every unit of a period-totals frame on the service index.

    `totals_df` has one row per unit with `unit_code` and the columns of config.facts.PERIOD_COLUMNS
    (store.readers.period_totals); missing optional columns count as not reported. Returns one row
    per unit, in input order, with:
    share_<component> (0-1, NaN = no data), pts_<component> (points, NaN = no data),
    points (sum over components with data, or as config.missing_data says), max_points (points
    available from the components counted), score (points / max_points x 100, NaN = no score),
    grade (band code or None), components_with_data and rank (1, 2, 2, 4 among units with a score).
    """
    _check_input(totals_df)
    numbers = {column: _floats(totals_df, column) for column in INPUT_COLUMNS}
    columns: dict[str, object] = {"unit_code": totals_df["unit_code"].astype(str).to_numpy()}
    for code in COMPONENTS:
        share = component_share(numbers, code)
        columns[f"share_{code}"] = share
        columns[f"pts_{code}"] = component_points(share, code, config)
    return _scored(columns, config)


def component_share(numbers: Mapping, code: str) -> np.ndarray:
    """Return a component's share (0-1) per row; NaN where an input is NULL or the denominator is 0."""
    numerator, denominator = SHARES[code]
    top = np.asarray(numerator(numbers), dtype="float64")
    bottom = np.asarray(denominator(numbers), dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        share = top / np.where(bottom > 0, bottom, np.nan)
    return np.maximum(share, 0.0)


def component_points(share, code: str, config: ServiceIndexConfig) -> np.ndarray:
    """Return weight x min(1, share / saturation) per row; NaN stays NaN (no data)."""
    saturation = config.saturation.get(code, 1.0)
    return config.weights[code] * np.minimum(1.0, np.asarray(share, dtype="float64") / saturation)


def score_arrays(numbers: Mapping[str, np.ndarray], config: ServiceIndexConfig) -> tuple[np.ndarray, np.ndarray]:
    """Return (points, score) arrays for inputs given as column -> float array (fast path for kpis.climb)."""
    columns = {"unit_code": np.asarray(numbers["received_online"])}
    for code in COMPONENTS:
        columns[f"pts_{code}"] = component_points(component_share(numbers, code), code, config)
    total, _, score, _ = _totals(columns, config)
    return total, score


def _totals(columns: dict, config: ServiceIndexConfig):
    points = np.column_stack([columns[f"pts_{code}"] for code in COMPONENTS]) if len(columns["unit_code"]) else \
        np.empty((0, len(COMPONENTS)))
    has_data = ~np.isnan(points)
    weights = np.array([config.weights[code] for code in COMPONENTS])
    count = has_data.sum(axis=1)
    total = np.where(count > 0, np.nansum(points, axis=1), np.nan)
    if config.missing_data == "renormalise":
        available = (has_data * weights).sum(axis=1)
    else:
        available = np.full(len(total), config.max_points())
    if config.missing_data == "require_all":
        total = np.where(has_data.all(axis=1), total, np.nan)
    valid = (count >= config.min_components) & ~np.isnan(total) & (available > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(valid, 100.0 * total / np.where(available > 0, available, np.nan), np.nan)
    return total, available, score, count


def _scored(columns: dict, config: ServiceIndexConfig) -> pd.DataFrame:
    total, available, score, count = _totals(columns, config)
    result = pd.DataFrame({**columns, "components_with_data": count.astype("int64"), "points": total,
                           "max_points": available.astype("float64"), "score": score})
    result["grade"] = [band.code if band else None for band in map(config.grade, score)]
    result["rank"] = competition_rank(result["score"])
    return result


def _floats(totals: pd.DataFrame, column: str) -> np.ndarray:
    if column not in totals.columns:
        return np.full(len(totals), np.nan)  # an optional column nobody reported
    values = totals[column]
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iuf":  # plain numbers: no NA to map, ~30x faster
        return values.to_numpy().astype("float64")
    return pd.to_numeric(values).to_numpy(dtype="float64", na_value=np.nan)


def group_points(frame: pd.DataFrame, config: ServiceIndexConfig) -> pd.DataFrame:
    """Per unit and 766 group: points earned, points available from supported components, official points.

    Groups without a supported component (CKMB) have available 0 and earned NaN: "not computable".
    """
    rows = []
    for row in frame.itertuples(index=False):
        for group, (_, _, official) in GROUPS.items():
            codes = [c for c in COMPONENTS if COMPONENT_GROUPS[c] == group]
            earned = [getattr(row, f"pts_{c}") for c in codes]
            known = [value for value in earned if not pd.isna(value)]
            rows.append({"unit_code": row.unit_code, "group": group, "official_points": official,
                         "supported_points": sum(config.weights[c] for c in codes),
                         "points": sum(known) if known else np.nan})
    return pd.DataFrame(rows, columns=["unit_code", "group", "official_points", "supported_points", "points"])


def component_breakdown(frame: pd.DataFrame, unit_code: str, config: ServiceIndexConfig) -> pd.DataFrame:
    """One unit's components: group, share, points, weight and points lost (NaN = no data), biggest loss first."""
    row = _unit_row(frame, unit_code)
    rows = [{"component": code, "group": COMPONENT_GROUPS[code], "share": row[f"share_{code}"],
             "points": row[f"pts_{code}"], "weight": config.weights[code],
             "saturation": config.saturation.get(code, 1.0),
             "lost": config.weights[code] - row[f"pts_{code}"]} for code in COMPONENTS]
    breakdown = pd.DataFrame(rows)
    return breakdown.sort_values("lost", ascending=False, na_position="last", kind="mergesort").reset_index(drop=True)


def not_computable_groups() -> tuple[str, ...]:
    """Return the 766 groups with no component computable from dossier facts."""
    return tuple(group for group in GROUPS if group not in COMPONENT_GROUPS.values())


def _unit_row(frame: pd.DataFrame, unit_code: str) -> pd.Series:
    matches = frame[frame["unit_code"] == str(unit_code)]
    if matches.empty:
        raise KeyError(f"Unit {unit_code!r} is not in the service-index frame; "
                       "it has no data for the period or is not in the province")
    return matches.iloc[0]


def _check_input(totals: pd.DataFrame) -> None:
    if not isinstance(totals, pd.DataFrame):
        raise TypeError(f"service_index_frame needs a DataFrame of period totals, got {type(totals).__name__}")
    required = ["unit_code", *INPUT_COLUMNS[:7]]
    missing = [c for c in required if c not in totals.columns]
    if missing:
        raise ValueError(f"Period totals lack columns {missing}; pass store.readers.period_totals(...) output "
                         "(columns of config.facts.PERIOD_COLUMNS plus unit_code)")
