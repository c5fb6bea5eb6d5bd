"""Exports: Biểu 06 XLSX layout and figures, statistics CSV/XLSX, download route validation, jobs, CLI."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pandas as pd
import pytest
from openpyxl import load_workbook

import app as app_module
from config.settings import load_settings
from dashboards import loaders, loaders_export
from dashboards.app import create_app
from dashboards.exports import cli, statistics
from dashboards.exports.bieu06_xlsx import read_bieu06_xlsx
from dashboards.exports.jobs import ExportJobs
from dashboards.exports.request import ExportInputError, ExportRequest, apply_scope, build_request, file_name
from dashboards.exports.run import write_export
from store import readers
from store.readers_export import period_buckets
from tests.dashboards import fixtures_export as fx, sample



@pytest.fixture
def web(engine, tmp_path):
    """The app on the engine (both backends) with simulated facts; a Flask test client."""
    loaders.clear()
    loaders_export.clear()
    fx.write_simulated(engine)
    settings = load_settings(environ={}, data_dir=tmp_path, auth_enabled=False)
    dash_app = create_app(settings, engine, None, now=lambda: fx.NOW)
    yield dash_app.server.test_client()
    loaders.clear()
    loaders_export.clear()


def _get(client, query: str):
    response = client.get("/export/download?" + query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def _csv(response) -> pd.DataFrame:
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_bieu06_xlsx_layout_and_totals_equal_the_overview(web, engine):
    response = _get(web, "from=2025-07-01&to=2025-08-27&format=bieu06-xlsx")
    assert response.headers["Content-Disposition"] == "attachment; filename=bieu06_75_2025-07-01_2025-08-27.xlsx"
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert sheet["A1"].value == "Đơn vị báo cáo: Tỉnh Đồng Nai"
    assert sheet["J1"].value == "Biểu số 06/VPCP/KSTT"
    assert sheet["A3"].value.startswith("TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH")
    assert sheet["A4"].value == "Kỳ báo cáo: từ ngày 01/07/2025 đến ngày 27/08/2025"
    assert sheet["J6"].value == "Đơn vị tính: Số hồ sơ"
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {"A7:A8", "B7:B8", "C7:F7", "G7:J7", "K7:M7", "A3:M3"} <= merged
    assert [sheet.cell(7, c).value for c in (1, 2, 3, 7, 11)] == [
        "STT", "Lĩnh vực, công việc giải quyết theo cấp", "Số hồ sơ nhận giải quyết", "Số hồ sơ đã giải quyết",
        "Số hồ sơ đang giải quyết"]
    assert [sheet.cell(8, c).value for c in range(3, 14)] == [
        "Tổng số", "Trực tuyến", "Trực tiếp, dịch vụ bưu chính", "Từ kỳ trước", "Tổng số", "Trước hạn", "Đúng hạn",
        "Quá hạn", "Tổng số", "Trong hạn", "Quá hạn"]
    assert [sheet.cell(9, c).value for c in range(1, 14)] == [f"({n})" for n in range(1, 14)]
    assert sheet.cell(10, 3).number_format == "#,##0" and sheet.cell(10, 3).border.left.style == "thin"

    table = read_bieu06_xlsx(io.BytesIO(response.get_data()))
    assert table[1].tolist()[:-1] == ["I", *map(str, range(1, 9)), "II", *map(str, range(1, 9))]
    assert table.loc[[0, 9, 18], 2].tolist() == ["Cấp tỉnh", "Cấp xã", "Tổng cộng"]
    total = table.iloc[-1]
    # Same figures as the overview's KPI strip and the store reader for the same period.
    kpis = loaders.province_kpis(engine, "75", fx.START, fx.END)
    assert total[4] + total[5] == kpis["received"]
    assert total[7] == kpis["resolved"]
    assert (total[8] + total[9]) / total[7] == pytest.approx(kpis["on_time_bieu06"])
    assert total[13] == kpis["overdue_pending"]
    stored = readers.period_totals(engine, fx.START, fx.END, province_code="75", group_by=()).iloc[0]
    assert [total[n] for n in (4, 5, 6, 8, 9, 10, 12, 13)] == [stored[c] for c in (
        "received_online", "received_direct", "carried_over", "resolved_early", "resolved_on_time", "resolved_late",
        "pending_on_time", "pending_overdue")]
    # Subtotals add up; the simulator keeps received + carried over = resolved + pending.
    assert (table.loc[0, range(3, 14)] + table.loc[9, range(3, 14)] == total[range(3, 14)]).all()
    assert (table.loc[10:17, range(3, 14)].sum() == table.loc[9, range(3, 14)]).all()
    assert (table[3] == table[7] + table[11]).all()
    province_level = readers.period_totals(engine, fx.START, fx.END, unit_codes=["75"], group_by=()).iloc[0]
    assert table.loc[0, 4] == province_level["received_online"]


def test_bieu06_hand_computed_for_chosen_communes(engine):
    sample.write_sample(engine)
    request = build_request(dt.date(2025, 8, 25), dt.date(2025, 8, 26), "75", {"75", sample.A, sample.B, sample.C},
                            unit_codes=[sample.B, sample.A], fmt="bieu06-xlsx")
    out = io.BytesIO()
    write_export(engine, request, out, units=readers.load_units(engine, "75"), reporter="Tỉnh Đồng Nai",
                 generated_at=fx.NOW)
    out.seek(0)
    sheet = load_workbook(out).active
    assert sheet["A5"].value == "Phạm vi: 2 đơn vị được chọn (25195, 25210)"
    out.seek(0)
    table = read_bieu06_xlsx(out)
    # Only the commune level: A + B on 25/08, field Hộ tịch (see tests/dashboards/sample.py).
    assert table[2].tolist()[:2] == ["Cấp xã", "Hộ tịch"]
    ho_tich = table.iloc[1]
    assert [ho_tich[n] for n in range(3, 14)] == [1134, 900, 234, 0, 957, 500, 450, 7, 178, 170, 8]
    assert (table.iloc[2:9][list(range(3, 14))] == 0).all().all()
    assert table.iloc[-1][3] == 1134 and table.iloc[-1][2] == "Tổng cộng"
    assert "2/2 đơn vị" in sheet.cell(10 + len(table) + 1, 1).value


@pytest.mark.parametrize("by", ["day", "week", "month", "quarter", "year"])
def test_csv_sums_equal_the_period_totals(web, engine, by):
    frame = _csv(_get(web, f"from=2025-07-03&to=2025-08-27&format=csv&by={by}"))
    assert frame.columns[19] == "Tỷ lệ đúng hạn theo Biểu 06: (trước hạn + đúng hạn) / đã giải quyết"
    assert frame.columns[20].startswith("Tỷ lệ đúng hạn theo QĐ 766")
    numbers = frame.iloc[:, 8:19].astype("int64")
    numbers.columns = ["carried_over", "received_online", "received_direct", "received", "resolved_early",
                       "resolved_on_time", "resolved_late", "resolved", "pending_on_time", "pending_overdue",
                       "nearly_due"]
    start, end = dt.date(2025, 7, 3), dt.date(2025, 8, 27)
    stored = readers.period_totals(engine, start, end, province_code="75", group_by=()).iloc[0]
    for column in ("received_online", "received_direct", "resolved_early", "resolved_on_time", "resolved_late"):
        assert numbers[column].sum() == stored[column]
    buckets = period_buckets(start, end, by)
    first, last = frame["Kỳ"] == buckets[0].label, frame["Kỳ"] == buckets[-1].label
    assert numbers.loc[first, "carried_over"].sum() == stored["carried_over"] > 0
    assert numbers.loc[last, "pending_overdue"].sum() == stored["pending_overdue"]
    assert numbers.loc[last, "pending_on_time"].sum() == stored["pending_on_time"]
    assert (numbers["received"] == numbers["received_online"] + numbers["received_direct"]).all()
    row = numbers.iloc[0]
    rate = frame.iloc[0, 19]
    assert float(rate) == pytest.approx((row["resolved_early"] + row["resolved_on_time"]) / row["resolved"], abs=1e-6)
    assert set(frame["Mã đơn vị"]) == set(fx.CODES)
    assert frame.loc[frame["Mã đơn vị"] == "75", "Cấp"].unique().tolist() == ["Cấp tỉnh"]


def _reference_csv(engine, export, info) -> bytes:
    """The CSV as csv.writer writes stat_frame's rows one by one (the format before the columnar writer)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(statistics.headers(export.lang))
    for frame in statistics.iter_stat_frames(engine, export, info):
        for record in frame.itertuples(index=False, name=None):
            writer.writerow([_reference_value(value, kind) for value, (_, kind) in zip(record, statistics.STAT_COLUMNS)])
    return (statistics.UTF8_BOM + buffer.getvalue()).encode("utf-8")


