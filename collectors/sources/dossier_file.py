"""Dossier-level CSV/XLSX in the national portal's sync field names, aggregated into daily facts.

Columns: MaHoSo, MaDonVi (official unit code), LinhVuc, KenhThucHien (1 direct, 2 online,
3 postal; empty = direct), NgayTiepNhan, NgayHenTra, NgayKetThucXuLy (empty while open), and
optionally DuocThanhToanTrucTuyen, HoSoCoThanhPhanSoHoa. KPI.md §1 classifies on calendar days:
trước hạn when finished before the due day, đúng hạn on it, quá hạn after it; an open dossier is
pending within deadline at the end of day d while its due day is d or later, overdue after, and
nearly due when due on d or d+1.

`parse` is pure: rows -> dossier records (bad rows rejected) -> facts of this file alone. The
importer keeps records by (source, MaHoSo) and recomputes facts from all of them, so a re-import
or an overlapping file never double counts.
"""
from __future__ import annotations

import datetime as dt
import json
import unicodedata
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from collectors.base import Batch, FetchRequest, Rejected
from collectors.transport.files import read_table
from config.facts import FACT_COLUMNS, OPTIONAL_COLUMNS
from config.fields import PROCEDURE_FIELDS
from geo import registry

REQUIRED = ("MaHoSo", "MaDonVi", "LinhVuc", "KenhThucHien", "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy")
OPTIONAL = ("DuocThanhToanTrucTuyen", "HoSoCoThanhPhanSoHoa")
RECORD_COLUMNS = ("dossier_id", "unit_code", "field", "channel", "received_at", "due_at", "finished_at",
                  "paid_online", "digitised")
TRUE_VALUES = {"1", "true", "x", "co", "có", "yes", "y", "đã", "da"}
DATE_FORMATS = ("%Y%m%d%H%M%S", "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d",
                "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y")


def default_field_map() -> dict[str, str]:
    """LinhVuc values understood without configuration: field codes and Vietnamese/English names."""
    mapping = {}
    for field in PROCEDURE_FIELDS:
        for label in (field.code, field.name_vi, field.name_en):
            mapping[_fold(label)] = field.code
    mapping[_fold("Khác")] = "khac"
    return mapping


class DossierFileSource:
    """A dossier-level file drop; `fetch` reads the file, `parse` validates and aggregates."""

    def __init__(self, path: str | Path, name: str = "dossier_file", sheet: str | None = None,
                 encoding: str | None = None, field_map: Mapping[str, str] | None = None,
                 default_field: str | None = None, as_of: dt.date | None = None):
        self.path, self.name, self.sheet, self.encoding = Path(path), name, sheet, encoding
        self.field_map = {**default_field_map(), **{_fold(k): v for k, v in (field_map or {}).items()}}
        self.default_field = default_field
        self.as_of = as_of

    def fetch(self, request: FetchRequest) -> pd.DataFrame:
        """The file's rows with canonical headers."""
        aliases = {c: c for c in REQUIRED + OPTIONAL}
        return read_table(self.path, REQUIRED, aliases, self.sheet, self.encoding)

    def parse(self, payload: pd.DataFrame, request: FetchRequest) -> Batch:
        """Rows -> facts of this file alone, as of the request's last day (or the file's last date)."""
        records, rejected = parse_dossiers(payload, request.unit_codes, self.field_map, self.default_field)
        as_of = self.as_of or min(request.last_day, latest_day(records) or request.last_day)
        return Batch(aggregate_dossiers(records, as_of, self.name), rejected)


