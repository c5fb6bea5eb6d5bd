"""Produce any export into a file or stream: the one entry point for the web routes, jobs and the CLI."""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import Iterator

import pandas as pd
from sqlalchemy import Engine

from config.fields import FIELDS_BY_CODE, PROCEDURE_FIELDS
from dashboards.exports.bieu06_xlsx import Bieu06Report, bieu06_report, write_bieu06_xlsx
from dashboards.exports.request import ExportRequest
from dashboards.exports.statistics import Progress, UnitInfo, chunk_total, iter_csv, write_stats_xlsx
from dashboards.i18n import t
from store.scoped import as_reader

SCOPE_CODES_SHOWN = 10


def bieu06_for(engine: Engine, request: ExportRequest, units: pd.DataFrame) -> Bieu06Report:
    """Read period totals per (unit, field) for the request and lay them out as Biểu 06.

    `engine` may be a store.scoped.ScopedReader (web requests pass the caller's): its scope is then
    applied in SQL on top of the request's own unit filter.
    """
    totals = as_reader(engine, request.province_code).period_totals(
        request.start, request.end, unit_codes=request.unit_codes, fields=request.fields,
        group_by=("unit_code", "field"))
    scope = units if request.unit_codes is None else units[units["code"].isin(request.unit_codes)]
    levels = ("tinh", "xa") if request.unit_codes is None else tuple(scope["level"].unique())
    fields = [FIELDS_BY_CODE[f] for f in request.fields] if request.fields else PROCEDURE_FIELDS
    return bieu06_report(totals, dict(zip(scope["code"], scope["level"])), levels, fields, request.lang)


def scope_text(request: ExportRequest) -> str:
    """Say which units the export covers."""
    if not request.unit_codes:
        return t("export_b06_scope_all", request.lang)
    codes = ", ".join(request.unit_codes[:SCOPE_CODES_SHOWN]) + (" …" if len(request.unit_codes) > SCOPE_CODES_SHOWN else "")
    return t("export_b06_scope_units", request.lang, count=len(request.unit_codes), codes=codes)


def total_steps(request: ExportRequest) -> int:
    """How many progress steps the export takes (Biểu 06 is one step)."""
    if request.fmt == "bieu06-xlsx":
        return 1
    return chunk_total(request)


def write_export(engine: Engine, request: ExportRequest, target, *, units: pd.DataFrame, reporter: str,
                 generated_at: dt.datetime, progress: Progress | None = None) -> int:
    """Write the export to a path or binary file; return its number of data rows."""
    if request.fmt == "bieu06-xlsx":
        report = bieu06_for(engine, request, units)
        write_bieu06_xlsx(report, target, reporter=reporter, start=request.start, end=request.end,
                          scope_text=scope_text(request), generated_at=generated_at, lang=request.lang)
        if progress:
            progress(1, 1)
        return len(report.table)
    info = UnitInfo.from_frame(units)
    if request.fmt == "xlsx":
        return write_stats_xlsx(engine, request, info, target, generated_at=generated_at, reporter=reporter,
                                progress=progress)
    return _write_csv(target, iter_csv(engine, request, info, progress))


def csv_stream(engine: Engine, request: ExportRequest, units: pd.DataFrame) -> Iterator[bytes]:
    """The CSV as UTF-8 byte pieces, read from the store chunk by chunk as the client consumes them."""
    return iter_csv(engine, request, UnitInfo.from_frame(units))


def write_file_atomically(engine: Engine, request: ExportRequest, out: Path, *, overwrite: bool, **kwargs) -> int:
    """Write the export next to `out` and move it into place only when complete; return its rows."""
    out = Path(out)
    check_target(out, overwrite)
    try:
        handle, temporary = tempfile.mkstemp(prefix=".export-", suffix=out.suffix, dir=out.parent)
    except OSError as err:
        raise PermissionError(f"Cannot write into {out.parent} ({err.strerror}); choose a folder you can write to") from err
    os.close(handle)
    try:
        rows = write_export(engine, request, temporary, **kwargs)
        os.replace(temporary, out)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return rows


def check_target(out: Path, overwrite: bool) -> None:
    """Refuse a target that exists (unless overwriting), is a directory, or sits in a missing or read-only folder."""
    if out.is_dir():
        raise ValueError(f"{out} is a directory; give a file name, e.g. {out / 'export.csv'}")
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} already exists; pass --force to replace it or choose another name")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"Folder {out.parent} does not exist; create it first or choose another path")
    if not os.access(out.parent, os.W_OK):
        raise PermissionError(f"Cannot write into {out.parent}; choose a folder you can write to")


def _write_csv(target, pieces: Iterator[bytes]) -> int:
    rows = -1  # the header is not a data row
    with (open(target, "wb") if isinstance(target, (str, Path)) else contextlib.nullcontext(target)) as stream:
        for piece in pieces:
            stream.write(piece)
            rows += piece.count(b"\r\n")
    return rows
