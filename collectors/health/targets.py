"""Targets from configuration: the province's systems plus per-commune endpoints from URL templates."""
from __future__ import annotations

import dataclasses
import unicodedata

import pandas as pd

from collectors.base_probe import Recipe, Target
from config.health import COMMUNE_SYSTEMS, HealthConfig


@dataclasses.dataclass(frozen=True)
class GaugeSpec:
    """Where a system publishes gauges: a JSON metrics URL and name -> JSON path."""

    system: str
    url: str
    paths: tuple[tuple[str, str], ...]
    interval_s: float = 60.0


def slugify(name: str) -> str:
    """ASCII slug of a Vietnamese name: 'Phước Tân' -> 'phuoc-tan'."""
    text = unicodedata.normalize("NFKD", name.replace("Đ", "D").replace("đ", "d"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return "-".join("".join(ch if ch.isalnum() else " " for ch in text).split())


def build_targets(config: HealthConfig, communes: pd.DataFrame | None = None) -> list[Target]:
    """Provincial system targets, then one target per commune and template (communes: code, short_name)."""
    targets = [Target(key=code, system=code, name=config.system_name(code), url=system.url,
                      recipe=system.recipe, interval_s=system.interval_s)
               for code, system in config.systems.items()]
    if communes is None or communes.empty:
        return targets
    for kind, template in config.communes.items():
        for code, short_name, province_code in communes[["code", "short_name", "province_code"]].itertuples(index=False):
            url = template.url_template.format(code=code, slug=slugify(short_name), province_code=province_code)
            targets.append(Target(key=f"{kind}:{code}", system=kind, name=f"{COMMUNE_SYSTEMS[kind][0]} {short_name}",
                                  url=url, recipe=template.recipe, interval_s=template.interval_s, unit_code=code))
    return targets


def build_gauges(config: HealthConfig) -> list[GaugeSpec]:
    """Gauge sources of the systems that have a metrics URL."""
    return [GaugeSpec(code, s.metrics_url, tuple(s.gauges.items()), s.interval_s)
            for code, s in config.systems.items() if s.metrics_url and s.gauges]


def build_recipes(config: HealthConfig) -> dict[str, Recipe]:
    """Probe recipes by name (built-ins overlaid with configured ones)."""
    return {name: Recipe(name=name, **rc.model_dump()) for name, rc in config.all_recipes().items()}


def system_rows(config: HealthConfig, targets: list[Target]) -> list[dict[str, str]]:
    """One row per system present among the targets, for the store's health_systems table."""
    seen: dict[str, dict[str, str]] = {}
    for target in targets:
        level = "xa" if target.unit_code else "tinh"
        seen.setdefault(target.system, {"code": target.system, "name": config.system_name(target.system),
                                        "level": level})
    return list(seen.values())
