"""System-health configuration: the systems to watch, commune URL templates, probe recipes, thresholds.

Recipes (how to check) are separate from targets (what to check). Validated once, at load time:
an unknown recipe or probe kind is rejected with a message saying what to write instead.
"""
from __future__ import annotations

from typing import Any, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from config.errors import ConfigError

PROBE_KINDS = ("http", "tcp")

# code -> (Vietnamese name, English name, key system?). The five key systems every commune works on,
# then the systems watched only where configured.
SYSTEM_CATALOG: dict[str, tuple[str, str, bool]] = {
    "tthc": ("Hệ thống thông tin giải quyết TTHC", "TTHC resolution system", True),
    "qlvb": ("Quản lý văn bản và điều hành", "Document management and operation", True),
    "hop_truc_tuyen": ("Hội nghị trực tuyến", "Online meetings", True),
    "lgsp": ("Nền tảng tích hợp, chia sẻ dữ liệu (LGSP)", "Data integration platform (LGSP)", True),
    "bao_cao": ("Hệ thống thông tin báo cáo", "Reporting information system", True),
    "dvc": ("Cổng dịch vụ công", "Public-service portal", False),
    "email": ("Thư điện tử công vụ", "Official e-mail", False),
    "ky_so": ("Chữ ký số", "Digital signature", False),
}
KEY_SYSTEMS = tuple(code for code, (_, _, key) in SYSTEM_CATALOG.items() if key)
# Per-commune targets: code -> (Vietnamese name, English name).
COMMUNE_SYSTEMS: dict[str, tuple[str, str]] = {
    "mot_cua_xa": ("Bộ phận Một cửa xã", "Commune one-stop desk"),
    "cong_ttdt_xa": ("Cổng thông tin điện tử xã", "Commune e-information portal"),
}
TEMPLATE_FIELDS = ("code", "slug", "province_code")


class RecipeConfig(BaseModel):
    """How to check: a probe kind and what counts as success (see collectors.base_probe.Recipe)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: str = "http"
    method: str = "GET"
    valid_status_codes: tuple[int, ...] = ()
    body_keyword: str | None = None
    json_path: str | None = None
    json_expected: str | None = None
    timeout_s: float = Field(10.0, gt=0, le=300)
    tls_verify: bool = True
    ca_file: str | None = None
    cert_min_days: float | None = None
    headers: tuple[tuple[str, str], ...] = ()

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in PROBE_KINDS:
            raise ValueError(f"unknown probe kind {value!r}; write one of: {', '.join(PROBE_KINDS)}")
        return value


DEFAULT_RECIPES: dict[str, RecipeConfig] = {
    "http_2xx": RecipeConfig(kind="http"),
    "tcp_connect": RecipeConfig(kind="tcp"),
}


class SystemConfig(BaseModel):
    """One provincial system: its health URL, recipe, interval and optional metrics URL for gauges."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    url: str
    recipe: str = "http_2xx"
    interval_s: float = Field(60.0, ge=1, le=86_400)
    metrics_url: str | None = None
    gauges: dict[str, str] = Field(default_factory=dict, description="gauge name -> JSON path in the metrics document")
    name: str | None = None                      # overrides the catalogue's Vietnamese name


class CommuneTemplate(BaseModel):
    """Per-commune targets of one kind, generated from a URL template over the registry."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    url_template: str                            # placeholders: {code}, {slug}, {province_code}
    recipe: str = "http_2xx"
    interval_s: float = Field(60.0, ge=1, le=86_400)

    @field_validator("url_template")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        try:
            value.format(**{name: "x" for name in TEMPLATE_FIELDS})
        except (KeyError, IndexError, ValueError) as err:
            raise ValueError(f"template {value!r} uses an unknown placeholder ({err}); "
                             f"use only {{{'}, {'.join(TEMPLATE_FIELDS)}}}") from None
        return value


class HealthConfig(BaseModel):
    """Everything the probe scheduler is told."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    systems: dict[str, SystemConfig] = Field(default_factory=dict)
    communes: dict[str, CommuneTemplate] = Field(default_factory=dict)
    recipes: dict[str, RecipeConfig] = Field(default_factory=dict)
    max_concurrency: int = Field(500, ge=1, le=5000)
    jitter: bool = True
    incident_open_after: int = Field(3, ge=1, description="consecutive failures that open an incident")
    incident_close_after: int = Field(2, ge=1, description="consecutive successes that close it")
    raw_retention_days: int = Field(14, ge=1)
    rollup_retention_days: int = Field(730, ge=1)
    slow_ms: float = Field(3000.0, gt=0, description="a success slower than this shows amber")
    cert_warn_days: float = Field(14.0, ge=0, description="a certificate expiring sooner shows amber")

    @field_validator("systems")
    @classmethod
    def _known_systems(cls, value: dict[str, SystemConfig]) -> dict[str, SystemConfig]:
        unknown = sorted(set(value) - set(SYSTEM_CATALOG))
        if unknown:
            raise ValueError(f"unknown system(s) {unknown}; use codes from: {', '.join(SYSTEM_CATALOG)}")
        missing = [code for code in KEY_SYSTEMS if code not in value]
        if value and missing:
            raise ValueError(f"the five key systems must all be configured; add url for: {', '.join(missing)}")
        return value

    @field_validator("communes")
    @classmethod
    def _known_commune_kinds(cls, value: dict[str, CommuneTemplate]) -> dict[str, CommuneTemplate]:
        unknown = sorted(set(value) - set(COMMUNE_SYSTEMS))
        if unknown:
            raise ValueError(f"unknown commune target kind(s) {unknown}; use: {', '.join(COMMUNE_SYSTEMS)}")
        return value

    @model_validator(mode="after")
    def _recipes_exist(self) -> "HealthConfig":
        known = self.all_recipes()
        used = [(code, s.recipe) for code, s in self.systems.items()]
        used += [(code, t.recipe) for code, t in self.communes.items()]
        for code, recipe in used:
            if recipe not in known:
                raise ValueError(f"{code} uses unknown recipe {recipe!r}; define it under recipes or use one of: "
                                 f"{', '.join(sorted(known))}")
        return self

    def all_recipes(self) -> dict[str, RecipeConfig]:
        """Built-in recipes overlaid with configured ones."""
        return {**DEFAULT_RECIPES, **self.recipes}

    def system_name(self, code: str) -> str:
        """The Vietnamese display name of a system or commune target kind."""
        if code in self.systems and self.systems[code].name:
            return self.systems[code].name  # type: ignore[return-value]
        if code in SYSTEM_CATALOG:
            return SYSTEM_CATALOG[code][0]
        return COMMUNE_SYSTEMS.get(code, (code,))[0]


def load_health_config(data: Mapping[str, Any] | None = None) -> HealthConfig:
    """Validate a health section (e.g. parsed from YAML/TOML); raise ConfigError saying what to fix."""
    try:
        return HealthConfig(**(data or {}))
    except ValidationError as err:
        lines = [f"health.{'.'.join(map(str, p['loc']))}: {p['msg'].removeprefix('Value error, ')}"
                 for p in err.errors()]
        raise ConfigError("Invalid health configuration:\n  " + "\n  ".join(lines)) from None
