"""The national map: one outline per province (34 features), simplified for the web and cached on disk.

From a provinces boundaries file when one is configured (settings.provinces_boundaries_path, codes in
settings.provinces_code_column, e.g. the `province_code` of /work/shared/geo/provinces.geojson), else
approximate outlines: the union of each province's approximate commune cells (geo.boundaries), said
to be approximate under the map. Same cache rules as geo.maps (the file name carries a hash of the
source), a budget of MAX_WEB_BYTES for the whole country.
"""
from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geo import registry
from geo.boundaries import WGS84, approximate_cells, check_boundaries_file
from geo.maps import (
    MapGeometry, _bounds, _read_meta, _rounded, _serialise, _simplified, _write_atomic, _write_meta, source_key,
)

log = logging.getLogger(__name__)

NATION = "VN"                        # the geometry's code (no province has it)
NATIONAL_GEOMETRY_VERSION = "1"
MAX_WEB_BYTES = 2 * 1024 * 1024      # the whole country, fetched once
SIMPLIFY_TOLERANCE_DEG = 0.002       # ~220 m, first try; doubled while over the budget
MAX_SIMPLIFY_ROUNDS = 6
APPROXIMATE_ATTRIBUTION = ("Ranh giới tỉnh xấp xỉ (hợp các ô Voronoi quanh tâm xã), không phải ranh giới hành chính "
                           "chính thức. Tâm và diện tích xã: gói vietnamadminunits (MIT), mã theo QĐ 19/2025/QĐ-TTg.")

_memo: dict[tuple[Path, str], MapGeometry] = {}
_lock = threading.Lock()


def build_national_geometry(cache_dir: Path, boundaries_path: Path | None = None,
                            code_column: str = "province_code", attribution: str = "") -> MapGeometry:
    """Return the cached web GeoJSON of the 34 province outlines (feature id = two-digit province code)."""
    target = _cache_path(Path(cache_dir), boundaries_path, code_column)
    with _lock:
        cached = _memo.get((target, attribution))
        if cached is None or not target.exists():
            cached = _load(target, attribution) or _build(target, boundaries_path, code_column, attribution)
            _memo[(target, attribution)] = cached
    return cached


def province_outlines(boundaries_path: Path | None = None, code_column: str = "province_code") -> gpd.GeoDataFrame:
    """code, name, geometry (WGS84) of every province found, in code order."""
    if boundaries_path is None:
        frame = _approximate_outlines()
    else:
        frame = _read_outlines(Path(boundaries_path), code_column)
    names = {code: p.name for code, p in registry.provinces().items()}
    frame = frame.assign(name=frame["code"].map(names))
    return frame.sort_values("code", ignore_index=True)


def _approximate_outlines() -> gpd.GeoDataFrame:
    # Each province's commune cells are computed in its own projection; their union is its outline.
    rows = [(code, shapely.union_all(approximate_cells(code).geometry.values)) for code in registry.provinces()]
    return gpd.GeoDataFrame({"code": [c for c, _ in rows]}, geometry=[g for _, g in rows], crs=WGS84)


def _read_outlines(path: Path, code_column: str) -> gpd.GeoDataFrame:
    frame = gpd.read_file(check_boundaries_file(path))
    if code_column not in frame.columns:
        raise ValueError(f"{path} has no column {code_column!r}; its columns: {', '.join(map(str, frame.columns))}")
    frame = frame.to_crs(WGS84) if frame.crs is not None else frame.set_crs(WGS84)
    codes = frame[code_column].map(_province_code)
    known = codes.isin(list(registry.provinces()))
    if (~known).any():
        log.warning("Provinces boundaries %s: %d feature(s) with unknown codes ignored: %s", path, int((~known).sum()),
                    ", ".join(map(str, frame.loc[~known, code_column].head(5))))
    frame = gpd.GeoDataFrame({"code": codes[known].to_numpy()}, geometry=frame.geometry[known].to_numpy(), crs=WGS84)
    frame = frame.dissolve(by="code", as_index=False)   # a province in several pieces becomes one feature
    missing = sorted(set(registry.provinces()) - set(frame["code"]))
    if missing:
        log.warning("Provinces boundaries %s: no outline for province(s) %s", path, ", ".join(missing))
    return frame


def _province_code(value) -> str | None:
    text = str(value).strip().split(".")[0]
    return text.zfill(2) if text.isdigit() else None


def _cache_path(cache_dir: Path, boundaries_path: Path | None, code_column: str) -> Path:
    key = f"{NATIONAL_GEOMETRY_VERSION}|{source_key(boundaries_path, code_column)}|{shapely.__version__}"
    return cache_dir / "geo" / f"{NATION}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.geojson"


def _build(target: Path, boundaries_path: Path | None, code_column: str, attribution: str) -> MapGeometry:
    frame = province_outlines(boundaries_path, code_column)
    payload = _web_payload(frame)
    _write_atomic(target, payload)
    approximate = boundaries_path is None
    result = MapGeometry(NATION, target, approximate, len(frame), None, _attribution(approximate, attribution))
    _write_meta(target, result, _bounds(payload), "approximate" if approximate else str(Path(boundaries_path)))
    log.info("Built the national map: %d provinces, %d bytes -> %s", len(frame), len(payload), target)
    return result


def _web_payload(frame: gpd.GeoDataFrame) -> bytes:
    tolerance = SIMPLIFY_TOLERANCE_DEG
    geometries = np.asarray(frame.geometry.values, dtype=object)
    for _ in range(MAX_SIMPLIFY_ROUNDS):
        payload = _serialise(frame["code"].tolist(), frame["name"].tolist(), _rounded(_simplified(geometries, tolerance)))
        if len(payload) <= MAX_WEB_BYTES:
            return payload
        tolerance *= 2
    log.warning("National map geometry is %d bytes (budget %d)", len(payload), MAX_WEB_BYTES)
    return payload


def _attribution(approximate: bool, configured: str) -> str:
    return f"{APPROXIMATE_ATTRIBUTION} {configured}".strip() if approximate else configured


def _load(target: Path, attribution: str) -> MapGeometry | None:
    meta = _read_meta(target.with_suffix(".meta.json"))
    if meta is None or not target.exists():
        return None
    return MapGeometry(NATION, target, meta["approximate"], meta["feature_count"], None,
                       _attribution(meta["approximate"], attribution))


__all__ = ["NATION", "MAX_WEB_BYTES", "build_national_geometry", "province_outlines"]
