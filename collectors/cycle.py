"""One collection run: fetch, validate and store facts for a set of units and days.

Chunks of units are fetched concurrently (bounded) and written as they arrive, on the calling
thread. A failing or slow unit is recorded and skipped; it never stops the others: a chunk that
fails is retried unit by unit (unless the whole endpoint is unreachable or misconfigured), every
request has its own timeout, and units still outstanding at the cycle deadline are recorded as
failed, to be collected by the next run.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable, Sequence

import pandas as pd
from sqlalchemy import Engine, select, update

from collectors.base import Batch, FatalError, FetchRequest, Rejected, SourceError
from collectors.transport.http import SourceUnavailable
from collectors.validation import validate_batch
from store import writers
from store.schema import collection_runs, quarantine

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
    first_reasons: list[str] = field(default_factory=list)   # a few quarantine reasons, for summaries


def run_collection(engine: Engine, source, unit_codes: Sequence[str], first_day: dt.date, last_day: dt.date,
                   now: dt.datetime, trigger: str = "schedule", chunk_size: int = DEFAULT_CHUNK,
                   progress: Callable[[int], None] | None = None, concurrency: int = 1,
                   deadline_s: float | None = None) -> RunSummary:
    """Collect [first_day, last_day] for the units, `concurrency` chunks at a time, and record the run."""
    close_interrupted_runs(engine, source.name, now)
    run_id = writers.start_run(engine, source.name, trigger, now, first_day, last_day)
    chunk_size = max(1, min(chunk_size, getattr(source, "max_chunk", chunk_size)))
    chunks = [tuple(unit_codes[i:i + chunk_size]) for i in range(0, len(unit_codes), chunk_size)]
    tally = _Tally(run_id, last_day)
    deadline = None if deadline_s is None else time.monotonic() + deadline_s
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix=f"collect-{source.name}")
    pending = {pool.submit(_collect_chunk, source, FetchRequest(c, first_day, last_day, now)): c for c in chunks}
    try:
        _drain(engine, source, now, pending, tally, deadline, progress)
    finally:
        # Do not wait for fetches past the deadline: their own timeouts end them, their results are dropped.
        pool.shutdown(wait=False, cancel_futures=True)
    writers.record_unit_outcomes(engine, source.name, now, tally.succeeded, tally.failures)
    status = writers.finish_run(engine, run_id, now, len(tally.succeeded), tally.failures, tally.written,
                                tally.quarantined)
    return RunSummary(run_id, status, len(tally.succeeded), tally.written, tally.quarantined, tally.failures,
                      tally.reasons)


@dataclass
class _Tally:
    run_id: int
    last_day: dt.date
    succeeded: dict[str, dt.date] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    written: int = 0
    quarantined: int = 0
    reasons: list[str] = field(default_factory=list)


def _drain(engine: Engine, source, now: dt.datetime, pending: dict[Future, tuple[str, ...]], tally: _Tally,
           deadline: float | None, progress: Callable[[int], None] | None) -> None:
    """Write chunks as they complete; at the deadline, fail whatever is still outstanding."""
    while pending:
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        done, _ = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
        if not done:
            for future, chunk in list(pending.items()):
                future.cancel()
                tally.failures.update({code: "cycle deadline exceeded; collected again next run" for code in chunk})
                del pending[future]
            return
        for future in done:
            chunk = pending.pop(future)
            batch, failures = future.result()
            _store(engine, source, now, batch, tally)
            tally.failures.update(failures)
            tally.succeeded.update({code: tally.last_day for code in chunk if code not in failures})
            if progress:
                progress(len(chunk))


def _store(engine: Engine, source, now: dt.datetime, batch: Batch, tally: _Tally) -> None:
    tally.written += writers.upsert_facts(engine, batch.facts, collected_at=now)
    tally.quarantined += quarantine_new(engine, source.name, now, batch.rejected, tally.run_id)
    for record in batch.rejected[: max(0, 5 - len(tally.reasons))]:
        tally.reasons.append(f"{record.unit_code or '?'} {record.day or ''}: {record.reason}")


def quarantine_new(engine: Engine, source_name: str, at: dt.datetime, rejected: Sequence[Rejected],
                   run_id: int | None = None) -> int:
    """Quarantine rejected records not already there (same source, unit, day, reason, raw): re-runs add nothing."""
    if not rejected:
        return 0
    rows = [r.as_dict() for r in rejected]
    units = {r["unit_code"] for r in rows}
    query = select(quarantine.c.unit_code, quarantine.c.day, quarantine.c.reason, quarantine.c.raw).where(
        quarantine.c.source == source_name)
    if None not in units:
        query = query.where(quarantine.c.unit_code.in_([str(u)[:16] for u in units]))
    with engine.connect() as connection:
        seen = {tuple(row) for row in connection.execute(query)}
    fresh = [r for r in rows if _quarantine_key(r) not in seen]
    unique = list({_quarantine_key(r): r for r in fresh}.values())
    return writers.quarantine_records(engine, source_name, at, unique, run_id)


def _quarantine_key(record: dict) -> tuple:
    day = record["day"] if isinstance(record["day"], dt.date) else None
    unit = None if record["unit_code"] is None else str(record["unit_code"])[:16]
    return unit, day, str(record["reason"]), _raw_text(record["raw"])


def _raw_text(value) -> str:
    """The raw payload as store.writers.quarantine_records stores it."""
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", errors="backslashreplace")
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def close_interrupted_runs(engine: Engine, source_name: str, now: dt.datetime) -> int:
    """Mark runs of this source left 'running' by a killed process as interrupted."""
    with engine.begin() as connection:
        result = connection.execute(
            update(collection_runs)
            .where(collection_runs.c.source == source_name, collection_runs.c.status == "running",
                   collection_runs.c.started_at <= now)
            .values(status="interrupted", finished_at=now))
    return result.rowcount or 0


def _collect_chunk(source, request: FetchRequest) -> tuple[Batch, dict[str, str]]:
    """Fetch a chunk at once; if that fails, unit by unit, so one bad unit cannot sink the rest."""
    try:
        return _fetch_valid(source, request), {}
    except Exception as err:  # noqa: BLE001 - any failure is contained to its units
        if not isinstance(err, SourceError):
            log.debug("unexpected error from %s", source.name, exc_info=True)
        reason = f"{type(err).__name__}: {err}"
        if len(request.unit_codes) == 1 or isinstance(err, (SourceUnavailable, FatalError)):
            # Splitting cannot help when the endpoint is down or misconfigured for everyone.
            return Batch(pd.DataFrame()), {code: reason for code in request.unit_codes}
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
