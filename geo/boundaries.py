"""Commune boundaries: read a deployment's boundaries file, check its codes, or approximate cells.

A boundaries file (GeoJSON, GeoPackage or Shapefile) is keyed on the official unit code
(Quyết định 19/2025/QĐ-TTg). Without one, approximate_cells() draws Voronoi cells around the
registry centroids, clipped to a province-shaped envelope; such maps must say they are approximate.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from config.settings import ConfigError
from geo import registry

log = logging.getLogger(__name__)

WGS84 = "EPSG:4326"
SUPPORTED_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp")
WARD_CODE_WIDTH = 5
_NUMERIC_CODE = re.compile(r"^\d+(\.0*)?$")
_POLYGONAL = {"Polygon", "MultiPolygon"}


class BoundaryFileError(ConfigError):
    """A boundaries file that cannot be used; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class CodeReport:
    """How the codes of a boundaries file compare with the registry of one province."""

    province_code: str
    matched: tuple[str, ...]
    unknown_codes: tuple[str, ...]   # in the file, but not a unit of this province
    missing_units: tuple[str, ...]   # units of this province the file does not draw
    foreign_codes: tuple[str, ...] = ()  # the part of unknown_codes that are other provinces' units

    @property
    def ok(self) -> bool:
        return not self.unknown_codes and not self.missing_units

    def summary(self, limit: int = 10) -> str:
        """One log line: counts, and the first few codes of each problem."""
        def head(codes: tuple[str, ...]) -> str:
            more = f", ... (+{len(codes) - limit})" if len(codes) > limit else ""
            return ", ".join(codes[:limit]) + more
        parts = [f"province {self.province_code}: {len(self.matched)} units matched"]
        if self.unknown_codes:
            parts.append(f"{len(self.unknown_codes)} codes in the file are not units of this province "
                         f"({len(self.foreign_codes)} belong to other provinces): {head(self.unknown_codes)}")
        if self.missing_units:
            parts.append(f"{len(self.missing_units)} units have no boundary: {head(self.missing_units)}")
        return "; ".join(parts)


def normalise_code(value: object) -> str | None:
    """Official code as a string: numeric codes zero-padded to 5 digits; None for empty values."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = str(value).strip()
    if not text:
        return None
    if _NUMERIC_CODE.match(text):
        # Files often store ward codes as numbers, losing the leading zeros (Hà Nội: 00004).
        return text.split(".")[0].zfill(WARD_CODE_WIDTH)
    return text


def read_boundaries(path: str | Path, code_column: str) -> gpd.GeoDataFrame:
    """Read a boundaries file into columns code, name, geometry (EPSG:4326, valid polygons)."""
    path = Path(path)
    frame = _read_file(path)
    if frame.empty:
        raise BoundaryFileError(f"Boundaries file {path} has no features; export the commune polygons into it")
    if code_column not in frame.columns:
        columns = ", ".join(str(c) for c in frame.columns if c != frame.geometry.name) or "(none)"
        raise BoundaryFileError(
            f"Boundaries file {path} has no column {code_column!r} (boundaries_code_column / "
            f"IOC_BOUNDARIES_CODE_COLUMN); its columns are: {columns}"
        )
    frame = _to_wgs84(frame, path)
    names = frame["name"] if "name" in frame.columns and code_column != "name" else pd.Series(None, index=frame.index)
    result = gpd.GeoDataFrame(
        {"code": frame[code_column].map(normalise_code), "name": names.astype(object)},
        geometry=frame.geometry.values, crs=WGS84,
    )
    result = _drop_unusable(result, path)
    result["geometry"] = _valid_polygons(result.geometry, path)
    return _merge_duplicates(result, path).reset_index(drop=True)


def check_boundaries_file(path: str | Path) -> Path:
    """Return the path if it names an existing file of a supported format, else BoundaryFileError."""
    path = Path(path)
    if not path.is_file():
        raise BoundaryFileError(
            f"Boundaries file {path} does not exist; set boundaries_path / IOC_BOUNDARIES_PATH to an existing "
            f"{', '.join(SUPPORTED_SUFFIXES)} file, or leave it empty for approximate areas"
        )
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise BoundaryFileError(
            f"Boundaries file {path} has suffix {path.suffix!r}; supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    return path


def _read_file(path: Path) -> gpd.GeoDataFrame:
    check_boundaries_file(path)
    try:
        return gpd.read_file(path)
    except Exception as err:  # pyogrio raises several families; all mean the same to the operator
        raise BoundaryFileError(
            f"Cannot read boundaries file {path} as {path.suffix.lstrip('.').upper()}: {err}. "
            "Check that it is a complete GeoJSON, GeoPackage or Shapefile (with its .shx and .dbf)"
        ) from err


def _to_wgs84(frame: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    if frame.crs is None:
        minx, miny, maxx, maxy = frame.total_bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise BoundaryFileError(
                f"Boundaries file {path} declares no coordinate system and its coordinates are not "
                "longitude/latitude; add the .prj file (Shapefile) or export it in EPSG:4326"
            )
        log.warning("Boundaries file %s declares no coordinate system; assuming longitude/latitude (EPSG:4326)", path)
        return frame.set_crs(WGS84)
    return frame.to_crs(WGS84)


def _drop_unusable(frame: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    no_code = frame.code.isna()
    no_shape = frame.geometry.isna() | frame.geometry.is_empty
    if no_code.any() or no_shape.any():
        log.warning("Boundaries file %s: skipped %d features without a code and %d without a geometry",
                    path, int(no_code.sum()), int((no_shape & ~no_code).sum()))
    kept = frame[~no_code & ~no_shape]
    if kept.empty:
        raise BoundaryFileError(f"Boundaries file {path}: no feature has both a code and a geometry")
    return kept


def _valid_polygons(geometries: gpd.GeoSeries, path: Path) -> np.ndarray:
    kinds = set(geometries.geom_type)
    if not kinds & _POLYGONAL:
        raise BoundaryFileError(
            f"Boundaries file {path} holds {', '.join(sorted(kinds))} geometries; communes must be polygons"
        )
    values = geometries.values
    invalid = ~shapely.is_valid(values)
    if invalid.any():
        log.info("Boundaries file %s: repaired %d invalid geometries", path, int(invalid.sum()))
        values = values.copy()
        # "structure" keeps areas as areas: a bow-tie becomes two triangles, not a line.
        values[invalid] = shapely.make_valid(values[invalid], method="structure", keep_collapsed=False)
    return np.array([_polygonal_part(g) for g in values], dtype=object)


def _polygonal_part(geometry):
    if geometry.geom_type in _POLYGONAL:
        return geometry
    parts = [p for p in shapely.get_parts(geometry) if p.geom_type in _POLYGONAL]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _merge_duplicates(frame: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    empty = frame.geometry.is_empty
    if empty.any():
        log.warning("Boundaries file %s: skipped %d features that are not polygons: %s",
                    path, int(empty.sum()), ", ".join(frame.code[empty].head(10)))
        frame = frame[~empty]
    if not frame.code.duplicated().any():
        return frame
    # Some exports split a multi-part commune into one row per part: one unit, one feature.
    return frame.dissolve(by="code", aggfunc={"name": "first"}, as_index=False)[["code", "name", "geometry"]]


def validate_codes(boundaries: gpd.GeoDataFrame, province_code: str) -> CodeReport:
    """Compare the file's codes with the province's communes in the registry."""
    province = registry.province(province_code)
    expected = set(registry.communes(province.code).code)
    present = set(boundaries["code"])
    unknown = present - expected
    foreign = {c for c in unknown if registry.is_known_unit(c)}
    return CodeReport(
        province_code=province.code,
        matched=tuple(sorted(present & expected)),
        unknown_codes=tuple(sorted(unknown)),
        missing_units=tuple(sorted(expected - present)),
        foreign_codes=tuple(sorted(foreign)),
    )


def approximate_cells(province_code: str) -> gpd.GeoDataFrame:
    """Voronoi cells around the province's commune centroids, clipped to a province-like envelope."""
    units = registry.communes(province_code)
    points = gpd.GeoSeries(gpd.points_from_xy(units.lon, units.lat), crs=WGS84)
    metric = points.estimate_utm_crs()
    xy = shapely.get_coordinates(points.to_crs(metric).values)
    xy = _separate_duplicates(xy)
    radii = _cell_radii(xy, units.area_km2.to_numpy(dtype=float))
    envelope = _envelope(xy, radii)
    cells = _voronoi(xy, envelope)
    cells = shapely.intersection(cells, envelope)
    frame = gpd.GeoDataFrame({"code": units.code.values, "name": units.name.values}, geometry=cells, crs=metric)
    return frame.to_crs(WGS84)