def parse_dossiers(frame: pd.DataFrame, unit_codes=None, field_map: Mapping[str, str] | None = None,
                   default_field: str | None = None) -> tuple[pd.DataFrame, list[Rejected]]:
    """Validate dossier rows into records of RECORD_COLUMNS; rejected rows keep their reason and raw row."""
    field_map = field_map or default_field_map()
    known = set(unit_codes) if unit_codes else set(registry.all_units().code)
    out = pd.DataFrame({
        "dossier_id": _text(frame["MaHoSo"]),
        "unit_code": _text(frame["MaDonVi"]),
        "field": _text(frame["LinhVuc"]).map(lambda v: field_map.get(_fold(v), default_field) if v else None),
        "channel": pd.to_numeric(frame["KenhThucHien"], errors="coerce"),
        "received_at": parse_datetimes(frame["NgayTiepNhan"]),
        "due_at": parse_datetimes(frame["NgayHenTra"]),
        "finished_at": parse_datetimes(frame["NgayKetThucXuLy"]),
        "paid_online": _flags(frame.get("DuocThanhToanTrucTuyen")),
        "digitised": _flags(frame.get("HoSoCoThanhPhanSoHoa")),
    })
    problems = _problems(frame, out, known)
    bad = problems.str.len() > 0
    rejected = [Rejected(problems[i], _raw_row(frame.loc[i]), _or_none(out.at[i, "unit_code"]),
                         _day_or_none(out.at[i, "received_at"])) for i in np.flatnonzero(bad)]
    good = out.loc[~bad]
    duplicated = good.duplicated("dossier_id", keep="last")
    rejected += [Rejected("MaHoSo appears again later in the file; the later row was kept",
                          _raw_row(frame.loc[i]), good.at[i, "unit_code"]) for i in good.index[duplicated]]
    good = good.loc[~duplicated].copy()
    good["channel"] = good["channel"].fillna(1).astype("int64")
    return good.reset_index(drop=True), rejected


def _problems(frame: pd.DataFrame, out: pd.DataFrame, known: set[str]) -> pd.Series:
    problems = pd.Series("", index=frame.index, dtype=object)

    def flag(mask, message):
        mask = pd.Series(mask, index=frame.index).fillna(True).astype(bool)
        problems[mask] = problems[mask] + np.where(problems[mask].str.len() > 0, "; ", "") + message

    flag(out.dossier_id.isna(), "MaHoSo is empty")
    flag(~out.unit_code.isin(known), "MaDonVi is not a known unit code (QĐ 19/2025/QĐ-TTg)")
    flag(out.field.isna(), "LinhVuc is empty or not in the field mapping; map it in the source's field_map")
    flag(frame["KenhThucHien"].notna() & ~out.channel.isin([1, 2, 3]), "KenhThucHien must be 1, 2 or 3")
    flag(out.received_at.isna(), "NgayTiepNhan is not a date")
    flag(out.due_at.isna(), "NgayHenTra is not a date")
    flag(frame["NgayKetThucXuLy"].notna() & out.finished_at.isna(), "NgayKetThucXuLy is not a date")
    flag(out.finished_at.notna() & (out.finished_at.dt.normalize() < out.received_at.dt.normalize()),
         "NgayKetThucXuLy is before NgayTiepNhan")
    return problems


def latest_day(records: pd.DataFrame) -> dt.date | None:
    """The newest calendar day any record mentions (receipt or end), or None."""
    if records.empty:
        return None
    newest = pd.concat([records.received_at, records.finished_at]).max()
    return None if pd.isna(newest) else newest.date()


def aggregate_dossiers(records: pd.DataFrame, as_of: dt.date, source: str) -> pd.DataFrame:
    """Daily facts per (unit, field, day) from dossier records, from each group's first receipt to as_of."""
    records = records.loc[records.received_at.dt.date <= as_of]
    if records.empty:
        return pd.DataFrame(columns=list(FACT_COLUMNS))
    origin = records.received_at.min().normalize()
    n_days = (pd.Timestamp(as_of) - origin).days + 1
    groups = pd.MultiIndex.from_frame(records[["unit_code", "field"]].astype(str))
    codes, uniques = pd.factorize(groups)
    counts = _Counts(len(uniques), n_days)
    day = lambda values: ((values.dt.normalize() - origin).dt.days).to_numpy()  # noqa: E731
    received, due = day(records.received_at), day(records.due_at)
    finished = records.finished_at.dt.normalize()
    done = finished.notna().to_numpy() & (finished <= pd.Timestamp(as_of)).to_numpy()
    fin = np.where(done, day(records.finished_at.fillna(origin)), n_days)
    online = records.channel.to_numpy() == 2
    counts.point("received_online", codes[online], received[online])
    counts.point("received_direct", codes[~online], received[~online])
    for name, mask in (("resolved_early", fin < due), ("resolved_on_time", fin == due), ("resolved_late", fin > due)):
        mask = mask & done
        counts.point(name, codes[mask], fin[mask])
    last_open = fin - 1                                     # open through the day before it ends (or as_of)
    counts.span("open", codes, received, last_open)
    counts.span("pending_overdue", codes, np.maximum(received, due + 1), last_open)
    counts.span("nearly_due", codes, np.maximum(received, due - 1), np.minimum(due, last_open))
    for name, column in (("paid_online", "paid_online"), ("digitised", "digitised")):
        flags = records[column]
        if flags.notna().any():
            mask = flags.fillna(False).astype(bool).to_numpy()
            counts.point(name, codes[mask], received[mask])
    return counts.facts(uniques, records, codes, received, origin, source)