def _reference_value(value, kind):
    if kind == statistics.DATE:
        return value.isoformat()
    if kind == statistics.RATE:
        return "" if pd.isna(value) else f"{value:.{statistics.RATE_DIGITS}f}"
    if kind == statistics.COUNT:
        return int(value)
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else value


@pytest.mark.parametrize("by, lang, units", [("day", "vi", None), ("week", "en", ("25195", "75")),
                                             ("month", "vi", ("25210",)), ("year", "en", None)])
def test_csv_bytes_equal_csv_writer_on_stat_frames(engine, by, lang, units):
    fx.write_simulated(engine)
    info = statistics.UnitInfo.from_frame(readers.load_units(engine, "75"))
    info = statistics.UnitInfo({**info.names, "25195": 'Xã "A", B'}, info.levels)   # a name csv must quote
    export = ExportRequest(dt.date(2025, 7, 3), dt.date(2025, 8, 27), "75", units, None, by, "csv", lang)
    fast = b"".join(statistics.iter_csv(engine, export, info))
    assert fast == _reference_csv(engine, export, info)
    assert fast.count(b"\r\n") > 10 and (b'"X\xc3\xa3 ""A"", B"' in fast) == (units != ("25210",))


def test_statistics_xlsx_matches_csv_and_has_metadata(web):
    query = "from=2025-07-01&to=2025-08-27&by=month&units=25195,75&fields=ho_tich,dat_dai"
    table = _csv(_get(web, query + "&format=csv"))
    response = _get(web, query + "&format=xlsx")
    assert response.headers["Content-Disposition"].endswith("thong-ke-dung-han_month_75_2-don-vi_2025-07-01_2025-08-27.xlsx")
    book = load_workbook(io.BytesIO(response.get_data()))
    data, meta = book["Thống kê"], book["Thông tin"]
    rows = list(data.iter_rows(values_only=True))
    assert list(rows[0]) == list(table.columns)
    assert len(rows) - 1 == len(table) == 2 * 2 * 2           # 2 months x 2 units x 2 fields
    assert [r[11] for r in rows[1:]] == table.iloc[:, 11].astype(int).tolist()
    assert data.cell(2, 20).number_format == "0.00%"
    info = {r[0]: r[1] for r in meta.iter_rows(values_only=True)}
    assert info["Từ ngày"] == "01/07/2025" and info["Đến ngày"] == "27/08/2025"
    assert info["Đơn vị"] == "25195, 75" and info["Lĩnh vực"] == "ho_tich, dat_dai"
    assert info["Số dòng số liệu"] == 8 and info["Chia theo kỳ"] == "Tháng"
    assert info["Lập lúc"] == "10:00 27/08/2025" and info["Lần thu thập gần nhất"] == "09:30 27/08/2025"
    assert info["Dữ liệu có từ ngày … đến ngày …"] == "01/07/2025 – 27/08/2025"


