"""Registry of the 34 provinces and 3,321 communes, wards and special zones (official codes).

Source: the PyPI package vietnamadminunits (MIT), table admin_units, whose codes follow
Quyết định 19/2025/QĐ-TTg. Each province also has a province-level unit whose code is the
two-digit province code, for dossiers handled by the province itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
from vietnamadminunits.database import query

from config.settings import ConfigError

UNIT_TYPES = {"Xã": "xa", "Phường": "phuong", "Đặc khu": "dac_khu"}
PROVINCE_LEVEL = "tinh"
UNIT_COLUMNS = ["code", "name", "short_name", "type", "level", "province_code", "province_name", "lat", "lon", "area_km2"]


class UnknownUnitError(ValueError):
    """A unit or province code that is not in the official registry."""


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    short_name: str
    lat: float
    lon: float
    commune_count: int


@lru_cache(maxsize=1)
def _admin_units() -> pd.DataFrame:
    rows = query(
        "SELECT provinceCode, province, provinceShort, provinceLat, provinceLon, wardCode, ward, "
        "wardShort, wardType, wardLat, wardLon, wardAreaKm2 FROM admin_units"
    )
    return pd.DataFrame(rows)


@lru_cache(maxsize=1)
def provinces() -> dict[str, Province]:
    """All 34 provinces keyed by their two-digit code."""
    frame = _admin_units()
    grouped = frame.groupby("provinceCode", sort=True)
    return {
        code: Province(code, g.province.iloc[0], g.provinceShort.iloc[0], float(g.provinceLat.iloc[0]),
                       float(g.provinceLon.iloc[0]), len(g))
        for code, g in grouped
    }


@lru_cache(maxsize=1)
def all_units() -> pd.DataFrame:
    """Every commune-level unit plus one province-level unit per province, columns UNIT_COLUMNS."""
    frame = _admin_units()
    communes = pd.DataFrame({
        "code": frame.wardCode,
        "name": frame.ward,
        "short_name": frame.wardShort,
        "type": frame.wardType.map(UNIT_TYPES),
        "level": "xa",
        "province_code": frame.provinceCode,
        "province_name": frame.province,
        "lat": frame.wardLat.astype(float),
        "lon": frame.wardLon.astype(float),
        "area_km2": frame.wardAreaKm2.astype(float),
    })
    if communes["type"].isna().any():
        raise RuntimeError("vietnamadminunits returned a unit type this registry does not know")
    areas = communes.groupby("province_code").area_km2.sum()
    province_rows = pd.DataFrame([
        {"code": p.code, "name": p.name, "short_name": p.short_name, "type": PROVINCE_LEVEL,
         "level": PROVINCE_LEVEL, "province_code": p.code, "province_name": p.name,
         "lat": p.lat, "lon": p.lon, "area_km2": float(areas[p.code])}
        for p in provinces().values()
    ])
    units = pd.concat([province_rows, communes], ignore_index=True)
    return units.sort_values(["province_code", "level", "code"], ignore_index=True)[UNIT_COLUMNS]


def province(code: str) -> Province:
    """The province with this code, or UnknownUnitError listing the allowed codes."""
    found = provinces().get(str(code).zfill(2))
    if found is None:
        allowed = ", ".join(f"{p.code} {p.short_name}" for p in provinces().values())
        raise UnknownUnitError(f"Unknown province code {code!r}. Allowed codes: {allowed}")
    return found


def check_province(code: str) -> Province:
    """Like province(), but as a ConfigError for start-up."""
    try:
        return province(code)
    except UnknownUnitError as err:
        raise ConfigError(f"Setting province_code / IOC_PROVINCE_CODE: {err}") from None


def communes(province_code: str | None = None) -> pd.DataFrame:
    """Commune-level units (xã, phường, đặc khu), of one province or of the whole country."""
    units = all_units()
    units = units[units.level == "xa"]
    if province_code is not None:
        units = units[units.province_code == province(province_code).code]
    return units.reset_index(drop=True)


def units(province_code: str | None = None) -> pd.DataFrame:
    """Commune-level units plus the province-level unit(s)."""
    frame = all_units()
    if province_code is not None:
        frame = frame[frame.province_code == province(province_code).code]
    return frame.reset_index(drop=True)


@lru_cache(maxsize=1)
def _unit_index() -> dict[str, str]:
    frame = all_units()
    return dict(zip(frame.code, frame.province_code))


def is_known_unit(code: str) -> bool:
    return code in _unit_index()


def province_of(unit_code: str) -> str:
    """Province code of a unit, or UnknownUnitError."""
    try:
        return _unit_index()[unit_code]
    except KeyError:
        raise UnknownUnitError(f"Unknown unit code {unit_code!r}: not in the official registry (QĐ 19/2025/QĐ-TTg)") from None
