"""Reading boundaries files, checking their codes, and the approximate (Voronoi) fallback."""
from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely

from geo import registry
from geo.boundaries import BoundaryFileError, approximate_cells, normalise_code, read_boundaries, validate_codes
from tests.geo.conftest import squares


@pytest.mark.parametrize(("raw", "expected"), [
    (4, "00004"), (25195, "25195"), (25195.0, "25195"), ("7210", "07210"), (" 07210 ", "07210"),
    ("25195.0", "25195"), ("HN-01", "HN-01"), (None, None), (float("nan"), None), ("  ", None),
])
def test_normalise_code_restores_leading_zeros(raw, expected):
    assert normalise_code(raw) == expected


def test_real_geojson_reads_with_string_codes(wards_dir):
    frame = read_boundaries(wards_dir / "75.geojson", "ward_code")
    assert list(frame.columns) == ["code", "name", "geometry"]
    assert len(frame) == 95
    assert frame.crs.to_epsg() == 4326
    assert set(frame.code) == set(registry.communes("75").code)
    assert frame.geometry.is_valid.all()


def test_geopackage_in_a_projected_crs_is_returned_in_lon_lat(tmp_path):
    source = squares("75", 3)
    path = tmp_path / "communes.gpkg"
    source.to_crs("EPSG:32648").to_file(path, driver="GPKG")
    frame = read_boundaries(path, "ward_code")
    assert frame.crs.to_epsg() == 4326
    assert frame.code.tolist() == source.ward_code.tolist()
    for got, want in zip(frame.total_bounds, source.total_bounds):
        assert got == pytest.approx(want, abs=1e-6)


def test_shapefile_with_numeric_codes_gets_zero_padded_codes(tmp_path):
    source = squares("01", 3)  # Hà Nội: 00004, 00008, 00025 lose their zeros as integers
    source["ward_code"] = source.ward_code.astype(int)
    path = tmp_path / "communes.shp"
    source.to_file(path)
    frame = read_boundaries(path, "ward_code")
    assert frame.code.tolist() == ["00004", "00008", "00025"]
    assert frame.name.tolist() == ["Phường Ba Đình", "Phường Ngọc Hà", "Phường Giảng Võ"]


@pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning")
def test_shapefile_without_projection_file(tmp_path):
    lon_lat = tmp_path / "lonlat.shp"
    squares("75", 2).set_crs(None, allow_override=True).to_file(lon_lat)
    assert read_boundaries(lon_lat, "ward_code").crs.to_epsg() == 4326
    metres = tmp_path / "metres.shp"
    squares("75", 2).to_crs("EPSG:32648").set_crs(None, allow_override=True).to_file(metres)
    with pytest.raises(BoundaryFileError, match="declares no coordinate system.*add the .prj"):
        read_boundaries(metres, "ward_code")


def test_missing_file_says_which_setting_to_fix(tmp_path):
    with pytest.raises(BoundaryFileError, match=r"nope\.geojson does not exist; set boundaries_path"):
        read_boundaries(tmp_path / "nope.geojson", "ward_code")


def test_unsupported_suffix_lists_the_supported_ones(tmp_path):
    path = tmp_path / "communes.csv"
    path.write_text("ward_code\n25195\n")
    with pytest.raises(BoundaryFileError, match=r"suffix '\.csv'; supported: \.geojson, \.json, \.gpkg, \.shp"):
        read_boundaries(path, "ward_code")


