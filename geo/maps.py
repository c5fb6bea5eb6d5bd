"""Web map geometry: one compact, simplified GeoJSON per province, built once and cached on disk.

The dashboard serves the cached file as a static asset and its callbacks send values keyed by unit
code, never geometry. The file name carries a hash of the source (path, size, mtime) and of this
code's version, so a changed boundaries file or a new simplification rule builds a new file.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geo import registry
from geo.boundaries import CodeReport, approximate_cells, check_boundaries_file, read_boundaries, validate_codes

log = logging.getLogger(__name__)

# Bump when the output of build_map_geometry changes for the same input (forces a rebuild).
GEOMETRY_VERSION = "1"
COORDINATE_DECIMALS = 4              # ~11 m: finer than a screen pixel at province zoom
SIMPLIFY_TOLERANCE_DEG = 0.0005      # ~55 m, the first try; doubled while over the size budget
MAX_WEB_BYTES = 300 * 1024           # DESIGN.md: <= 300 KB of map geometry per province
MAX_SIMPLIFY_ROUNDS = 6
APPROXIMATE_LABEL = "Ranh giới xấp xỉ (ô Voronoi quanh tâm xã), không phải ranh giới hành chính chính thức"
APPROXIMATE_ATTRIBUTION = (
    f"{APPROXIMATE_LABEL}. Tâm và diện tích xã: gói vietnamadminunits (MIT), mã theo QĐ 19/2025/QĐ-TTg."
)


@dataclass(frozen=True)
class MapGeometry:
    """A province's web GeoJSON on disk and what it holds."""

    province_code: str
    path: Path
    approximate: bool
    feature_count: int
    report: CodeReport | None
    attribution: str


_memo: dict[tuple[Path, str], MapGeometry] = {}
_lock = threading.Lock()


def build_map_geometry(province_code: str, cache_dir: Path, boundaries_path: Path | None = None,
                       code_column: str = "ward_code", attribution: str = "") -> MapGeometry:
    """Return the province's cached web GeoJSON, building it first if the source changed."""
    province = registry.province(province_code)
    target = _cache_path(province.code, Path(cache_dir), boundaries_path, code_column)
    with _lock:  # callers in several threads at start-up build once
        cached = _memo.get((target, attribution))
        if cached is None or not target.exists():
            cached = _load_cached(target, attribution) or _build(province.code, target, boundaries_path,
                                                                  code_column, attribution)
            _log_report(cached)
            _memo[(target, attribution)] = cached
    return cached


def reset_process_cache() -> None:
    """Forget results held in this process; the files on disk stay and are reused."""
    with _lock:
        _memo.clear()


def geometry_bounds(path: Path) -> tuple[float, float, float, float]:
    """(lon_min, lat_min, lon_max, lat_max) of a web GeoJSON, for centring figures."""
    meta = _read_meta(_meta_path(Path(path)))
    if meta and "bounds" in meta:
        return tuple(meta["bounds"])
    geometries = shapely.from_geojson(Path(path).read_text(encoding="utf-8"))
    return tuple(float(v) for v in shapely.bounds(geometries))


def _cache_path(province_code: str, cache_dir: Path, boundaries_path: Path | None, code_column: str) -> Path:
    key = f"{GEOMETRY_VERSION}|{province_code}|{source_key(boundaries_path, code_column)}|{shapely.__version__}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return cache_dir / "geo" / f"{province_code}-{digest}.geojson"


def source_key(boundaries_path: Path | None, code_column: str) -> str:
    """What a built geometry depends on: the boundaries file (path, size, mtime, sidecars) or the approximation."""
    if boundaries_path is None:
        return f"approximate|vietnamadminunits {_package_version('vietnamadminunits')}"
    path = Path(boundaries_path).resolve()
    stat = check_boundaries_file(path).stat()
    return f"{path}|{stat.st_size}|{stat.st_mtime_ns}|{code_column}" + "".join(_sidecar_stats(path))


def _sidecar_stats(path: Path) -> list[str]:
    # A Shapefile's attributes and projection live beside the .shp: editing them changes the map too.
    if path.suffix.lower() != ".shp":
        return []
    found = []
    for suffix in (".dbf", ".prj", ".shx"):
        sidecar = path.with_suffix(suffix)
        if sidecar.exists():
            stat = sidecar.stat()
            found.append(f"|{suffix}:{stat.st_size}:{stat.st_mtime_ns}")
    return found


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def _build(province_code: str, target: Path, boundaries_path: Path | None, code_column: str,
           attribution: str) -> MapGeometry:
    if boundaries_path is None:
        frame, report = approximate_cells(province_code), None
        attribution = f"{APPROXIMATE_ATTRIBUTION} {attribution}".strip()
    else:
        boundaries = read_boundaries(boundaries_path, code_column)
        report = validate_codes(boundaries, province_code)
        frame = boundaries[boundaries.code.isin(report.matched)]
    frame = _official_names(frame, province_code)
    payload = _web_feature_collection(frame)
    _write_atomic(target, payload)
    result = MapGeometry(province_code, target, boundaries_path is None, len(frame), report, attribution)
    source = "approximate" if boundaries_path is None else str(Path(boundaries_path).resolve())
    _write_meta(target, result, _bounds(payload), source)
    _remove_stale(target, source)
    log.info("Built map geometry for province %s: %d features, %d bytes -> %s",
             province_code, len(frame), len(payload), target)
    return result


