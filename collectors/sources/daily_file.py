"""CSV or XLSX already at the daily grain: one row per unit, day and procedure field.

Headers are the canonical column names (config/facts.py) or their aliases below; optional counts
may be absent (NULL = not reported). `fetch` reads the file, `parse` is pure.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import pandas as pd

from collectors.base import Batch, FetchRequest
from collectors.sources.dossier_file import _fold, default_field_map, parse_datetimes
from collectors.transport.files import read_table
from collectors.validation import RAW_COLUMN
from config.facts import COUNT_COLUMNS, FACT_COLUMNS, FLOW_COLUMNS, STOCK_COLUMNS

REQUIRED = ("unit_code", "day", "field") + FLOW_COLUMNS + STOCK_COLUMNS
ALIASES = {"MaDonVi": "unit_code", "Ngay": "day", "NgayBaoCao": "day", "LinhVuc": "field",
           **{c: c for c in REQUIRED + COUNT_COLUMNS}}


class DailyFileSource:
    """A daily-grain file drop; validation (types, units, window, identities) happens in one place later."""

    def __init__(self, path: str | Path, name: str = "daily_file", sheet: str | None = None,
                 encoding: str | None = None, aliases: Mapping[str, str] | None = None):
        self.path, self.name, self.sheet, self.encoding = Path(path), name, sheet, encoding
        self.aliases = {**ALIASES, **(aliases or {})}
        self.fields = default_field_map()

    def fetch(self, request: FetchRequest) -> pd.DataFrame:
        """The file's rows with canonical headers."""
        return read_table(self.path, REQUIRED, self.aliases, self.sheet, self.encoding)

    def parse(self, payload: pd.DataFrame, request: FetchRequest) -> Batch:
        """Rows -> canonical fact rows; the original row travels along for quarantine."""
        frame = payload.copy()
        raw = payload.astype(object).where(payload.notna(), None).to_dict("records")
        frame["unit_code"] = frame["unit_code"].map(lambda v: None if pd.isna(v) else str(v).strip().removesuffix(".0"))
        days = parse_datetimes(frame["day"])
        frame["day"] = days.dt.date.where(days.notna(), frame["day"])
        frame["field"] = frame["field"].map(lambda v: self.fields.get(_fold(v), v) if isinstance(v, str) else v)
        frame["source"] = self.name
        frame = frame.reindex(columns=list(FACT_COLUMNS))
        frame[RAW_COLUMN] = pd.Series(raw, dtype=object, index=frame.index)
        return Batch(frame)
