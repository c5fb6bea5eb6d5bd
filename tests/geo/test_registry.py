"""The official registry the maps are checked against."""
from __future__ import annotations

from geo import registry


def test_registry_counts_match_the_2025_reorganisation():
    assert len(registry.provinces()) == 34
    assert len(registry.communes()) == 3321
    assert len(registry.communes("75")) == 95   # Đồng Nai (KPI.md: 95 communes)
    assert len(registry.communes("24")) == 99   # Bắc Ninh (KPI.md: 99 communes)
    assert registry.province("75").commune_count == 95


def test_registry_codes_are_unique_five_digit_strings_with_known_types():
    communes = registry.communes()
    assert communes.code.is_unique
    assert communes.code.str.fullmatch(r"\d{5}").all()
    assert set(communes.type) == {"xa", "phuong", "dac_khu"}
    assert set(communes.level) == {"xa"}


def test_province_level_unit_is_listed_with_the_communes():
    units = registry.units("75")
    assert len(units) == 96
    province_row = units[units.level == "tinh"]
    assert province_row.code.tolist() == ["75"]
    assert registry.province_of("25195") == "75"
