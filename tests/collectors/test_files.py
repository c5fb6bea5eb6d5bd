"""File drops: dossier-level aggregation (KPI.md §1, hand-computed), daily files, encodings, sheets, re-imports."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import func, select

from collectors.base import FatalError
from collectors.importer import import_file, list_quarantine
from geo import registry
from store import rollups, writers
from store.collector_schema import dossier_records
from tests.collectors.helpers import NOW, facts_snapshot
from tests.store.test_rollups import rollup_rows

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DOSSIERS = FIXTURES / "dossiers_dongnai.csv"
DAILY = FIXTURES / "daily_dongnai.csv"
COUNTS = ["received_online", "received_direct", "resolved_early", "resolved_on_time", "resolved_late",
          "pending_on_time", "pending_overdue", "nearly_due", "paid_online", "digitised"]
# Worked by hand from the fixture (see the comments in test_dossier_file_aggregates_as_kpi_defines).
HO_TICH = {
    dt.date(2026, 3, 2): [1, 2, 0, 0, 0, 3, 0, 2, 1, 2],
    dt.date(2026, 3, 3): [0, 1, 1, 1, 0, 2, 0, 1, 0, 0],
    dt.date(2026, 3, 4): [0, 0, 0, 0, 0, 1, 1, 0, 0, 0],
    dt.date(2026, 3, 5): [0, 0, 0, 0, 1, 1, 0, 1, 0, 0],
}
CHUNG_THUC = {dt.date(2026, 3, 4): [1, 0, 0, 1, 0, 0, 0, 0, 1, 0], dt.date(2026, 3, 5): [0] * 10}


def table(facts: pd.DataFrame, field: str) -> dict:
    rows = facts[facts.field == field]
    return {row.day: [int(getattr(row, c)) for c in COUNTS] for row in rows.itertuples()}


def test_dossier_file_aggregates_as_kpi_defines(engine):
    # A1 online, due 4/3, done 3/3: trước hạn. A2 due 3/3 done 3/3: đúng hạn. A3 (no channel = direct) due 3/3,
    # done 5/3: quá hạn, overdue while open on 4/3. A4 postal, due 6/3, still open: nearly due on 5/3.
    summary = import_file(engine, DOSSIERS, now=NOW)
    assert (summary.kind, summary.rows_read, summary.rows_quarantined, summary.units) == ("dossier", 8, 3, 1)
    facts = facts_snapshot(engine)
    assert set(facts.source) == {"import_dossier"} and set(facts.unit_code) == {"25195"}
    assert table(facts, "ho_tich") == HO_TICH
    assert table(facts, "chung_thuc") == CHUNG_THUC
    reasons = set(list_quarantine(engine).reason)
    assert reasons == {"MaDonVi is not a known unit code (QĐ 19/2025/QĐ-TTg)", "NgayTiepNhan is not a date",
                       "KenhThucHien must be 1, 2 or 3"}


def test_reimporting_and_overlapping_files_never_double_count(engine, tmp_path):
    import_file(engine, DOSSIERS, now=NOW)
    first = facts_snapshot(engine)
    import_file(engine, DOSSIERS, now=NOW)
    assert facts_snapshot(engine).equals(first)
    assert len(list_quarantine(engine)) == 3
    later = tmp_path / "later.csv"   # A4 is now finished (early), A6 is new; A1..A3 overlap unchanged
    lines = DOSSIERS.read_text(encoding="utf-8").splitlines()
    later.write_text("\n".join([lines[0], lines[1], lines[4].replace("2026-03-06 17:00:00,,", "2026-03-06 17:00:00,"
                                                                   "2026-03-05 10:00:00,"),
                                "A6,25195,Hộ tịch,2,20260305080000,20260310170000,,1,1"]) + "\n", encoding="utf-8")
    import_file(engine, later, now=NOW)
    facts = facts_snapshot(engine)
    ho_tich = table(facts, "ho_tich")
    assert ho_tich[dt.date(2026, 3, 5)] == [1, 0, 1, 0, 1, 1, 0, 0, 1, 1]   # A4 early, A3 late, A6 received/open
    assert sum(v[0] + v[1] for v in ho_tich.values()) == 5                   # A1..A4 and A6, each once
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(dossier_records)).scalar() == 6


def shifted_dates(text: str, days: int) -> str:
    """The file with every date (20260302..., 02/03/2026, 2026-03-03) moved by `days`."""
    def move(match: re.Match, formats=("%Y%m%d", "%d/%m/%Y", "%Y-%m-%d")) -> str:
        for form in formats:
            try:
                return (dt.datetime.strptime(match.group(0), form) + dt.timedelta(days=days)).strftime(form)
            except ValueError:
                continue
        return match.group(0)
    return re.sub(r"\d{8}(?=\d{6})|\d{2}/\d{2}/\d{4}|\d{4}-\d{2}-\d{2}", move, text)


def test_reimport_moving_dossiers_to_other_days_keeps_rollups_exact(engine, tmp_path):
    """The second file moves the unit's dossiers 3 days later: the days no longer covered lose their facts
    and their rollup rows in the same transaction (rollups equal a recompute from the facts)."""
    writers.upsert_units(engine, registry.all_units())
    import_file(engine, DOSSIERS, now=NOW)
    moved = tmp_path / "moved.csv"
    moved.write_text(shifted_dates(DOSSIERS.read_text(encoding="utf-8"), 3), encoding="utf-8")
    import_file(engine, moved, now=NOW)
    facts = facts_snapshot(engine)
    assert min(facts.day) == dt.date(2026, 3, 5)
    maintained = rollup_rows(engine)
    assert min(maintained["rollup_unit_day"]["day"]) == dt.date(2026, 3, 5)
    rollups.recompute_rollups(engine)
    for name, frame in rollup_rows(engine).items():
        pd.testing.assert_frame_equal(maintained[name], frame, obj=name)


def test_daily_file_import_and_reimport_is_identical(engine):
    summary = import_file(engine, DAILY, now=NOW)
    assert (summary.kind, summary.rows_read, summary.facts_written, summary.rows_quarantined) == ("daily", 4, 3, 1)
    assert "received_online must be a whole number >= 0" in summary.first_reasons[0]
    facts = facts_snapshot(engine)
    row = facts[(facts.unit_code == "25195") & (facts.day == dt.date(2026, 3, 9))].iloc[0]
    assert (row.field, row.received_online, row.pending_on_time) == ("ho_tich", 4, 7)
    assert pd.isna(row.paid_online)                                           # not reported, not zero
    import_file(engine, DAILY, now=NOW)
    assert facts_snapshot(engine).equals(facts) and len(list_quarantine(engine)) == 1


def test_file_with_a_missing_column_is_refused_clearly(tmp_path):
    path = tmp_path / "missing.csv"
    text = DOSSIERS.read_text(encoding="utf-8").replace(",NgayHenTra", "", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FatalError, match="lacks column\\(s\\) NgayHenTra"):
        import_file(None, path, kind="dossier", now=NOW)


def to_cp1258(text: str) -> bytes:
    """Vietnamese Windows encoding: precomposed where the code page has it, else base + combining tone mark."""
    out = b""
    for char in text:
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            base, *marks = unicodedata.normalize("NFD", char)
            tone = next(m for m in marks if m in "\u0300\u0301\u0303\u0309\u0323")
            rest = unicodedata.normalize("NFC", base + "".join(m for m in marks if m != tone))
            out += rest.encode("cp1258") + tone.encode("cp1258")
    return out


@pytest.mark.parametrize("encoding", ["cp1258", "utf-16", "utf-8-sig"])
def test_csv_in_legacy_encodings_reads_the_same(engine, tmp_path, encoding):
    path = tmp_path / f"dossiers-{encoding}.csv"
    text = DOSSIERS.read_text(encoding="utf-8")
    path.write_bytes(to_cp1258(text) if encoding == "cp1258" else text.encode(encoding))
    import_file(engine, path, now=NOW)
    assert table(facts_snapshot(engine), "ho_tich") == HO_TICH


def write_workbook(path: Path, sheets: dict[str, list[list]]) -> None:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)


def dossier_rows() -> list[list]:
    frame = pd.read_csv(DOSSIERS, dtype=str, keep_default_na=False)
    return [list(frame.columns)] + [[v or None for v in row] for row in frame.itertuples(index=False)]


def test_xlsx_data_found_on_its_sheet_and_wrong_sheet_refused(engine, tmp_path):
    path = tmp_path / "dossiers.xlsx"
    write_workbook(path, {"Bìa": [["Báo cáo hồ sơ TTHC"]], "Dữ liệu": dossier_rows()})
    import_file(engine, path, now=NOW)
    assert table(facts_snapshot(engine), "ho_tich") == HO_TICH
    with pytest.raises(FatalError, match="has no sheet 'Sheet1'; its sheets are Bìa, Dữ liệu"):
        import_file(engine, path, sheet="Sheet1", now=NOW)
    only_cover = tmp_path / "cover.xlsx"
    write_workbook(only_cover, {"Bìa": [["Báo cáo hồ sơ TTHC"]]})
    with pytest.raises(FatalError, match="No sheet of cover.xlsx has the columns MaHoSo"):
        import_file(engine, only_cover, kind="dossier", now=NOW)
