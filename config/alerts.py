"""Alert thresholds for the leaders' overview: which KPI, how low, for how many days in a row.

The rules themselves are pure functions in kpis.alerts; this module only holds their numbers,
validated once at load time (settings.alerts, or IOC_ALERTS='{"threshold": 0.9}').
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Rates where "below the threshold" means falling behind (all run higher-is-better, 0..1).
THRESHOLD_KPIS = ("on_time_766", "on_time_bieu06", "online_share")


class AlertsConfig(BaseModel):
    """Numbers of the overview's alert rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    below_threshold_kpi: str = Field("on_time_766", description=f"daily rate watched; one of {', '.join(THRESHOLD_KPIS)}")
    threshold: float = Field(0.95, gt=0, le=1, description="a commune is behind on a day its rate is below this (0..1)")
    consecutive_days: int = Field(3, ge=1, le=90, description="days in a row below the threshold before alerting")
    nearly_due_hours: int = Field(24, ge=1, le=168, description="window of the nearly-due stock the sources report")
    max_items: int = Field(10, ge=1, le=200, description="entries listed per alert group (the rest are counted)")

    @field_validator("below_threshold_kpi")
    @classmethod
    def _known_kpi(cls, value: str) -> str:
        if value not in THRESHOLD_KPIS:
            raise ValueError(f"unknown KPI {value!r}; use one of: {', '.join(THRESHOLD_KPIS)}")
        return value
