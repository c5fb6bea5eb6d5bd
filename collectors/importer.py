"""Importing CSV/XLSX drops (daily or dossier-level) and listing quarantine.

Re-importing the same or an overlapping file leaves the store identical: daily rows are upserted by
key; dossier rows are kept by (source, MaHoSo) and the affected units' facts are recomputed from
all of them; a rejected row already in quarantine is not added twice.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd
from sqlalchemy import Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite

from collectors.base import Batch, FatalError, FetchRequest, Rejected
from collectors.cycle import quarantine_new
from collectors.sources.daily_file import DailyFileSource
from collectors.sources.dossier_file import (
    RECORD_COLUMNS, DossierFileSource, aggregate_dossiers, latest_day, parse_dossiers,
)
from collectors.transport.files import read_table
from collectors.validation import validate_batch
from geo import registry
from store import writers
from store.collector_schema import dossier_records
from store.schema import quarantine

WINDOW_START = dt.date(2025, 7, 1)   # the two-level government (and today's unit codes) start here
CHUNK_ROWS = 50_000
KINDS = ("dossier", "daily")


@dataclass
class ImportSummary:
    """What an import did, for the command line."""
    kind: str
    source: str
    rows_read: int = 0
    facts_written: int = 0
    rows_quarantined: int = 0
    units: int = 0
    first_reasons: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable summary lines."""
        out = [f"{self.kind} file, source {self.source!r}: {self.rows_read:,} rows read, "
               f"{self.facts_written:,} fact rows written for {self.units} unit(s), "
               f"{self.rows_quarantined:,} rows quarantined"]
        out += [f"  - {reason}" for reason in self.first_reasons]
        return out


def detect_kind(path: str | Path, sheet: str | None = None, encoding: str | None = None) -> str:
    """'dossier' when the file has MaHoSo, else 'daily'."""
    try:
        read_table(path, ("MaHoSo",), {"MaHoSo": "MaHoSo"}, sheet, encoding)
        return "dossier"
    except FatalError:
        return "daily"


