"""Fixtures for geo tests: the real ward boundaries (outside the repository) and small synthetic files."""
from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from geo import registry

REPO = Path(__file__).resolve().parents[2]


def boundaries_dir() -> Path | None:
    """The folder of real <province>.geojson ward files, or None when this machine has none."""
    configured = os.environ.get("IOC_TEST_BOUNDARIES_DIR")
    candidates = [Path(configured)] if configured else []
    candidates.append(REPO.parent / "shared" / "geo" / "wards")
    return next((path for path in candidates if (path / "75.geojson").is_file()), None)


@pytest.fixture
def wards_dir() -> Path:
    """Real ward boundaries; the test is skipped, saying why, when they are not on this machine."""
    found = boundaries_dir()
    if found is None:
        pytest.skip("real ward boundaries not found: set IOC_TEST_BOUNDARIES_DIR to a folder of "
                    "<province>.geojson files, or place them at <repo>/../shared/geo/wards")
    return found


def squares(province_code: str, count: int, half_side: float = 0.005) -> gpd.GeoDataFrame:
    """Small squares around the first `count` commune centroids of a province, columns ward_code, name."""
    units = registry.communes(province_code).head(count)
    boxes = [shapely.box(x - half_side, y - half_side, x + half_side, y + half_side)
             for x, y in zip(units.lon, units.lat)]
    return gpd.GeoDataFrame({"ward_code": units.code.tolist(), "name": units.name.tolist()},
                            geometry=boxes, crs="EPSG:4326")
