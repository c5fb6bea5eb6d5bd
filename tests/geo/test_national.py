"""The national map: 34 province outlines, approximate or from a file, within the web budget."""
from __future__ import annotations

import json

from geo import registry
from geo.national import MAX_WEB_BYTES, NATION, build_national_geometry


def test_approximate_outlines_cover_every_province_within_budget(tmp_path):
    geometry = build_national_geometry(tmp_path)
    payload = geometry.path.read_bytes()
    features = json.loads(payload)["features"]
    assert geometry.province_code == NATION and geometry.approximate and "xấp xỉ" in geometry.attribution
    assert [f["id"] for f in features] == sorted(registry.provinces())
    assert features[0]["properties"]["name"] == registry.province(features[0]["id"]).name
    assert len(payload) <= MAX_WEB_BYTES
    assert build_national_geometry(tmp_path).path == geometry.path   # cached, not rebuilt


def test_a_provinces_file_is_read_by_its_code_column(tmp_path):
    square = lambda x, y: {"type": "Polygon", "coordinates": [[[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]]}  # noqa: E731
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"province_code": 1}, "geometry": square(105, 21)},
        {"type": "Feature", "properties": {"province_code": "75"}, "geometry": square(106, 11)},
        {"type": "Feature", "properties": {"province_code": 75}, "geometry": square(108, 11)},   # a second piece
        {"type": "Feature", "properties": {"province_code": 99}, "geometry": square(100, 10)},   # unknown: left out
    ]}
    source = tmp_path / "provinces.geojson"
    source.write_text(json.dumps(collection), encoding="utf-8")
    geometry = build_national_geometry(tmp_path / "cache", source, "province_code", "Nguồn: thử")
    features = json.loads(geometry.path.read_bytes())["features"]
    assert not geometry.approximate and geometry.attribution == "Nguồn: thử"
    assert [f["id"] for f in features] == ["01", "75"]
    assert features[1]["geometry"]["type"] == "MultiPolygon"