def import_file(engine: Engine, path: str | Path, kind: str | None = None, source: str | None = None,
                sheet: str | None = None, encoding: str | None = None, now: dt.datetime | None = None,
                first_day: dt.date = WINDOW_START, progress: Callable[[int], None] | None = None,
                total: Callable[[int], None] | None = None) -> ImportSummary:
    """Import one file; `total(n)` is told the row count once known, `progress(k)` as rows are done."""
    now = now or dt.datetime.now()
    kind = kind or detect_kind(path, sheet, encoding)
    if kind not in KINDS:
        raise FatalError(f"Unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    name = source or f"import_{kind}"
    request = FetchRequest(tuple(registry.all_units().code), first_day, now.date(), now)
    if kind == "daily":
        return _import_daily(engine, DailyFileSource(path, name, sheet, encoding), request, progress, total)
    return _import_dossiers(engine, DossierFileSource(path, name, sheet, encoding), request, progress, total)


def _import_daily(engine, source: DailyFileSource, request: FetchRequest, progress, total) -> ImportSummary:
    rows = source.fetch(request)
    summary = ImportSummary("daily", source.name, rows_read=len(rows))
    if total:
        total(len(rows))
    run_id = writers.start_run(engine, source.name, "import", request.now, request.first_day, request.last_day)
    units: dict[str, dt.date] = {}
    for part in _unit_chunks(rows, "unit_code"):
        batch = validate_batch(source.parse(part, request), request)
        _write(engine, source.name, request.now, batch, run_id, summary)
        for code, last in batch.facts.groupby("unit_code")["day"].max().items():
            units[code] = max(last, units.get(code, last))
        if progress:
            progress(len(part))
    return _finish(engine, source.name, request.now, run_id, units, summary)


def _import_dossiers(engine, source: DossierFileSource, request: FetchRequest, progress, total) -> ImportSummary:
    rows = source.fetch(request)
    summary = ImportSummary("dossier", source.name, rows_read=len(rows))
    if total:
        total(len(rows))
    run_id = writers.start_run(engine, source.name, "import", request.now, request.first_day, request.last_day)
    records, rejected = parse_dossiers(rows, request.unit_codes, source.field_map, source.default_field)
    late = records.received_at.dt.date > request.last_day
    rejected += [Rejected("NgayTiepNhan is in the future", r.to_dict(), r.unit_code) for _, r in records[late].iterrows()]
    records = records.loc[~late]
    upsert_dossiers(engine, source.name, records, request.now)
    if progress:
        progress(len(rows) // 2)
    units = sorted(records.unit_code.unique())
    facts = recompute_facts(engine, source.name, units, request.last_day)
    _write(engine, source.name, request.now, Batch(facts, rejected), run_id, summary, replacing=units)
    if progress:
        progress(len(rows) - len(rows) // 2)
    last_days = facts.groupby("unit_code")["day"].max().to_dict() if not facts.empty else {}
    return _finish(engine, source.name, request.now, run_id, last_days, summary)


def upsert_dossiers(engine: Engine, source: str, records: pd.DataFrame, at: dt.datetime) -> int:
    """Keep each dossier's latest state; a stale file cannot reopen a dossier already finished."""
    if records.empty:
        return 0
    frame = records[list(RECORD_COLUMNS)].astype(object).where(records[list(RECORD_COLUMNS)].notna(), None)
    rows = [dict(row, source=source, imported_at=at) for row in frame.to_dict("records")]
    for row in rows:
        for column in ("received_at", "due_at", "finished_at"):
            row[column] = None if row[column] is None else pd.Timestamp(row[column]).to_pydatetime()
        row["channel"] = int(row["channel"])
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(dossier_records)
    table = dossier_records.c
    changes = {c: statement.excluded[c] for c in rows[0] if c not in ("source", "dossier_id")}
    changes["finished_at"] = func.coalesce(statement.excluded.finished_at, table.finished_at)
    statement = statement.on_conflict_do_update(index_elements=["source", "dossier_id"], set_=changes)
    with engine.begin() as connection:
        for start in range(0, len(rows), 20_000):
            connection.execute(statement, rows[start:start + 20_000])
    return len(rows)


def recompute_facts(engine: Engine, source: str, unit_codes: Sequence[str], today: dt.date) -> pd.DataFrame:
    """The units' facts of this source aggregated from all their stored dossiers (they replace the stored
    ones: writers.replace_facts)."""
    if not unit_codes:
        return pd.DataFrame()
    with engine.connect() as connection:
        records = pd.DataFrame(connection.execute(
            select(*[dossier_records.c[c] for c in RECORD_COLUMNS]).where(
                dossier_records.c.source == source, dossier_records.c.unit_code.in_(list(unit_codes)))).mappings().all())
        newest = connection.execute(select(dossier_records.c.received_at, dossier_records.c.finished_at)
                                    .where(dossier_records.c.source == source)).all()
    for column in ("received_at", "due_at", "finished_at"):
        records[column] = pd.to_datetime(records[column])
    as_of = min(today, max(d.date() for row in newest for d in row if d is not None))
    return aggregate_dossiers(records, as_of, source)


def _write(engine, source: str, now: dt.datetime, batch: Batch, run_id: int, summary: ImportSummary,
           replacing: Sequence[str] | None = None) -> None:
    """Write the batch's facts (replacing all of `source`'s facts of the units `replacing`) and quarantine."""
    if replacing is None:
        summary.facts_written += writers.upsert_facts(engine, batch.facts, collected_at=now)
    else:
        summary.facts_written += writers.replace_facts(engine, batch.facts, now, source, replacing)
    summary.rows_quarantined += quarantine_new(engine, source, now, batch.rejected, run_id)
    for record in batch.rejected[: max(0, 5 - len(summary.first_reasons))]:
        where = " ".join(str(x) for x in (record.unit_code, record.day) if x)
        summary.first_reasons.append(f"{where + ': ' if where else ''}{record.reason}")


def _finish(engine, source: str, now: dt.datetime, run_id: int, units: dict, summary: ImportSummary) -> ImportSummary:
    writers.record_unit_outcomes(engine, source, now, units, {})
    writers.finish_run(engine, run_id, now, len(units), {}, summary.facts_written, summary.rows_quarantined)
    summary.units = len(units)
    return summary


def _unit_chunks(rows: pd.DataFrame, column: str):
    """Chunks of about CHUNK_ROWS rows that never split a unit (its day-to-day checks stay whole)."""
    keys = rows[column].astype(str)
    order = keys.sort_values(kind="stable").index
    rows = rows.loc[order].reset_index(drop=True)
    keys = keys.loc[order].reset_index(drop=True)
    start = 0
    while start < len(rows):
        end = min(start + CHUNK_ROWS, len(rows))
        while end < len(rows) and keys[end] == keys[end - 1]:
            end += 1
        yield rows.iloc[start:end].reset_index(drop=True)
        start = end


def list_quarantine(engine: Engine, limit: int = 50, source: str | None = None) -> pd.DataFrame:
    """The newest quarantined records (reason, source, unit, day, raw payload)."""
    query = select(quarantine).order_by(quarantine.c.id.desc()).limit(limit)
    if source:
        query = query.where(quarantine.c.source == source)
    with engine.connect() as connection:
        return pd.DataFrame(connection.execute(query).mappings().all(), columns=[c.name for c in quarantine.columns])


__all__ = ["ImportSummary", "detect_kind", "import_file", "latest_day", "list_quarantine", "recompute_facts",
           "upsert_dossiers"]