def _official_names(frame: gpd.GeoDataFrame, province_code: str) -> gpd.GeoDataFrame:
    # Names on the map come from the registry, so they match every other page exactly.
    names = registry.communes(province_code).set_index("code").name
    frame = frame.assign(name=frame.code.map(names))
    return frame.sort_values("code", ignore_index=True)


def _web_feature_collection(frame: gpd.GeoDataFrame) -> bytes:
    """Simplify once, within the size budget, and serialise compactly."""
    tolerance = SIMPLIFY_TOLERANCE_DEG
    for _ in range(MAX_SIMPLIFY_ROUNDS):
        geometries = _rounded(_simplified(frame.geometry.values, tolerance))
        payload = _serialise(frame.code.tolist(), frame.name.tolist(), geometries)
        if len(payload) <= MAX_WEB_BYTES:
            return payload
        tolerance *= 2
    log.warning("Map geometry is %d bytes after %d simplification rounds (budget %d)",
                len(payload), MAX_SIMPLIFY_ROUNDS, MAX_WEB_BYTES)
    return payload


def _simplified(geometries: np.ndarray, tolerance: float) -> np.ndarray:
    # Coverage simplification keeps shared edges identical, so neighbours never gap or overlap.
    if hasattr(shapely, "coverage_simplify") and shapely.coverage_is_valid(geometries):
        result = shapely.coverage_simplify(geometries, tolerance)
    else:
        result = shapely.simplify(geometries, tolerance, preserve_topology=True)
    # A commune simplified to nothing would vanish from the map: keep its unsimplified shape.
    return np.where(shapely.is_empty(result), geometries, result)


def _rounded(geometries: np.ndarray) -> np.ndarray:
    snapped = shapely.set_precision(geometries, 10 ** -COORDINATE_DECIMALS)
    # Snapping can collapse a sliver-thin commune; keep it, only rounded, rather than drop it.
    snapped = np.where(shapely.is_empty(snapped), geometries, snapped)
    return shapely.transform(snapped, lambda xy: np.round(xy, COORDINATE_DECIMALS))


def _serialise(codes: list[str], names: list[str], geometries: np.ndarray) -> bytes:
    features = [
        {"type": "Feature", "id": code, "properties": {"code": code, "name": name},
         "geometry": json.loads(shapely.to_geojson(geometry))}
        for code, name, geometry in zip(codes, names, geometries)
    ]
    collection = {"type": "FeatureCollection", "features": features}
    return json.dumps(collection, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _bounds(payload: bytes) -> list[float]:
    geometries = shapely.from_geojson(payload.decode("utf-8"))
    return [float(v) for v in shapely.bounds(geometries)]


def _write_atomic(target: Path, data: bytes) -> None:
    # Several web workers may build at once: each writes its own temp file, the rename is atomic.
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _meta_path(target: Path) -> Path:
    return target.with_suffix(".meta.json")


def _write_meta(target: Path, result: MapGeometry, bounds: list[float], source: str) -> None:
    meta = {"source": source, "feature_count": result.feature_count, "approximate": result.approximate,
            "report": asdict(result.report) if result.report else None, "bounds": bounds}
    _write_atomic(_meta_path(target), json.dumps(meta, ensure_ascii=False).encode("utf-8"))


def _read_meta(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _load_cached(target: Path, attribution: str) -> MapGeometry | None:
    meta = _read_meta(_meta_path(target))
    if meta is None or not target.exists():
        return None
    report = meta["report"]
    if report is not None:
        report = CodeReport(**{k: tuple(v) if isinstance(v, list) else v for k, v in report.items()})
    if meta["approximate"]:
        attribution = f"{APPROXIMATE_ATTRIBUTION} {attribution}".strip()
    province_code = target.name.split("-")[0]
    return MapGeometry(province_code, target, meta["approximate"], meta["feature_count"], report, attribution)


def _remove_stale(target: Path, source: str) -> None:
    """Delete older builds of this province from the same source, so edits do not pile up files."""
    prefix = target.name.split("-")[0] + "-"
    for old in target.parent.glob(f"{prefix}*.geojson"):
        meta = _read_meta(_meta_path(old))
        if old != target and meta is not None and meta.get("source") == source:
            old.unlink(missing_ok=True)
            _meta_path(old).unlink(missing_ok=True)


def _log_report(result: MapGeometry) -> None:
    if result.report is None:
        log.info("Province %s map uses approximate commune areas (no boundaries file configured)",
                 result.province_code)
    elif result.report.ok:
        log.info("Boundaries: %s", result.report.summary())
    else:
        log.warning("Boundaries: %s", result.report.summary())