def _separate_duplicates(xy: np.ndarray) -> np.ndarray:
    # Two units on one centroid would share a single Voronoi cell; 1 m apart they each get half.
    xy = xy.copy()
    _, first, counts = np.unique(xy, axis=0, return_index=True, return_counts=True)
    for index, count in zip(first, counts):
        if count > 1:
            same = np.flatnonzero((xy == xy[index]).all(axis=1))
            xy[same, 0] += np.arange(len(same))
    return xy


def _cell_radii(xy: np.ndarray, area_km2: np.ndarray) -> np.ndarray:
    """Radius (m) of each unit's disk: its equal-area radius, but never so small it leaves a gap."""
    if len(xy) > 1:
        distances, _ = cKDTree(xy).query(xy, k=2)
        nearest = distances[:, 1]
    else:
        nearest = np.full(1, np.nan)
    equal_area = np.sqrt(np.nan_to_num(area_km2, nan=0.0) * 1e6 / np.pi)
    typical = np.nanmedian(np.where(equal_area > 0, equal_area, np.nan)) if (equal_area > 0).any() else 3000.0
    equal_area = np.where(equal_area > 0, equal_area, typical)
    # 1.25 x the equal-area radius roughly covers a compact commune; 0.6 x the nearest
    # neighbour distance makes neighbouring disks overlap so the envelope stays connected,
    # but only up to 2.5 x, so a remote island (Trường Sa) stays an island, not a sea.
    reach = np.fmin(np.nan_to_num(0.6 * nearest, nan=0.0), 2.5 * equal_area)
    return np.fmax(1.25 * equal_area, reach)


def _envelope(xy: np.ndarray, radii: np.ndarray):
    disks = shapely.buffer(shapely.points(xy), radii, quad_segs=8)
    union = shapely.union_all(disks)
    # A closing (grow, then shrink) fills the notches between disks so the outline reads as a province.
    closing = float(np.median(radii)) * 0.5
    closed = union.buffer(closing, quad_segs=4).buffer(-closing, quad_segs=4)
    outline = shapely.union(closed, union)
    return _without_holes(outline)


def _without_holes(geometry):
    polygons = [shapely.Polygon(p.exterior) for p in shapely.get_parts(geometry) if p.geom_type == "Polygon"]
    return shapely.union_all(polygons)


def _voronoi(xy: np.ndarray, envelope) -> np.ndarray:
    if len(xy) == 1:
        return np.array([envelope], dtype=object)
    diagram = shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=envelope, ordered=True)
    return np.asarray(shapely.get_parts(diagram), dtype=object)
