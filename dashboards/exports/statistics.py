"""On-time statistics per unit x period bucket x procedure field, as streamed CSV or write-only XLSX.

Rows come from store.readers_export chunk by chunk and leave as soon as they are formatted, so
memory stays flat whatever the size of the export; `progress(done, total)` is called per chunk.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy import Engine

from config.fields import FIELDS_BY_CODE
from dashboards.exports.request import ExportRequest
from dashboards.format import format_date, format_datetime
from dashboards.i18n import t
from kpis import indicators
from store import readers_export
from store.scoped import as_reader

Progress = Callable[[int, int], None]
TEXT, DATE, COUNT, RATE = "text", "date", "count", "rate"
STAT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("period", TEXT), ("period_start", DATE), ("period_end", DATE), ("unit_code", TEXT), ("unit_name", TEXT),
    ("level", TEXT), ("field", TEXT), ("field_name", TEXT),
    ("carried_over", COUNT), ("received_online", COUNT), ("received_direct", COUNT), ("received", COUNT),
    ("resolved_early", COUNT), ("resolved_on_time", COUNT), ("resolved_late", COUNT), ("resolved", COUNT),
    ("pending_on_time", COUNT), ("pending_overdue", COUNT), ("nearly_due", COUNT),
    ("on_time_bieu06", RATE), ("on_time_766", RATE), ("online_share", RATE), ("days_with_data", COUNT),
)
STAT_KEYS = [key for key, _ in STAT_COLUMNS]
RATE_DIGITS = 6
UTF8_BOM = "\ufeff"  # so that Excel opens the CSV as UTF-8 and shows the diacritics


@dataclass(frozen=True)
class UnitInfo:
    """Names and levels of the units an export may show, keyed by code."""

    names: dict[str, str]
    levels: dict[str, str]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> "UnitInfo":
        """Build from store.readers.load_units output."""
        return cls(dict(zip(frame["code"], frame["name"])), dict(zip(frame["code"], frame["level"])))


def headers(lang: str) -> list[str]:
    """Column titles in the language; the two on-time rates carry their formulas."""
    return [t(f"export_col_{key}", lang) for key in STAT_KEYS]


def stat_frame(totals: pd.DataFrame, info: UnitInfo, lang: str) -> pd.DataFrame:
    """Bucket totals -> the export's columns: names, derived counts and both on-time rates."""
    frame = totals.copy()
    frame["unit_name"] = frame["unit_code"].map(info.names)
    frame["level"] = [t(f"export_level_{level}", lang) if isinstance(level, str) else ""
                      for level in frame["unit_code"].map(info.levels)]
    frame["field_name"] = [getattr(FIELDS_BY_CODE[f], f"name_{lang}") if f in FIELDS_BY_CODE else f
                           for f in frame["field"]]
    empty = frame.empty
    frame["received"] = indicators.received(frame) if not empty else pd.Series(dtype="int64")
    frame["resolved"] = indicators.resolved(frame) if not empty else pd.Series(dtype="int64")
    for key, function in (("on_time_bieu06", indicators.on_time_rate_bieu06),
                          ("on_time_766", indicators.on_time_rate_766), ("online_share", indicators.online_share)):
        frame[key] = function(frame).round(RATE_DIGITS) if not empty else pd.Series(dtype="float64")
    return frame[STAT_KEYS]


def iter_stat_frames(engine: Engine, request: ExportRequest, info: UnitInfo,
                     progress: Progress | None = None) -> Iterator[pd.DataFrame]:
    """Yield the export's rows chunk by chunk, reporting progress after each chunk."""
    total = readers_export.chunk_count(request.start, request.end, request.by)
    # engine may be a store.scoped.ScopedReader: the caller's scope is then applied in SQL as well.
    chunks = as_reader(engine, request.province_code).iter_bucket_totals(
        request.start, request.end, request.by, unit_codes=request.unit_codes, fields=request.fields)
    for done, totals in enumerate(chunks, start=1):
        yield stat_frame(totals, info, request.lang)
        if progress:
            progress(done, total)