def test_statistics_xlsx_continues_on_new_sheets_and_holds_the_csv_values(web, monkeypatch):
    from dashboards.exports import xlsx_stream

    monkeypatch.setattr(xlsx_stream, "MAX_ROWS", 11)   # 10 data rows a sheet instead of 1,048,575
    query = "from=2025-07-01&to=2025-08-27&by=week&units=25195,75&fields=ho_tich,dat_dai"
    table = _csv(_get(web, query + "&format=csv"))
    book = load_workbook(io.BytesIO(_get(web, query + "&format=xlsx").get_data()))
    assert book.sheetnames == ["Thống kê", "Thống kê (2)", "Thống kê (3)", "Thống kê (4)", "Thông tin"]
    sheets = [list(book[name].iter_rows(values_only=True)) for name in book.sheetnames[:4]]
    assert [len(rows) for rows in sheets] == [11, 11, 11, 7] and all(rows[0] == sheets[0][0] for rows in sheets)
    rows = [row for sheet in sheets for row in sheet[1:]]
    assert len(rows) == len(table) == 9 * 2 * 2
    assert [r[0] for r in rows] == table["Kỳ"].tolist()
    assert [r[1].date().isoformat() for r in rows] == table.iloc[:, 1].tolist()
    assert [r[3] for r in rows] == table["Mã đơn vị"].tolist() and [r[4] for r in rows] == table.iloc[:, 4].tolist()
    assert [list(r[8:19]) for r in rows] == table.iloc[:, 8:19].astype(int).values.tolist()
    rates = [[None if v == "" else float(v) for v in row] for row in table.iloc[:, 19:22].values.tolist()]
    assert [list(r[19:22]) for r in rows] == rates
    assert book["Thống kê (2)"].cell(2, 20).number_format == "0.00%" and book["Thống kê"].freeze_panes == "A2"
    assert {r[0]: r[1] for r in book["Thông tin"].iter_rows(values_only=True)}["Số dòng số liệu"] == 36