def test_unreadable_file_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [')
    with pytest.raises(BoundaryFileError, match=r"Cannot read boundaries file .*broken\.geojson as GEOJSON"):
        read_boundaries(path, "ward_code")


def test_missing_code_column_lists_the_columns_the_file_has(tmp_path):
    path = tmp_path / "communes.geojson"
    squares("75", 2).rename(columns={"ward_code": "ma_xa"}).to_file(path)
    with pytest.raises(BoundaryFileError) as caught:
        read_boundaries(path, "ward_code")
    message = str(caught.value)
    assert "has no column 'ward_code'" in message
    assert "IOC_BOUNDARIES_CODE_COLUMN" in message
    assert message.endswith("its columns are: ma_xa, name")


def test_empty_file_is_an_error(tmp_path):
    path = tmp_path / "empty.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(BoundaryFileError, match="has no features"):
        read_boundaries(path, "ward_code")


def test_point_file_is_rejected(tmp_path):
    path = tmp_path / "points.geojson"
    units = registry.communes("75").head(2)
    gpd.GeoDataFrame({"ward_code": units.code}, geometry=gpd.points_from_xy(units.lon, units.lat),
                     crs="EPSG:4326").to_file(path)
    with pytest.raises(BoundaryFileError, match="holds Point geometries; communes must be polygons"):
        read_boundaries(path, "ward_code")


def test_invalid_geometry_is_repaired_and_duplicate_codes_merged(tmp_path):
    bow_tie = {"type": "Polygon", "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]}
    square = {"type": "Polygon", "coordinates": [[[5, 5], [6, 5], [6, 6], [5, 6], [5, 5]]]}
    features = [
        {"type": "Feature", "properties": {"ward_code": "25195"}, "geometry": bow_tie},
        {"type": "Feature", "properties": {"ward_code": "25210"}, "geometry": square},
        {"type": "Feature", "properties": {"ward_code": 25210}, "geometry": shapely.geometry.mapping(
            shapely.box(7, 7, 8, 8))},
    ]
    path = tmp_path / "messy.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    frame = read_boundaries(path, "ward_code").set_index("code")
    assert frame.geometry.is_valid.all()
    assert frame.geometry["25195"].area == pytest.approx(2.0)  # two triangles of area 1
    assert frame.geometry["25210"].geom_type == "MultiPolygon"
    assert frame.geometry["25210"].area == pytest.approx(2.0)


def test_validate_codes_reports_unknown_foreign_and_missing_codes():
    frame = squares("75", 5).rename(columns={"ward_code": "code"})
    replaced = frame.code.iloc[0]
    frame.loc[0, "code"] = "99999"
    frame.loc[len(frame)] = ["07210", "Phường Bắc Giang", shapely.box(106, 21, 106.01, 21.01)]
    report = validate_codes(frame, "75")
    assert len(report.matched) == 4
    assert report.unknown_codes == ("07210", "99999")
    assert report.foreign_codes == ("07210",)
    assert len(report.missing_units) == 91 and replaced in report.missing_units
    assert not report.ok
    assert "2 codes in the file are not units of this province (1 belong to other provinces): 07210, 99999" \
        in report.summary()


def test_real_quang_ninh_file_has_one_code_unlike_the_registry(wards_dir):
    # SOURCE.md: 3,320 of 3,321 codes agree; the odd one is in Quảng Ninh.
    report = validate_codes(read_boundaries(wards_dir / "22.geojson", "ward_code"), "22")
    assert (len(report.matched), report.unknown_codes, report.missing_units) == (53, ("06978",), ("06970",))


@pytest.mark.parametrize("province_code", ["75", "24", "56", "91"])
def test_approximate_cells_cover_every_centroid_without_overlap(province_code):
    cells = approximate_cells(province_code)
    units = registry.communes(province_code)
    assert cells.code.tolist() == units.code.tolist()
    assert not cells.geometry.is_empty.any()
    assert set(cells.geom_type) <= {"Polygon", "MultiPolygon"}
    centroids = gpd.points_from_xy(units.lon, units.lat)
    assert all(cell.covers(point) for cell, point in zip(cells.geometry, centroids))
    metric = cells.to_crs(cells.estimate_utm_crs())
    union = shapely.union_all(metric.geometry.values)
    assert metric.area.sum() == pytest.approx(union.area, rel=1e-9)  # cells do not overlap
    # Province-shaped: close to the official area (Trường Sa, far out at sea, stays a small island).
    assert 0.7 < union.area / 1e6 / units.area_km2.sum() < 1.4


def test_approximate_area_looks_like_a_province_not_a_rectangle():
    cells = approximate_cells("75").to_crs("EPSG:32648")
    outline = shapely.union_all(cells.geometry.values)
    assert outline.geom_type == "Polygon" and not outline.interiors
    min_x, min_y, max_x, max_y = outline.bounds
    assert outline.area / ((max_x - min_x) * (max_y - min_y)) < 0.75
    assert len(cells) == 95
