"""On-time statistics per unit x period bucket x procedure field, as streamed CSV or XLSX.

Rows come from store.readers_bulk chunk by chunk and leave as soon as they are formatted, so
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
from sqlalchemy import Engine

from config.fields import FIELDS_BY_CODE, PROCEDURE_FIELDS
from dashboards.exports import xlsx_stream as xlsx
from dashboards.exports.request import ExportRequest
from dashboards.format import format_date, format_datetime
from dashboards.i18n import t
from geo import registry
from kpis import indicators
from store import readers_bulk
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
RATE_FUNCTIONS = {"on_time_bieu06": indicators.on_time_rate_bieu06, "on_time_766": indicators.on_time_rate_766,
                  "online_share": indicators.online_share}
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
    for key, function in RATE_FUNCTIONS.items():
        frame[key] = function(frame).round(RATE_DIGITS) if not empty else pd.Series(dtype="float64")
    return frame[STAT_KEYS]


def rows_per_day(request: ExportRequest) -> int:
    """Fact rows one day of the export reads at most (units x fields): sizes the chunks, from the request alone."""
    units = len(request.unit_codes) if request.unit_codes else len(registry.units(request.province_code))
    return max(1, units) * (len(request.fields) if request.fields else len(PROCEDURE_FIELDS))


def chunk_total(request: ExportRequest) -> int:
    """How many chunks (progress steps) the statistics export takes."""
    return readers_bulk.chunk_count(request.start, request.end, request.by, rows_per_day(request))


def iter_bucket_frames(engine: Engine, request: ExportRequest, progress: Progress | None = None,
                       optional: bool = True) -> Iterator[readers_bulk.BucketFrame]:
    """The export's bucket totals chunk by chunk (store.readers_bulk), reporting progress after each chunk.

    `engine` may be a store.scoped.ScopedReader: the caller's scope is then applied in SQL, and
    checked here, before the first chunk is read.
    """
    reader = as_reader(engine, request.province_code)
    scope = {"province_code": reader.scope.province_code, "unit_codes": reader.units_filter(request.unit_codes),
             "fields": request.fields}
    total = chunk_total(request)
    chunks = readers_bulk.iter_bucket_frames(reader.engine, request.start, request.end, request.by,
                                             rows_per_day=rows_per_day(request), optional=optional, **scope)

    def report() -> Iterator[readers_bulk.BucketFrame]:
        for done, part in enumerate(chunks, start=1):
            yield part
            if progress:
                progress(done, total)
    return report()


def iter_stat_frames(engine: Engine, request: ExportRequest, info: UnitInfo,
                     progress: Progress | None = None) -> Iterator[pd.DataFrame]:
    """Yield the export's rows (STAT_KEYS columns) chunk by chunk, reporting progress after each chunk."""
    for part in iter_bucket_frames(engine, request, progress):
        yield stat_frame(part.output(), info, request.lang)


def iter_csv(engine: Engine, request: ExportRequest, info: UnitInfo, progress: Progress | None = None) -> Iterator[bytes]:
    """Yield the CSV as UTF-8 bytes: a BOM and the header, then one piece per chunk (about 60,000 rows).

    The pieces are built column-wise with Arrow, no Python per row: the text columns repeat per
    bucket, unit and field, so each distinct value is escaped once by the csv module and taken by
    index; counts are cast to text and rates written from integers of millionths. The bytes are
    the same as csv.writer's on stat_frame (a test compares them).
    """
    yield (UTF8_BOM + _csv_text([headers(request.lang)])).encode("utf-8")
    for part in iter_bucket_frames(engine, request, progress, optional=False):
        if len(part.frame):
            yield _csv_bytes(part, info, request.lang)


def _csv_bytes(part: readers_bulk.BucketFrame, info: UnitInfo, lang: str) -> bytes:
    import pyarrow as pa
    import pyarrow.compute as pc

    periods, units, fields = _labels(part, info, lang)
    columns = [_take(part, [_csv_line([label, start.isoformat(), end.isoformat()]) for label, start, end in periods],
                     units=None, fields=None),
               _take(part, [_csv_line(values) for values in units], units=True),
               _take(part, [_csv_line(values) for values in fields], fields=True)]
    for kind, values in _numbers(part.frame):
        columns.append(pc.cast(pa.array(values), pa.string()) if kind == COUNT else _rate_text(values))
    columns[-1] = pc.binary_join_element_wise(columns[-1], "\r\n", "")   # the line end, on the shortest column
    return _joined_bytes(pc.binary_join_element_wise(*columns, ","))


def _xlsx_rows(part: readers_bulk.BucketFrame, info: UnitInfo, lang: str, first_row: int) -> bytes:
    """The chunk's rows as sheet XML (<row r=..> numbered from first_row), built column-wise like the CSV."""
    import pyarrow as pa
    import pyarrow.compute as pc

    periods, units, fields = _labels(part, info, lang)
    columns = [_take(part, [xlsx.text_cell(label) + xlsx.date_cell(start) + xlsx.date_cell(end)
                            for label, start, end in periods], units=None, fields=None),
               _take(part, ["".join(xlsx.text_cell(v or None) for v in values) for values in units], units=True),
               _take(part, ["".join(xlsx.text_cell(v or None) for v in values) for values in fields], fields=True)]
    for kind, values in _numbers(part.frame):
        if kind == COUNT:
            columns += ["<c><v>", pc.cast(pa.array(values), pa.string()), "</v></c>"]
        else:
            known = pa.array(~np.isnan(values))
            columns.append(pc.if_else(known, pc.binary_join_element_wise(
                f'<c s="{xlsx.PERCENT}"><v>', _rate_text(values), "</v></c>", ""), "<c/>"))
    numbers = pc.cast(pa.array(np.arange(first_row, first_row + len(part.frame))), pa.string())
    return _joined_bytes(pc.binary_join_element_wise('<row r="', numbers, '">', *columns, "</row>", ""))


