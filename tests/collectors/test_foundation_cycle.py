"""Collection runs: recorded, isolated per unit, idempotent, backfilling what is missing."""
import datetime as dt
import logging

import pandas as pd
from sqlalchemy import select

from collectors.base import Batch, FetchRequest, RetriableError
from collectors.cycle import run_collection
from collectors.scheduler import Coordinator
from collectors.sources.simulator import SimulatorSource
from geo import registry
from store import readers, writers
from store.schema import collection_runs, dossier_facts, unit_status

CODES = list(registry.communes("75").code[:6])
NOW = dt.datetime(2025, 7, 20, 18, 0)


class FlakySimulator(SimulatorSource):
    """The simulator, except that some units always fail."""

    def __init__(self, failing):
        super().__init__(2025)
        self.failing = set(failing)

    def fetch(self, request):
        broken = self.failing & set(request.unit_codes)
        if broken:
            raise RetriableError(f"timeout talking to {sorted(broken)}")
        return super().fetch(request)


def _facts(engine):
    with engine.connect() as connection:
        rows = connection.execute(select(dossier_facts).order_by(*dossier_facts.primary_key.columns)).all()
    return pd.DataFrame(rows).drop(columns="collected_at")


def test_failing_unit_does_not_stop_the_others(engine):
    writers.upsert_units(engine, registry.units("75"))
    source = FlakySimulator([CODES[2]])
    summary = run_collection(engine, source, CODES, dt.date(2025, 7, 1), dt.date(2025, 7, 10), NOW, chunk_size=4)
    assert summary.status == "partial"
    assert summary.units_ok == 5 and list(summary.failures) == [CODES[2]]
    facts = _facts(engine)
    assert set(facts.unit_code) == set(CODES) - {CODES[2]}
    assert len(facts) == 5 * 10 * 8
    with engine.connect() as connection:
        run = connection.execute(select(collection_runs)).one()
        status = {r.unit_code: r for r in connection.execute(select(unit_status))}
    assert (run.status, run.units_ok, run.units_failed, run.rows_written) == ("partial", 5, 1, 400)
    assert status[CODES[2]].consecutive_failures == 1 and status[CODES[2]].last_success_at is None
    assert status[CODES[0]].last_day_collected == dt.date(2025, 7, 10)


def test_rerunning_a_cycle_leaves_the_store_identical(engine):
    writers.upsert_units(engine, registry.units("75"))
    source = SimulatorSource(2025)
    run_collection(engine, source, CODES, dt.date(2025, 7, 1), dt.date(2025, 7, 20), NOW)
    first = _facts(engine)
    run_collection(engine, source, CODES, dt.date(2025, 7, 1), dt.date(2025, 7, 20), NOW)
    pd.testing.assert_frame_equal(first, _facts(engine))


def test_coordinator_backfills_missed_days_and_logs_transitions(engine, caplog):
    writers.upsert_units(engine, registry.units("75"))
    source = FlakySimulator([CODES[0]])
    coordinator = Coordinator(engine, source, CODES, dt.date(2025, 7, 1))
    caplog.set_level(logging.INFO, logger="collectors.scheduler")
    coordinator.run_once(dt.datetime(2025, 7, 5, 12, 0), trigger="backfill")
    coordinator.run_once(dt.datetime(2025, 7, 5, 12, 5))
    assert sum("failed" in r.message for r in caplog.records) == 1  # once per transition, not per run
    source.failing.clear()
    coordinator.run_once(dt.datetime(2025, 7, 8, 12, 0))  # collector down for three days
    assert sum("recovered" in r.message for r in caplog.records) == 1
    facts = _facts(engine)
    days = facts.groupby("unit_code").day.agg(["min", "max", "nunique"])
    assert (days["min"] == dt.date(2025, 7, 1)).all() and (days["max"] == dt.date(2025, 7, 8)).all()
    assert (days["nunique"] == 8).all()  # the failed unit was backfilled from history start too
    totals = readers.period_totals(engine, dt.date(2025, 7, 1), dt.date(2025, 7, 8), province_code="75")
    assert len(totals) == len(CODES)


def test_readers_match_what_the_source_produced(engine):
    writers.upsert_units(engine, registry.units("75"))
    source = SimulatorSource(2025)
    later = dt.datetime(2025, 8, 5, 9, 0)
    run_collection(engine, source, CODES, dt.date(2025, 7, 1), dt.date(2025, 7, 31), later)
    produced = source.fetch(FetchRequest(tuple(CODES), dt.date(2025, 7, 1), dt.date(2025, 7, 31), later))
    totals = readers.period_totals(engine, dt.date(2025, 7, 10), dt.date(2025, 7, 31), group_by=())
    in_range = produced[produced.day >= dt.date(2025, 7, 10)]
    assert totals.received_online.iloc[0] == in_range.received_online.sum()
    before = produced[produced.day == dt.date(2025, 7, 9)]
    assert totals.carried_over.iloc[0] == (before.pending_on_time + before.pending_overdue).sum()
    last = produced[produced.day == dt.date(2025, 7, 31)]
    assert totals.pending_overdue.iloc[0] == last.pending_overdue.sum()


def test_validation_quarantines_bad_rows(engine):
    writers.upsert_units(engine, registry.units("75"))

    class Broken(SimulatorSource):
        def parse(self, payload, request):
            payload = payload.copy()
            payload.loc[0, "received_online"] = -3
            payload.loc[1, "unit_code"] = "99999"
            return Batch(payload)

    summary = run_collection(engine, Broken(2025), CODES[:1], dt.date(2025, 7, 1), dt.date(2025, 7, 2), NOW)
    assert summary.rows_quarantined == 2 and summary.rows_written == 14


def test_scheduler_runs_one_job_without_overlap_and_coalesces(engine):
    from collectors.scheduler import JOB_ID, start_scheduler

    coordinator = Coordinator(engine, SimulatorSource(2025), CODES[:1], dt.date(2025, 7, 1))
    scheduler = start_scheduler(coordinator, interval_s=300, jitter_s=3600)
    try:
        jobs = scheduler.get_jobs()
        assert [job.id for job in jobs] == [JOB_ID]
        assert (jobs[0].max_instances, jobs[0].coalesce, jobs[0].misfire_grace_time) == (1, True, 300)
    finally:
        scheduler.shutdown(wait=False)


class RecordingSimulator(SimulatorSource):
    """The simulator, remembering how many units each fetch asked for."""

    def __init__(self):
        super().__init__(2025)
        self.sizes = []

    def fetch(self, request):
        self.sizes.append(len(request.unit_codes))
        return super().fetch(request)


def test_backfill_writes_chunks_of_about_two_thousand_unit_days_and_ticks_keep_the_configured_size(engine):
    from collectors.scheduler import BACKFILL_UNIT_DAYS

    writers.upsert_units(engine, registry.units("75"))
    codes = list(registry.communes("75").code[:90])
    source, moved = RecordingSimulator(), []
    coordinator = Coordinator(engine, source, codes, dt.date(2025, 7, 1), backfill_days=31, chunk_size=5)
    now = dt.datetime(2025, 9, 10, 18, 0)
    coordinator.run_once(now, trigger="backfill", progress=moved.append)
    per_chunk = BACKFILL_UNIT_DAYS // 32                     # 10 August .. 10 September: 32 days a unit
    assert source.sizes == [per_chunk, 90 - per_chunk] and moved == source.sizes
    source.sizes.clear()
    coordinator.run_once(now + dt.timedelta(minutes=5))       # a regular tick: yesterday and today
    assert source.sizes == [5] * 18
