"""Cached loaders of the export room: the on-screen Biểu 06 preview and the units to choose from.

The preview goes through dashboards.exports.run.bieu06_for, the very function that writes the
XLSX, so the numbers on screen and in the file cannot differ for the same filters.
"""
from __future__ import annotations

from functools import lru_cache

import pandas as pd
from sqlalchemy import Engine

from dashboards import loaders
from dashboards.exports.bieu06_xlsx import Bieu06Report
from dashboards.exports.request import ExportRequest
from dashboards.exports.run import bieu06_for
from geo.registry import province

CACHE_SIZE = 64


def units(engine: Engine, province_code: str) -> pd.DataFrame:
    """Stored units of the province (province level first, then communes by code)."""
    return loaders.units(engine, province_code)


def known_codes(engine: Engine, province_code: str) -> frozenset[str]:
    """Codes an export of this province may name."""
    return frozenset(units(engine, province_code)["code"])


def reporter_name(province_code: str) -> str:
    """The province's official name, as the reporting unit of the forms."""
    return province(province_code).name


def bieu06_preview(engine: Engine, request: ExportRequest) -> Bieu06Report:
    """The Biểu 06 report for the request's filters (cached until the next collection)."""
    return _bieu06(engine, request.with_format("bieu06-xlsx"), loaders.data_stamp(engine))


def clear() -> None:
    """Drop cached previews."""
    _bieu06.cache_clear()


@lru_cache(maxsize=CACHE_SIZE)
def _bieu06(engine, request, stamp) -> Bieu06Report:
    return bieu06_for(engine, request, units(engine, request.province_code))