def _labels(part: readers_bulk.BucketFrame, info: UnitInfo, lang: str) -> tuple[list, list, list]:
    """The text columns' distinct values: (label, start, end) per bucket, (code, name, level) per unit, (code, name)
    per field — each formatted once, then taken by index for every row."""
    periods = [(b.label, b.start, b.end) for b in part.buckets]
    units = [(code, _text(info.names.get(code)), _level_text(info.levels.get(code), lang))
             for code in part.frame["unit_code"].cat.categories]
    fields = [(code, getattr(FIELDS_BY_CODE[code], f"name_{lang}") if code in FIELDS_BY_CODE else code)
              for code in part.frame["field"].cat.categories]
    return periods, units, fields


def _take(part: readers_bulk.BucketFrame, texts: list[str], *, units=None, fields=None):
    """One text per row: texts[bucket], texts[unit] or texts[field] of each row."""
    import pyarrow as pa

    frame = part.frame
    codes = frame["unit_code"].cat.codes if units else frame["field"].cat.codes if fields else frame["bucket"]
    return pa.array(texts, pa.string()).take(pa.array(codes.to_numpy()))


def _numbers(frame: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    """(kind, values) of the count and rate columns in STAT_COLUMNS order: counts int64, rates rounded float64."""
    derived = {"received": indicators.received(frame), "resolved": indicators.resolved(frame)}
    columns = []
    for key, kind in STAT_COLUMNS[8:]:
        if kind == COUNT:
            columns.append((kind, (derived[key] if key in derived else frame[key]).to_numpy(dtype="int64")))
        else:
            columns.append((kind, RATE_FUNCTIONS[key](frame).round(RATE_DIGITS).to_numpy(dtype="float64")))
    return columns


def _joined_bytes(lines) -> bytes:
    """The concatenated UTF-8 of an Arrow string array, straight from its data buffer."""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=4 * lines.offset)
    return memoryview(lines.buffers()[2])[offsets[0]:offsets[-1]].tobytes()


def _rate_text(rates: np.ndarray):
    """Rates already rounded to RATE_DIGITS, as f"{rate:.6f}" writes them ("" for NaN), without Python per row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    known = ~np.isnan(rates)
    millionths = np.rint(np.where(known, rates, 0.0) * 10 ** RATE_DIGITS).astype("int64")
    whole = pc.cast(pa.array(np.abs(millionths) // 10 ** RATE_DIGITS), pa.string())
    fraction = pc.utf8_lpad(pc.cast(pa.array(np.abs(millionths) % 10 ** RATE_DIGITS), pa.string()), RATE_DIGITS,
                            padding="0")
    sign = pa.array(np.where(millionths < 0, "-", ""))
    text = pc.binary_join_element_wise(sign, whole, ".", fraction, "")
    return pc.if_else(pa.array(known), text, "")


def _csv_line(values: Sequence) -> str:
    """One row as csv.writer writes it (quoted only where needed), without the line end."""
    return _csv_text([values])[:-2]


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else value


def _level_text(level, lang: str) -> str:
    return t(f"export_level_{level}", lang) if isinstance(level, str) else ""


def _csv_text(rows: Sequence[Sequence]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def write_stats_xlsx(engine: Engine, request: ExportRequest, info: UnitInfo, target, *, generated_at: dt.datetime,
                     reporter: str, progress: Progress | None = None) -> int:
    """Write the statistics (streamed, sheet XML built column-wise) and a metadata sheet; return the data rows.

    Past the 1,048,575 data rows one sheet holds, the rows continue on "<sheet> (2)" with the header again.
    """
    lang = request.lang
    book = xlsx.XlsxStream(target)
    title, sheets, rows = t("export_sheet_data", lang), 1, 0
    book.start_sheet(title, headers(lang))
    for part in iter_bucket_frames(engine, request, progress, optional=False):
        done = 0
        while done < len(part.frame):
            if book.rows_left == 0:
                sheets += 1
                book.start_sheet(f"{title} ({sheets})", headers(lang))
            take = min(book.rows_left, len(part.frame) - done)
            piece = readers_bulk.BucketFrame(part.buckets, part.frame.iloc[done:done + take])
            book.add_row_xml(_xlsx_rows(piece, info, lang, book.rows_written + 1), take)
            done += take
        rows += len(part.frame)
    book.start_sheet(t("export_sheet_meta", lang))
    book.add_rows([[xlsx.cell(value) for value in line] for line in metadata_rows(engine, request, rows, generated_at,
                                                                                      reporter)])
    book.close()
    return rows


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
        [t("export_meta_province", lang), f"{reporter} ({request.province_code})" if request.province_code else reporter],
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
