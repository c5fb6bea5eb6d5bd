"""Cached loaders of the export room: the on-screen Biểu 06 preview and the units to choose from.

The preview goes through dashboards.exports.run.bieu06_for, the very function that writes the
XLSX, so the numbers on screen and in the file cannot differ for the same filters. The page passes
the caller's store.scoped.ScopedReader; the cache keys on it, hence on the scope.
"""
from __future__ import annotations


import pandas as pd

from dashboards import loaders
from dashboards.exports.bieu06_xlsx import Bieu06Report
from dashboards.exports.request import ExportRequest
from dashboards.exports.run import bieu06_for
from geo.registry import province
from dashboards.cache import memoize
from store.scoped import ScopedReader, as_reader

CACHE_SIZE = 64


def units(source: loaders.Source, province_code: str) -> pd.DataFrame:
    """Stored units of the province (province level first, then communes by code)."""
    return loaders.units(source, province_code)


def known_codes(source: loaders.Source, province_code: str) -> frozenset[str]:
    """Codes an export of this province may name."""
    return frozenset(units(source, province_code)["code"])


def reporter_name(province_code: str | None) -> str:
    """The province's official name, as the reporting unit of the forms (national mode's nation: Toàn quốc)."""
    return province(province_code).name if province_code else "Toàn quốc"


def bieu06_preview(source: loaders.Source, request: ExportRequest) -> Bieu06Report:
    """The Biểu 06 report for the request's filters (cached until the next collection)."""
    reader = as_reader(source, request.province_code)
    return _bieu06(reader, request.with_format("bieu06-xlsx"), loaders.data_stamp(reader))


def clear() -> None:
    """Drop cached previews."""
    _bieu06.cache_clear()


@memoize
def _bieu06(reader: ScopedReader, request, stamp) -> Bieu06Report:
    return bieu06_for(reader, request, units(reader, request.province_code))
