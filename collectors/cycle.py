"""One collection run: fetch, validate and store facts for a set of units and days.

A failing unit is recorded and skipped; it never stops the others.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Callable, Sequence

import pandas as pd
from sqlalchemy import Engine

from collectors.base import Batch, FetchRequest, SourceError
from collectors.validation import validate_batch
from store import writers

log = logging.getLogger(__name__)
DEFAULT_CHUNK = 20


@dataclass
class RunSummary:
    run_id: int
    status: str
    units_ok: int
    rows_written: int
    rows_quarantined: int
    failures: dict[str, str] = field(default_factory=dict)


def run_collection(engine: Engine, source, unit_codes: Sequence[str], first_day: dt.date, last_day: dt.date,
                   now: dt.datetime, trigger: str = "schedule", chunk_size: int = DEFAULT_CHUNK,
                   progress: Callable[[int], None] | None = None) -> RunSummary:
    """Collect [first_day, last_day] for the units, chunk by chunk, and record the run."""
    run_id = writers.start_run(engine, source.name, trigger, now, first_day, last_day)
    succeeded: dict[str, dt.date] = {}
    failures: dict[str, str] = {}
    written = quarantined = 0
    for start in range(0, len(unit_codes), chunk_size):
        chunk = tuple(unit_codes[start:start + chunk_size])
        batch, chunk_failures = _collect_chunk(source, FetchRequest(chunk, first_day, last_day, now))
        written += writers.upsert_facts(engine, batch.facts, collected_at=now)
        quarantined += writers.quarantine_records(engine, source.name, now, [r.as_dict() for r in batch.rejected], run_id)
        failures.update(chunk_failures)
        succeeded.update({code: last_day for code in chunk if code not in chunk_failures})
        if progress:
            progress(len(chunk))
    writers.record_unit_outcomes(engine, source.name, now, succeeded, failures)
    status = writers.finish_run(engine, run_id, now, len(succeeded), failures, written, quarantined)
    return RunSummary(run_id, status, len(succeeded), written, quarantined, failures)


def _collect_chunk(source, request: FetchRequest) -> tuple[Batch, dict[str, str]]:
    """Fetch a chunk at once; if that fails, unit by unit, so one bad unit cannot sink the rest."""
    try:
        return _fetch_valid(source, request), {}
    except Exception as err:  # noqa: BLE001 - any failure is contained to its units
        if not isinstance(err, SourceError):
            log.debug("unexpected error from %s", source.name, exc_info=True)
        if len(request.unit_codes) == 1:
            return Batch(pd.DataFrame()), {request.unit_codes[0]: f"{type(err).__name__}: {err}"}
    batches, failures = [], {}
    for code in request.unit_codes:
        batch, failed = _collect_chunk(source, FetchRequest((code,), request.first_day, request.last_day, request.now))
        batches.append(batch)
        failures.update(failed)
    frames = [b.facts for b in batches if not b.facts.empty]
    facts = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return Batch(facts, [r for b in batches for r in b.rejected]), failures


def _fetch_valid(source, request: FetchRequest) -> Batch:
    payload = source.fetch(request)
    return validate_batch(source.parse(payload, request), request)