@pytest.mark.parametrize("query, message", [
    ("to=2025-08-27", "Parameter 'from' is missing"),
    ("from=2025-07-01&to=27/08/2025", "to must be a date written YYYY-MM-DD"),
    ("from=2025-08-27&to=2025-07-01", "starts on 2025-08-27 after it ends on 2025-07-01"),
    ("from=2025-07-01&to=2025-08-27&units=../../etc/passwd", "Unit codes are 2 to 8 digits"),
    ("from=2025-07-01&to=2025-08-27&units=01001", "Unknown unit codes for province 75: 01001"),
    ("from=2025-07-01&to=2025-08-27&fields=thue", "Unknown procedure fields 'thue'"),
    ("from=2025-07-01&to=2025-08-27&by=fortnight", "Unknown period grain 'fortnight'"),
    ("from=2025-07-01&to=2025-08-27&format=../x.xlsx", "Unknown export format '../x.xlsx'"),
    ("from=2025-07-01&to=2025-08-27&name=x", "Unknown parameters ['name']"),
    ("from=2025-07-01&from=2025-07-02&to=2025-08-27", "Parameter 'from' is given 2 times"),
])
def test_download_route_answers_400_with_a_clear_message(web, query, message):
    response = web.get("/export/download?" + query)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert text.startswith("Yêu cầu xuất số liệu không hợp lệ: ") and message in text
    assert response.mimetype == "text/plain"


@pytest.mark.parametrize("job_id", ["0" * 32, "zz", "..", "%2E%2E"])
def test_unknown_job_files_are_404(web, job_id):
    response = web.get(f"/export/jobs/{job_id}")
    assert response.status_code == 404 and "Không còn tệp này" in response.get_data(as_text=True)
    # A slash in the id never reaches the job route (Dash's page router answers instead): no file escapes.
    assert "root:" not in web.get("/export/jobs/..%2F..%2F..%2Fetc%2Fpasswd").get_data(as_text=True)


def test_exports_need_a_login_and_stay_in_the_callers_scope(engine, tmp_path):
    from access.scope import OutOfScope, scope_for

    fx.write_simulated(engine, codes=("25195",))
    guarded = create_app(load_settings(environ={}, data_dir=tmp_path), engine, None, now=lambda: fx.NOW)
    response = guarded.server.test_client().get("/export/download?from=2025-07-01&to=2025-08-27&format=csv")
    assert response.status_code == 401 and response.get_json()["error"] == "authentication required"

    request = build_request(fx.START, fx.END, "75", {"75", "25195", "25210"}, fmt="csv")
    chair = scope_for("chair", "75", "25195", username="chair1")
    assert apply_scope(request, chair).unit_codes == ("25195",)     # "whole province" = the chair's commune
    with pytest.raises(OutOfScope, match="may not read unit"):
        apply_scope(build_request(fx.START, fx.END, "75", {"25210"}, unit_codes=["25210"]), chair)
    with pytest.raises(OutOfScope, match="may not export"):
        apply_scope(request, scope_for("admin", "75"))


def test_file_names_come_only_from_validated_parts():
    request = build_request(dt.date(2025, 7, 1), dt.date(2025, 8, 27), "75", {"75", "25195"},
                            unit_codes=["25195"], by="week", fmt="csv")
    assert file_name(request) == "thong-ke-dung-han_week_75_1-don-vi_2025-07-01_2025-08-27.csv"
    with pytest.raises(ExportInputError, match="longer than"):
        build_request(dt.date(2025, 7, 1), dt.date(9999, 1, 1), "75", set())


