"""Biểu số 06/VPCP/KSTT: rows by procedure field grouped by level, and the official XLSX layout.

The header is rendered from kpis.bieu06.BIEU06_COLUMNS, so the layout lives in one place. Rows:
one level row per level in scope ("I Cấp tỉnh", "II Cấp xã") carrying the level's subtotal, the
procedure fields under it numbered 1..n, and a grand total.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import BinaryIO, Mapping, Sequence

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from config.fields import PROCEDURE_FIELDS, ProcedureField
from dashboards.format import format_date, format_datetime
from dashboards.i18n import t
from kpis.bieu06 import BIEU06_COLUMNS, COUNT_NUMBERS, bieu06_row

LEVELS = (("tinh", "I"), ("xa", "II"))
SOURCE_COLUMNS = ("carried_over", "received_online", "received_direct", "resolved_early", "resolved_on_time",
                  "resolved_late", "pending_on_time", "pending_overdue")
TABLE_COLUMNS = ["kind", "level", "field"] + [c.number for c in BIEU06_COLUMNS]
LAST_COLUMN = get_column_letter(len(BIEU06_COLUMNS))
HEADER_ROW = 7                       # group row; labels on 8, column numbers on 9, data from 10
COLUMN_WIDTHS = {1: 6, 2: 40}        # others: 12
COUNT_FORMAT = "#,##0"
_THIN = Side(style="thin", color="000000")
BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


@dataclass(frozen=True)
class Bieu06Report:
    """The table (kind: level | field | total; columns numbered 1..13) and how many units it covers."""

    table: pd.DataFrame
    units_with_data: int
    units_in_scope: int


def bieu06_report(totals: pd.DataFrame, unit_levels: Mapping[str, str], levels: Sequence[str],
                  fields: Sequence[ProcedureField] = PROCEDURE_FIELDS, lang: str = "vi") -> Bieu06Report:
    """Lay out period totals per (unit, field) as Biểu 06: fields under each level, subtotals, grand total."""
    sums = _level_sums(totals, unit_levels, [level for level, _ in LEVELS if level in levels])
    rows: list[dict] = []
    for level, roman in LEVELS:
        if level in levels:
            rows += _level_rows(sums[level], level, roman, fields, lang)
    subtotals = [r for r in rows if r["kind"] == "level"]
    grand = {n: sum(r[n] for r in subtotals) for n in COUNT_NUMBERS}
    rows.append({"kind": "total", "level": None, "field": None, 1: "", 2: t("export_b06_total", lang), **grand})
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    table[list(COUNT_NUMBERS)] = table[list(COUNT_NUMBERS)].astype("int64")
    scope = [code for code, level in unit_levels.items() if level in levels]
    return Bieu06Report(table, int(totals["unit_code"].nunique()), len(scope))


def _level_sums(totals: pd.DataFrame, unit_levels: Mapping[str, str], levels: Sequence[str]) -> dict[str, dict]:
    """level -> field -> sums of SOURCE_COLUMNS over the level's units. Summed in plain Python: a province
    has a few hundred (unit, field) rows, where pandas' per-call overhead (groupby, reindex) dominates."""
    sums: dict[str, dict[str, list[int]]] = {level: {} for level in levels}
    columns = [totals[c].tolist() for c in SOURCE_COLUMNS]
    for i, (unit, field) in enumerate(zip(totals["unit_code"].tolist(), totals["field"].tolist())):
        by_field = sums.get(unit_levels.get(unit))
        if by_field is not None:
            added = by_field.setdefault(field, [0] * len(SOURCE_COLUMNS))
            for k, column in enumerate(columns):
                added[k] += column[i]
    return sums


def _level_rows(by_field: Mapping[str, list[int]], level: str, roman: str, fields, lang) -> list[dict]:
    # A field without dossiers in the period is a true zero on the form, not missing data.
    zero = [0] * len(SOURCE_COLUMNS)
    counted = [bieu06_row(dict(zip(SOURCE_COLUMNS, by_field.get(f.code, zero)))) for f in fields]
    subtotal = {n: sum(int(row[n]) for row in counted) for n in COUNT_NUMBERS}
    rows = [{"kind": "level", "level": level, "field": None, 1: roman,
             2: t(f"export_b06_level_{level}", lang), **subtotal}]
    for index, (field, row) in enumerate(zip(fields, counted)):
        rows.append({"kind": "field", "level": level, "field": field.code, 1: str(index + 1),
                     2: getattr(field, f"name_{lang}"), **{n: int(row[n]) for n in COUNT_NUMBERS}})
    return rows


