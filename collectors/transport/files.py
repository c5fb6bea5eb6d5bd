"""Reading CSV and XLSX drops: encodings, delimiters, sheets and header checks in one place.

Files from provincial systems arrive in UTF-8, UTF-8 with BOM, UTF-16 (Excel's "Unicode text")
or the legacy Vietnamese Windows code page cp1258 (whose tone marks are combining characters,
hence the NFC normalisation). Headers are matched without regard to case or surrounding spaces.
"""
from __future__ import annotations

import csv
import io
import unicodedata
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import pandas as pd

from collectors.base import FatalError

LEGACY_ENCODINGS = ("cp1258", "cp1252")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")


def read_table(path: str | Path, required: Sequence[str], aliases: Mapping[str, str] | None = None,
               sheet: str | None = None, encoding: str | None = None) -> pd.DataFrame:
    """The rows of a CSV or XLSX file with canonical headers; FatalError if a required column is missing."""
    path = Path(path)
    if not path.is_file():
        raise FatalError(f"File {path} does not exist")
    if path.suffix.lower() in EXCEL_SUFFIXES:
        frame = _read_xlsx(path, required, aliases or {}, sheet)
    elif path.suffix.lower() in (".csv", ".txt", ".tsv"):
        frame = _read_csv(path, encoding)
    else:
        raise FatalError(f"File {path} is neither CSV nor XLSX; save it as .csv (UTF-8) or .xlsx")
    frame = frame.rename(columns=_header_map(frame.columns, aliases or {}))
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise FatalError(f"File {path.name} lacks column(s) {', '.join(missing)}; it has {', '.join(map(str, frame.columns))}."
                         f" Expected at least: {', '.join(required)}")
    return frame.dropna(how="all").reset_index(drop=True)


def decode(data: bytes, encoding: str | None = None) -> str:
    """Text of a file: the given encoding, else BOM, else UTF-8, else the legacy Vietnamese code page."""
    if encoding:
        try:
            return unicodedata.normalize("NFC", data.decode(encoding))
        except (LookupError, UnicodeDecodeError) as err:
            raise FatalError(f"Cannot read the file as {encoding}: {err}") from None
    for bom, name in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return unicodedata.normalize("NFC", data.decode(name))
    try:
        return unicodedata.normalize("NFC", data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    for name in LEGACY_ENCODINGS:
        try:
            return unicodedata.normalize("NFC", data.decode(name))
        except UnicodeDecodeError:
            continue
    raise FatalError("Cannot tell the file's encoding; save it as UTF-8 or pass --encoding")


def _read_csv(path: Path, encoding: str | None) -> pd.DataFrame:
    text = decode(path.read_bytes(), encoding)
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t", "|"), key=first_line.count)
    try:
        return pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False, na_values=[""],
                           skipinitialspace=True)
    except (pd.errors.ParserError, csv.Error) as err:
        raise FatalError(f"File {path.name} is not a well-formed CSV: {err}") from None


def _read_xlsx(path: Path, required: Sequence[str], aliases: Mapping[str, str], sheet: str | None) -> pd.DataFrame:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many kinds for a damaged file
        raise FatalError(f"File {path.name} is not a readable XLSX workbook: {err}") from None
    try:
        names = book.sheetnames
        if sheet is not None and sheet not in names:
            raise FatalError(f"File {path.name} has no sheet {sheet!r}; its sheets are {', '.join(names)}")
        headers = {name: _sheet_header(book[name]) for name in ([sheet] if sheet else names)}
        chosen = sheet or _sheet_with(headers, required, aliases)
        if chosen is None:
            found = "; ".join(f"{n}: {', '.join(h) or '(empty)'}" for n, h in headers.items())
            raise FatalError(f"No sheet of {path.name} has the columns {', '.join(required)}. Sheets found: {found}."
                             " Put the data on a sheet with these headers in the first row, or pass --sheet")
        rows = list(book[chosen].iter_rows(values_only=True))
    finally:
        book.close()
    header = [str(h).strip() if h is not None else f"column_{i}" for i, h in enumerate(rows[0])]
    return pd.DataFrame(rows[1:], columns=header, dtype=object)


def _sheet_header(worksheet) -> list[str]:
    for row in worksheet.iter_rows(min_row=1, max_row=1, values_only=True):
        return [str(v).strip() for v in row if v is not None]
    return []


def _sheet_with(headers: Mapping[str, list[str]], required: Sequence[str], aliases: Mapping[str, str]) -> str | None:
    for name, header in headers.items():
        if all(c in _header_map(header, aliases).values() or c in header for c in required):
            return name
    return None


def _header_map(columns: Iterable, aliases: Mapping[str, str]) -> dict:
    """Map headers to canonical names, ignoring case, spaces and a stray BOM."""
    lookup = {_norm(k): v for k, v in aliases.items()}
    out = {}
    for column in columns:
        key = _norm(column)
        out[column] = lookup.get(key, str(column).strip().lstrip("\ufeff"))
    return out


def _norm(value) -> str:
    return str(value).strip().lstrip("\ufeff").lower().replace(" ", "").replace("_", "")