def iter_csv(engine: Engine, request: ExportRequest, info: UnitInfo, progress: Progress | None = None) -> Iterator[str]:
    """Yield the CSV text piece by piece: a BOM and the header, then one piece per chunk."""
    yield UTF8_BOM + _csv_text([headers(request.lang)])
    for frame in iter_stat_frames(engine, request, info, progress):
        if not frame.empty:
            yield _csv_text(_csv_rows(frame))


def _csv_rows(frame: pd.DataFrame) -> list[list]:
    columns = []
    for key, kind in STAT_COLUMNS:
        values = frame[key]
        if kind == DATE:
            columns.append([d.isoformat() for d in values])
        elif kind == RATE:
            columns.append(["" if np.isnan(v) else f"{v:.{RATE_DIGITS}f}" for v in values.astype("float64")])
        elif kind == COUNT:
            columns.append(values.astype("int64").tolist())
        else:
            columns.append(["" if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in values])
    return [list(row) for row in zip(*columns)]


def _csv_text(rows: Sequence[Sequence]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def write_stats_xlsx(engine: Engine, request: ExportRequest, info: UnitInfo, target, *, generated_at: dt.datetime,
                     reporter: str, progress: Progress | None = None) -> int:
    """Write the statistics (write-only, streamed) and a metadata sheet; return the number of data rows."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(t("export_sheet_data", request.lang))
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    sheet.append([_styled(sheet, text, font=bold) for text in headers(request.lang)])
    rows = 0
    for frame in iter_stat_frames(engine, request, info, progress):
        for record in _xlsx_rows(frame):
            sheet.append([_styled(sheet, value, number_format="0.00%") if kind == RATE and value is not None
                          else value for value, (_, kind) in zip(record, STAT_COLUMNS)])
            rows += 1
    meta = book.create_sheet(t("export_sheet_meta", request.lang))
    for line in metadata_rows(engine, request, rows, generated_at, reporter):
        meta.append(line)
    book.save(target)
    return rows


def _xlsx_rows(frame: pd.DataFrame) -> Iterator[list]:
    for record in frame.itertuples(index=False, name=None):
        yield [_cell_value(value, kind) for value, (_, kind) in zip(record, STAT_COLUMNS)]


def _cell_value(value, kind):
    if kind == RATE:
        return None if pd.isna(value) else float(value)
    if kind == COUNT:
        return int(value)
    return value


def _styled(sheet, value, font: Font | None = None, number_format: str | None = None) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if font:
        cell.font = font
    if number_format:
        cell.number_format = number_format
    return cell


def metadata_rows(engine: Engine, request: ExportRequest, rows: int, generated_at: dt.datetime,
                  reporter: str) -> list[list[str]]:
    """Filters, generation time and data freshness, as label/value lines."""
    lang = request.lang
    reader = as_reader(engine, request.province_code)
    first, last = reader.data_extent()
    collected = reader.last_collection()
    units = ", ".join(request.unit_codes) if request.unit_codes else t("export_units_all", lang)
    fields = ", ".join(request.fields) if request.fields else t("export_fields_all", lang)
    return [
        [t("export_meta_title", lang)],
        [t("export_meta_province", lang), f"{reporter} ({request.province_code})"],
        [t("export_meta_from", lang), format_date(request.start, lang)],
        [t("export_meta_to", lang), format_date(request.end, lang)],
        [t("export_meta_units", lang), units],
        [t("export_meta_fields", lang), fields],
        [t("export_meta_by", lang), t(f"export_by_{request.by}", lang)],
        [t("export_meta_rows", lang), rows],
        [t("export_meta_generated", lang), format_datetime(generated_at, lang)],
        [t("export_meta_collected", lang), format_datetime(collected, lang)],
        [t("export_meta_extent", lang), f"{format_date(first, lang)} – {format_date(last, lang)}"],
        [t("export_meta_notes", lang), t("export_meta_note_rates", lang)],
        ["", t("export_meta_note_stocks", lang)],
    ]