def write_bieu06_xlsx(report: Bieu06Report, target: str | BinaryIO, *, reporter: str, start: dt.date, end: dt.date,
                      scope_text: str, generated_at: dt.datetime, lang: str = "vi") -> None:
    """Write the report in the official layout: title block, two-level header, borders, number formats."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Bieu06"
    _title_block(sheet, reporter, start, end, scope_text, lang)
    _header(sheet, lang)
    last = _body(sheet, report.table)
    note = t("export_b06_note", lang, with_data=report.units_with_data, total=report.units_in_scope,
             time=format_datetime(generated_at, lang))
    sheet.cell(last + 2, 1, note).font = Font(italic=True, size=10)
    for number in range(1, len(BIEU06_COLUMNS) + 1):
        sheet.column_dimensions[get_column_letter(number)].width = COLUMN_WIDTHS.get(number, 12)
    sheet.freeze_panes = sheet.cell(HEADER_ROW + 3, 3)
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    book.save(target)


def _title_block(sheet, reporter, start, end, scope_text, lang) -> None:
    sheet.merge_cells("A1:F1")
    sheet["A1"] = t("export_b06_reporter", lang, name=reporter)
    sheet["A1"].font = Font(bold=True)
    sheet.merge_cells(f"J1:{LAST_COLUMN}1")
    sheet["J1"] = t("export_b06_form", lang)
    sheet["J1"].font = Font(bold=True)
    sheet["J1"].alignment = Alignment(horizontal="right")
    lines = [(3, t("export_b06_title", lang), Font(bold=True, size=13)),
             (4, t("export_b06_period", lang, start=format_date(start, lang), end=format_date(end, lang)),
              Font(italic=True)),
             (5, scope_text, Font(italic=True))]
    for row, text, font in lines:
        sheet.merge_cells(f"A{row}:{LAST_COLUMN}{row}")
        cell = sheet.cell(row, 1, text)
        cell.font, cell.alignment = font, Alignment(horizontal="center", vertical="center", wrap_text=True)
    sheet.row_dimensions[3].height = 36
    sheet.merge_cells(f"J6:{LAST_COLUMN}6")
    sheet["J6"] = t("export_b06_unit", lang)
    sheet["J6"].font, sheet["J6"].alignment = Font(italic=True), Alignment(horizontal="right")


def _header(sheet, lang) -> None:
    """Two header rows from BIEU06_COLUMNS (groups merged across, ungrouped merged down), then (1)..(13)."""
    top, bottom, numbers = HEADER_ROW, HEADER_ROW + 1, HEADER_ROW + 2
    for column in BIEU06_COLUMNS:
        group, text = getattr(column, f"group_{lang}"), getattr(column, f"label_{lang}")
        if not group:
            sheet.merge_cells(start_row=top, end_row=bottom, start_column=column.number, end_column=column.number)
            sheet.cell(top, column.number, text)
        else:
            sheet.cell(bottom, column.number, text)
        sheet.cell(numbers, column.number, f"({column.number})")
    for first, last, group in _group_spans(lang):
        sheet.merge_cells(start_row=top, end_row=top, start_column=first, end_column=last)
        sheet.cell(top, first, group)
    for row in (top, bottom, numbers):
        for number in range(1, len(BIEU06_COLUMNS) + 1):
            cell = sheet.cell(row, number)
            cell.font = Font(bold=row != numbers, italic=row == numbers)
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.border = BORDER
    sheet.row_dimensions[bottom].height = 45


def _group_spans(lang) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    for column in BIEU06_COLUMNS:
        group = getattr(column, f"group_{lang}")
        if not group:
            continue
        if spans and spans[-1][2] == group and spans[-1][1] == column.number - 1:
            spans[-1] = (spans[-1][0], column.number, group)
        else:
            spans.append((column.number, column.number, group))
    return spans


def _body(sheet, table: pd.DataFrame) -> int:
    row = HEADER_ROW + 3
    for record in table.to_dict("records"):
        bold = record["kind"] != "field"
        for column in BIEU06_COLUMNS:
            value = record[column.number]
            cell = sheet.cell(row, column.number, int(value) if column.number in COUNT_NUMBERS else value)
            cell.border = BORDER
            cell.font = Font(bold=bold)
            if column.number in COUNT_NUMBERS:
                cell.number_format = COUNT_FORMAT
            elif column.number == 1:
                cell.alignment = Alignment(horizontal="center")
        row += 1
    return row - 1


def read_bieu06_xlsx(source) -> pd.DataFrame:
    """Read the data rows of a Biểu 06 XLSX back (STT, label and columns 3..13), for checks and tests."""
    from openpyxl import load_workbook

    sheet = load_workbook(source, read_only=True).active
    rows = []
    for values in sheet.iter_rows(min_row=HEADER_ROW + 3, max_col=len(BIEU06_COLUMNS), values_only=True):
        if values[1] is None or all(v is None for v in values[2:]):
            break
        rows.append(values)
    return pd.DataFrame(rows, columns=[c.number for c in BIEU06_COLUMNS])
