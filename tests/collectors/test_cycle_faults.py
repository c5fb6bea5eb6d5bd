"""Cycles over the real HTTP feed: idempotence, backfill after downtime, transition logs, a killed run."""
from __future__ import annotations

import datetime as dt
import logging
import subprocess
import sys
import textwrap

from sqlalchemy import select, text

from collectors.cycle import run_collection
from collectors.feed_server import FeedConfig, FeedServer
from collectors.scheduler import Coordinator
from collectors.sources.feed import feed_source
from collectors.sources.simulator import SimulatorSource
from collectors.transport.http import RetryPolicy
from store.schema import collection_runs, unit_status
from tests.collectors.helpers import NOW, UNITS, Sleeps, facts_snapshot

START = dt.date(2026, 3, 1)


def no_wait() -> RetryPolicy:
    return RetryPolicy(attempts=2, sleep=Sleeps(), jitter=lambda: 1.0)


def test_collection_over_http_equals_the_simulator_and_reruns_change_nothing(engine):
    with FeedServer(FeedConfig(clock=lambda: NOW)) as server:
        source = feed_source(server.url, chunk_size=2)
        run_collection(engine, source, UNITS, START, NOW.date(), NOW, concurrency=2)
        first = facts_snapshot(engine)
        run_collection(engine, source, UNITS, START, NOW.date(), NOW, concurrency=2)
        assert facts_snapshot(engine).equals(first)
    expected = SimulatorSource(2025).fetch(__import__("collectors.base").base.FetchRequest(UNITS, START, NOW.date(), NOW))
    assert len(first) == len(expected) == 3 * 10 * 8
    assert first.received_online.sum() == expected.received_online.sum()
    assert first.pending_overdue.sum() == expected.pending_overdue.sum()


def test_missing_days_are_backfilled_after_downtime_and_logs_say_it_once(engine, caplog):
    clock = {"now": dt.datetime(2026, 3, 5, 12)}
    config = FeedConfig(clock=lambda: clock["now"], faults={"25210": ["500"] * 4})
    with FeedServer(config) as server, caplog.at_level(logging.INFO, logger="collectors.scheduler"):
        coordinator = Coordinator(engine, feed_source(server.url, retry=no_wait(), chunk_size=3), UNITS, START,
                                  clock=lambda: clock["now"], backfill_days=30)
        coordinator.run_once()                      # 25210 fails (2 attempts)
        coordinator.run_once()                      # still failing: no new log line
        clock["now"] = dt.datetime(2026, 3, 9, 12)  # collector down for four days, then back
        coordinator.run_once()
    lines = [r.getMessage() for r in caplog.records]
    assert [line.split(":")[0] for line in lines] == ["collection from simulator failed for 1 unit(s)",
                                                      "collection from simulator recovered for 1 unit(s)"]
    facts = facts_snapshot(engine)
    days = facts.groupby("unit_code").day.agg(["min", "max", "nunique"])
    assert days.loc["25210"].tolist() == [START, dt.date(2026, 3, 9), 9]   # its whole history, backfilled
    assert days.loc["25195"].tolist() == [START, dt.date(2026, 3, 9), 9]
    with engine.connect() as connection:
        last = dict(connection.execute(select(unit_status.c.unit_code, unit_status.c.last_day_collected)).all())
    assert set(last.values()) == {dt.date(2026, 3, 9)}


def test_backfill_respects_its_window(engine):
    with FeedServer(FeedConfig(clock=lambda: NOW)) as server:
        Coordinator(engine, feed_source(server.url), UNITS[:1], dt.date(2025, 7, 1), clock=lambda: NOW,
                    backfill_days=3).run_once()
    assert facts_snapshot(engine).day.min() == NOW.date() - dt.timedelta(days=3)


def test_cycle_deadline_fails_what_is_outstanding(engine):
    # 25217's system hangs far beyond the deadline; the others answer at once (their days precomputed).
    config = FeedConfig(clock=lambda: NOW, faults={"25217": ["timeout"]}, hang_s=60)
    with FeedServer(config) as server:
        server.data.warm(list(UNITS), START, NOW.date(), NOW)
        source = feed_source(server.url, chunk_size=1, timeout_s=60)
        summary = run_collection(engine, source, UNITS, START, NOW.date() - dt.timedelta(days=1), NOW,
                                 concurrency=3, deadline_s=5)
    assert summary.units_ok == 2 and summary.failures == {"25217": "cycle deadline exceeded; collected again next run"}


KILLED_RUN = textwrap.dedent("""
    import datetime as dt, os, signal, sys
    from collectors.cycle import run_collection
    from collectors.sources.feed import feed_source
    from store.db import create_store_engine
    url, schema, feed_url = sys.argv[1], sys.argv[2] or None, sys.argv[3]
    engine = create_store_engine(url, schema=schema)
    NOW = dt.datetime(2026, 3, 10, 12)
    done = []
    def progress(n):
        done.append(n)
        if len(done) == 2:
            os.kill(os.getpid(), signal.SIGKILL)   # killed half way, as by the OOM killer or a power cut
    run_collection(engine, feed_source(feed_url, chunk_size=1), ("25195", "25210", "25217"),
                   dt.date(2026, 3, 1), NOW.date(), NOW, progress=progress)
""")


def test_a_cycle_killed_half_way_and_run_again_equals_a_clean_run(engine, tmp_path):
    schema = ""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            schema = connection.execute(text("SELECT current_schema()")).scalar()
    with FeedServer(FeedConfig(clock=lambda: NOW)) as server:
        killed = subprocess.run([sys.executable, "-c", KILLED_RUN, engine.url.render_as_string(hide_password=False),
                                 schema, server.url], cwd=str(tmp_path.parents[0]), capture_output=True,
                                env={"PYTHONPATH": str(__import__("pathlib").Path(__file__).resolve().parents[2])})
        assert killed.returncode == -9, killed.stderr.decode()[-2000:]
        partial = facts_snapshot(engine)
        assert 0 < len(partial) < 3 * 10 * 8
        run_collection(engine, feed_source(server.url, chunk_size=1), UNITS, START, NOW.date(), NOW)
    with engine.connect() as connection:
        statuses = [row[0] for row in connection.execute(select(collection_runs.c.status).order_by(collection_runs.c.id))]
    assert statuses == ["interrupted", "ok"]
    clean_engine_facts = _clean_run(tmp_path)
    assert facts_snapshot(engine).equals(clean_engine_facts)


def _clean_run(tmp_path):
    from store.db import create_store_engine, migrate

    clean = create_store_engine(f"sqlite:///{tmp_path / 'clean.db'}")
    migrate(clean)
    with FeedServer(FeedConfig(clock=lambda: NOW)) as server:
        run_collection(clean, feed_source(server.url), UNITS, START, NOW.date(), NOW)
    facts = facts_snapshot(clean)
    clean.dispose()
    return facts