class _Counts:
    """Per-(group, day) counters: point events and day spans (via difference arrays)."""

    def __init__(self, n_groups: int, n_days: int):
        self.shape = (n_groups, n_days)
        self.values: dict[str, np.ndarray] = {}

    def point(self, name: str, groups: np.ndarray, days: np.ndarray) -> None:
        array = self.values.setdefault(name, np.zeros(self.shape, dtype=np.int64))
        keep = (days >= 0) & (days < self.shape[1])
        np.add.at(array, (groups[keep], days[keep]), 1)

    def span(self, name: str, groups: np.ndarray, first: np.ndarray, last: np.ndarray) -> None:
        first, last = np.maximum(first, 0), np.minimum(last, self.shape[1] - 1)
        keep = first <= last
        diff = np.zeros((self.shape[0], self.shape[1] + 1), dtype=np.int64)
        np.add.at(diff, (groups[keep], first[keep]), 1)
        np.add.at(diff, (groups[keep], last[keep] + 1), -1)
        self.values[name] = np.cumsum(diff, axis=1)[:, :-1]

    def get(self, name: str) -> np.ndarray:
        return self.values.get(name, np.zeros(self.shape, dtype=np.int64))

    def facts(self, uniques, records, codes, received, origin, source) -> pd.DataFrame:
        first_day = np.full(self.shape[0], self.shape[1], dtype=np.int64)
        np.minimum.at(first_day, codes, received)
        group, day = np.nonzero(np.arange(self.shape[1])[None, :] >= first_day[:, None])
        units, fields = uniques.get_level_values(0).to_numpy(), uniques.get_level_values(1).to_numpy()
        frame = pd.DataFrame({"unit_code": units[group], "day": (origin + pd.to_timedelta(day, "D")).date,
                              "field": fields[group], "source": source})
        columns = {name: self.get(name)[group, day] for name in
                   ("received_online", "received_direct", "resolved_early", "resolved_on_time", "resolved_late",
                    "pending_overdue", "nearly_due")}
        columns["pending_on_time"] = self.get("open")[group, day] - columns["pending_overdue"]
        for name in OPTIONAL_COLUMNS:
            present = name in self.values
            columns[name] = pd.array(self.values[name][group, day] if present else [pd.NA] * len(group), dtype="Int64")
        for name, values in columns.items():
            frame[name] = values
        return frame[list(FACT_COLUMNS)]


def parse_datetimes(values: pd.Series) -> pd.Series:
    """Dates as the portal writes them (yyyyMMddHHmmss, ISO, dd/mm/yyyy ...) or Excel dates; NaT if none fits."""
    if values is None:
        return pd.Series(pd.NaT, dtype="datetime64[ns]")
    native = pd.to_datetime(values.where(values.map(lambda v: isinstance(v, (dt.date, pd.Timestamp)))),
                            errors="coerce")
    text = values.map(lambda v: None if v is None or isinstance(v, (dt.date, pd.Timestamp)) or pd.isna(v)
                      else str(v).strip().removesuffix(".0"))
    result = native.astype("datetime64[ns]")
    for fmt in DATE_FORMATS:
        if not result.isna().any():
            break
        result = result.fillna(pd.to_datetime(text, format=fmt, errors="coerce"))
    return result


def _flags(values: pd.Series | None) -> pd.Series:
    if values is None:
        return pd.Series(None, dtype=object)
    return values.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == ""
                      else _fold(str(v)).removesuffix(".0") in TRUE_VALUES or v is True)


def _text(values: pd.Series) -> pd.Series:
    return values.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == ""
                      else str(v).strip().removesuffix(".0"))


def _fold(text: Any) -> str:
    """Lower-case, accents removed, spaces as underscores: 'Hộ tịch' -> 'ho_tich'."""
    text = unicodedata.normalize("NFD", str(text).strip().lower().replace("đ", "d"))
    return "_".join("".join(c for c in text if unicodedata.category(c) != "Mn").split())


def _raw_row(row: pd.Series) -> str:
    return json.dumps({k: (None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
                       for k, v in row.items()}, ensure_ascii=False)


def _or_none(value):
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


def _day_or_none(value) -> dt.date | None:
    return None if pd.isna(value) else value.date()
