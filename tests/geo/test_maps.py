"""Web map geometry: built once per source, small, keyed by unit code, reused from disk."""
from __future__ import annotations

import json
import logging
import os
import shutil

import pytest
import shapely

from geo import registry
from geo.boundaries import BoundaryFileError, approximate_cells
from geo.maps import (
    APPROXIMATE_LABEL,
    MAX_WEB_BYTES,
    build_map_geometry,
    geometry_bounds,
    reset_process_cache,
)

CREDIT = "Ranh giới hành chính: sapnhap.bando.com.vn"


@pytest.fixture(autouse=True)
def _fresh_process_cache():
    reset_process_cache()
    yield
    reset_process_cache()


def _features(path):
    return json.loads(path.read_text(encoding="utf-8"))["features"]


@pytest.mark.parametrize(("province_code", "communes"), [("75", 95), ("24", 99)])
def test_real_boundaries_give_one_small_feature_per_commune(wards_dir, tmp_path, province_code, communes):
    result = build_map_geometry(province_code, tmp_path, wards_dir / f"{province_code}.geojson",
                                attribution=CREDIT)
    assert (result.province_code, result.approximate, result.feature_count) == (province_code, False, communes)
    assert len(result.report.matched) == communes
    assert result.report.unknown_codes == () and result.report.missing_units == ()
    assert result.attribution == CREDIT
    assert result.path.parent == tmp_path / "geo" and result.path.name.startswith(f"{province_code}-")
    assert result.path.stat().st_size <= MAX_WEB_BYTES == 300 * 1024
    features = _features(result.path)
    names = registry.communes(province_code).set_index("code").name
    assert [f["id"] for f in features] == sorted(names.index)
    assert all(f["properties"] == {"code": f["id"], "name": names[f["id"]]} for f in features)
    assert all(shapely.geometry.shape(f["geometry"]).is_valid for f in features)


def test_coordinates_are_rounded_to_four_decimals(wards_dir, tmp_path):
    result = build_map_geometry("75", tmp_path, wards_dir / "75.geojson")
    coordinates = shapely.get_coordinates([shapely.geometry.shape(f["geometry"]) for f in _features(result.path)])
    assert (abs(coordinates * 10_000 - (coordinates * 10_000).round()) < 1e-6).all()


def test_second_build_reuses_the_file_on_disk(wards_dir, tmp_path):
    source = tmp_path / "src" / "75.geojson"
    source.parent.mkdir()
    shutil.copy(wards_dir / "75.geojson", source)
    first = build_map_geometry("75", tmp_path, source)
    written = first.path.stat().st_mtime_ns
    assert build_map_geometry("75", tmp_path, source) is first       # same process: no work at all
    reset_process_cache()                                             # a new process: reads the cache
    second = build_map_geometry("75", tmp_path, source)
    assert second == first
    assert second.path.stat().st_mtime_ns == written


def test_changed_source_builds_a_new_file_and_removes_the_old(wards_dir, tmp_path):
    source = tmp_path / "75.geojson"
    shutil.copy(wards_dir / "75.geojson", source)
    first = build_map_geometry("75", tmp_path, source)
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # an edited file, one second later
    second = build_map_geometry("75", tmp_path, source)
    assert second.path != first.path
    assert second.path.exists() and not first.path.exists()


def test_unmatched_codes_are_reported_once_and_left_off_the_map(tmp_path, caplog):
    cells = approximate_cells("75").rename(columns={"code": "ward_code"})
    dropped = cells.ward_code.iloc[0]
    cells.loc[0, "ward_code"] = "99999"
    path = tmp_path / "bad.geojson"
    cells.to_file(path)
    with caplog.at_level(logging.INFO, logger="geo.maps"):
        result = build_map_geometry("75", tmp_path, path)
        build_map_geometry("75", tmp_path, path)
    assert result.feature_count == 94
    assert (result.report.unknown_codes, result.report.missing_units) == (("99999",), (dropped,))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"Boundaries: province 75: 94 units matched; 1 codes in the file are not units of this "
                        f"province (0 belong to other provinces): 99999; 1 units have no boundary: {dropped}"]
    assert "99999" not in {f["id"] for f in _features(result.path)}


def test_without_boundaries_the_map_is_approximate_and_labelled(tmp_path):
    result = build_map_geometry("75", tmp_path)
    assert (result.approximate, result.feature_count, result.report) == (True, 95, None)
    assert result.attribution.startswith(APPROXIMATE_LABEL)
    features = _features(result.path)
    assert len(features) == 95 and all(not shapely.geometry.shape(f["geometry"]).is_empty for f in features)
    assert result.path.stat().st_size <= MAX_WEB_BYTES
    # Both sources can live side by side: switching configuration back and forth rebuilds nothing.
    assert build_map_geometry("75", tmp_path, attribution="x").path == result.path


def test_geometry_bounds_contain_every_centroid(tmp_path):
    result = build_map_geometry("24", tmp_path)
    lon_min, lat_min, lon_max, lat_max = geometry_bounds(result.path)
    units = registry.communes("24")
    assert lon_min < units.lon.min() and units.lon.max() < lon_max
    assert lat_min < units.lat.min() and units.lat.max() < lat_max
    assert lon_max - lon_min < 2 and lat_max - lat_min < 2
    result.path.with_suffix(".meta.json").unlink()  # without the sidecar it reads the GeoJSON itself
    assert geometry_bounds(result.path) == pytest.approx((lon_min, lat_min, lon_max, lat_max))


def test_unknown_province_is_rejected(tmp_path):
    with pytest.raises(registry.UnknownUnitError, match="Unknown province code '99'"):
        build_map_geometry("99", tmp_path)


def test_missing_boundaries_file_is_a_clear_error(tmp_path):
    with pytest.raises(BoundaryFileError, match="does not exist; set boundaries_path / IOC_BOUNDARIES_PATH"):
        build_map_geometry("75", tmp_path, tmp_path / "missing.gpkg")
