"""Service-index configuration (Decision 766/QĐ-TTg groups, KPI.md §2): weights, thresholds, grades.

The component formulas are reconstructed from the national portal (not legal text), and the grade
cut-offs are NOT confirmed: every number here is configuration, validated once at load time.

Default grade bands (UNCONFIRMED, on the normalised 0-100 score): Xuất sắc >= 90, Tốt >= 80,
Khá >= 65, Trung bình >= 50, Yếu below 50.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# The six 766 groups and their official points (confirmed; KPI.md §2).
GROUPS: dict[str, tuple[str, str, float]] = {
    "CKMB": ("Công khai, minh bạch", "Transparency", 18.0),
    "TDGQ": ("Tiến độ, kết quả giải quyết", "Progress and results", 20.0),
    "CLGQ": ("Dịch vụ công trực tuyến", "Online services", 12.0),
    "TTTT": ("Thanh toán trực tuyến", "Online payment", 10.0),
    "MDHL": ("Mức độ hài lòng", "Satisfaction", 18.0),
    "MDSH": ("Số hóa hồ sơ", "Digitisation", 22.0),
}
# Components computable from collected dossier facts: code -> group.
COMPONENT_GROUPS: dict[str, str] = {
    "tdgq_on_time": "TDGQ",
    "clgq_online": "CLGQ",
    "tttt_paid": "TTTT",
    "mdsh_digitised": "MDSH",
    "mdsh_e_result": "MDSH",
    "mdhl_satisfied": "MDHL",
}
DEFAULT_WEIGHTS = {"tdgq_on_time": 20.0, "clgq_online": 6.0, "tttt_paid": 6.0,
                   "mdsh_digitised": 4.0, "mdsh_e_result": 6.0, "mdhl_satisfied": 6.0}
# A share at or above its saturation earns the full weight (min(1, share / saturation)).
DEFAULT_SATURATION = {"clgq_online": 0.50, "mdsh_digitised": 0.80, "mdhl_satisfied": 0.90}
MISSING_RULES = ("renormalise", "require_all", "zero")


class GradeBand(BaseModel):
    """One grade: the lowest normalised score (0-100) that earns it, and its labels."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str
    min_score: float = Field(ge=0, le=100)
    label_vi: str
    label_en: str


DEFAULT_BANDS = (
    GradeBand(code="xuat_sac", min_score=90, label_vi="Xuất sắc", label_en="Excellent"),
    GradeBand(code="tot", min_score=80, label_vi="Tốt", label_en="Good"),
    GradeBand(code="kha", min_score=65, label_vi="Khá", label_en="Fair"),
    GradeBand(code="trung_binh", min_score=50, label_vi="Trung bình", label_en="Average"),
    GradeBand(code="yeu", min_score=0, label_vi="Yếu", label_en="Weak"),
)


class ServiceIndexConfig(BaseModel):
    """Weights, saturation thresholds, grade bands and the missing-data rule of the service index.

    missing_data: how a unit's score treats a component without data (always shown as "no data"):
    "renormalise" scores it out of the components it has (default), "require_all" gives no score
    unless every component has data, "zero" counts the component as zero points.
    Grade bands are UNCONFIRMED defaults; the raw points are always shown next to the grade.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    saturation: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_SATURATION))
    grade_bands: tuple[GradeBand, ...] = DEFAULT_BANDS
    missing_data: Literal["renormalise", "require_all", "zero"] = "renormalise"
    min_components: int = Field(1, ge=1, description="fewest components with data for a unit to get a score")

    @field_validator("weights")
    @classmethod
    def _known_weights(cls, value: dict[str, float]) -> dict[str, float]:
        _check_codes(value, "weights")
        for code, weight in value.items():
            group = COMPONENT_GROUPS[code]
            if not 0 <= weight <= GROUPS[group][2]:
                raise ValueError(f"weight of {code} must be between 0 and {GROUPS[group][2]:g} "
                                 f"(the {group} group's points), got {weight}")
        return {**DEFAULT_WEIGHTS, **value}

    @field_validator("saturation")
    @classmethod
    def _known_saturation(cls, value: dict[str, float]) -> dict[str, float]:
        _check_codes(value, "saturation")
        bad = {code: share for code, share in value.items() if not 0 < share <= 1}
        if bad:
            raise ValueError(f"saturation shares must be in (0, 1], got {bad}; write e.g. 0.5 for 50%")
        return {**DEFAULT_SATURATION, **value}

    @field_validator("grade_bands")
    @classmethod
    def _ordered_bands(cls, value: tuple[GradeBand, ...]) -> tuple[GradeBand, ...]:
        if not value:
            raise ValueError("give at least one grade band, the lowest with min_score 0")
        ordered = tuple(sorted(value, key=lambda band: band.min_score, reverse=True))
        if ordered[-1].min_score != 0:
            raise ValueError("the lowest grade band must have min_score 0 so every score gets a grade")
        if len({band.min_score for band in value}) != len(value):
            raise ValueError("grade bands must have distinct min_score values")
        return ordered

    @model_validator(mode="after")
    def _enough_components(self) -> "ServiceIndexConfig":
        if self.min_components > len(COMPONENT_GROUPS):
            raise ValueError(f"min_components cannot exceed the {len(COMPONENT_GROUPS)} supported components")
        return self

    def max_points(self) -> float:
        """Points available from all supported components (the 766 index is out of 100)."""
        return float(sum(self.weights.values()))

    def grade(self, score: float) -> GradeBand | None:
        """The band a normalised score (0-100) falls in; None for no score."""
        if score is None or score != score:
            return None
        return next(band for band in self.grade_bands if score >= band.min_score)


def _check_codes(value: dict[str, float], name: str) -> None:
    unknown = sorted(set(value) - set(COMPONENT_GROUPS))
    if unknown:
        raise ValueError(f"unknown component(s) {unknown} in {name}; use: {', '.join(COMPONENT_GROUPS)}")