def test_jobs_run_in_the_background_and_report_progress(tmp_path):
    jobs = ExportJobs(tmp_path)
    seen = []

    def work(path, progress):
        for step in (1, 2, 3):
            progress(step, 3)
            seen.append(step)
        path.write_bytes(b"a,b\r\n1,2\r\n")
        return 1

    def failing(path, progress):
        raise RuntimeError("disk full")

    ok, bad = jobs.submit(work, "x.csv", 3), jobs.submit(failing, "y.csv", 1)
    jobs.shutdown()
    status = jobs.status(ok)
    assert (status.state, status.done, status.total, status.rows) == ("done", 3, 3, 1) and seen == [1, 2, 3]
    path, name = jobs.file(ok)
    assert name == "x.csv" and path.read_bytes() == b"a,b\r\n1,2\r\n" and path.parent.parent == tmp_path
    assert jobs.status(bad).state == "failed" and jobs.status(bad).error == "RuntimeError: disk full"
    assert jobs.file(bad) is None and jobs.status("../etc") is None


def _cli(engine, tmp_path, *arguments):
    args = app_module.build_parser().parse_args(["export", *arguments])
    settings = load_settings(environ={}, data_dir=tmp_path, auth_enabled=False)
    return cli.run(args, settings, engine, now=fx.NOW)


def test_cli_writes_the_same_numbers_with_a_progress_bar(engine, tmp_path, capsys):
    fx.write_simulated(engine)
    out = tmp_path / "stats.csv"
    assert _cli(engine, tmp_path, "--from", "2025-07-01", "--to", "2025-08-27", "--format", "csv", "--by", "week",
                "--units", "25195,25210", "--out", str(out)) == 0
    err = capsys.readouterr().err
    assert "Xuất stats.csv" in err and "1/1" in err and "Wrote 144 rows" in err   # 1 chunk; 9 weeks x 2 units x 8 fields
    frame = pd.read_csv(out, encoding="utf-8-sig", dtype={"Mã đơn vị": str})
    stored = readers.period_totals(engine, fx.START, fx.END, unit_codes=["25195", "25210"], group_by=()).iloc[0]
    assert frame["Tiếp nhận trực tuyến"].sum() == stored["received_online"]

    assert _cli(engine, tmp_path, "--from", "2025-07-01", "--to", "2025-08-27", "--format", "csv",
                "--out", str(out)) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert _cli(engine, tmp_path, "--from", "2025-07-01", "--to", "2025-08-27", "--format", "bieu06-xlsx",
                "--out", str(tmp_path / "b.xlsx")) == 0
    assert read_bieu06_xlsx(tmp_path / "b.xlsx").iloc[-1][4] == readers.period_totals(
        engine, fx.START, fx.END, province_code="75", group_by=()).iloc[0]["received_online"]


@pytest.mark.parametrize("arguments, message", [
    (["--units", "25195,99999"], "Cannot export: Unknown unit codes for province 75: 99999"),
    (["--out", "/nonexistent-dir/x.csv"], "Folder /nonexistent-dir does not exist"),
    (["--out", "/proc/x.csv"], "Cannot write into /proc"),
])
def test_cli_refuses_bad_input_clearly(engine, tmp_path, capsys, arguments, message):
    upsert_args = ["--from", "2025-07-01", "--to", "2025-08-27", "--format", "csv"]
    if "--out" not in arguments:
        arguments = arguments + ["--out", str(tmp_path / "x.csv")]
    fx.write_simulated(engine, codes=("25195",))
    assert _cli(engine, tmp_path, *upsert_args, *arguments) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_cli_rejects_a_bad_date_before_touching_the_store(capsys):
    with pytest.raises(SystemExit) as exit_info:
        app_module.build_parser().parse_args(["export", "--from", "2025-02-30", "--to", "2025-08-27", "--format", "csv",
                                              "--out", "x.csv"])
    assert exit_info.value.code == 2
    assert "argument --from: '2025-02-30' is not a date; write it as YYYY-MM-DD" in capsys.readouterr().err
