"""The coordinator that owns a source's schedule and status, and its APScheduler wiring.

Each tick collects yesterday and today (yesterday's figures settle after midnight) plus any days a
unit missed while the collector was down, within the backfill window. Status changes are logged
once per transition: "failed", then one "recovered".
"""
from __future__ import annotations

import datetime as dt
import logging
import random
from typing import Callable, Sequence

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine, select

from collectors.cycle import DEFAULT_CHUNK, RunSummary, run_collection
from store.schema import unit_status

log = logging.getLogger(__name__)
JOB_ID = "collect"
# A backfill writes about this many unit-days at a time (~20k fact rows): a write has a fixed cost
# (staging keys, refreshing rollups) worth paying once per thousands of rows, and the progress bar
# still moves every second or so: 4 communes x 510 days in a province, 78 communes x 32 days nationally.
BACKFILL_UNIT_DAYS = 2_500


class Coordinator:
    """Collects one source for a set of units; remembers which units are failing."""

    def __init__(self, engine: Engine, source, unit_codes: Sequence[str], history_start: dt.date,
                 clock: Callable[[], dt.datetime] = dt.datetime.now, backfill_days: int = 1000,
                 on_run: Callable[[RunSummary], None] | None = None, concurrency: int = 1,
                 deadline_s: float | None = None, chunk_size: int = DEFAULT_CHUNK, max_named: int = 5):
        self.engine = engine
        self.source = source
        self.unit_codes = list(unit_codes)
        self.history_start = history_start
        self.clock = clock
        self.backfill_days = backfill_days
        self.on_run = on_run
        self.concurrency = concurrency
        self.deadline_s = deadline_s
        self.chunk_size = chunk_size
        self.max_named = max_named
        self.failing: dict[str, str] = {}

    def missing_from(self, today: dt.date) -> dict[dt.date, list[str]]:
        """Units grouped by the first day they still need (never before history start or the window)."""
        with self.engine.connect() as connection:
            done = dict(connection.execute(select(unit_status.c.unit_code, unit_status.c.last_day_collected)
                                           .where(unit_status.c.source == self.source.name)).all())
        floor = max(self.history_start, today - dt.timedelta(days=self.backfill_days))
        groups: dict[dt.date, list[str]] = {}
        for code in self.unit_codes:
            last = done.get(code)
            first = floor if last is None else max(floor, min(last, today - dt.timedelta(days=1)))
            groups.setdefault(first, []).append(code)
        return groups

    def run_once(self, now: dt.datetime | None = None, trigger: str = "schedule",
                 progress: Callable[[int], None] | None = None) -> list[RunSummary]:
        """Collect what each unit is missing up to today; one run per distinct starting day."""
        now = now or self.clock()
        summaries = []
        for first_day, codes in sorted(self.missing_from(now.date()).items()):
            chunk = self._chunk_size((now.date() - first_day).days + 1, trigger)
            summary = run_collection(self.engine, self.source, codes, first_day, now.date(), now, trigger,
                                     chunk_size=chunk, progress=progress, concurrency=self.concurrency,
                                     deadline_s=self.deadline_s)
            self._log_transitions(codes, summary)
            summaries.append(summary)
            if self.on_run:
                self.on_run(summary)
        return summaries

    def _chunk_size(self, days: int, trigger: str) -> int:
        """Units per fetch and write: sized by unit-days for a backfill or a long gap, else the configured size.

        Sources cap it themselves (an HTTP endpoint's max_chunk); regular ticks keep the configured size.
        """
        if trigger != "backfill" and days <= 8:
            return self.chunk_size
        return max(1, BACKFILL_UNIT_DAYS // days)

    def pending_unit_days(self, today: dt.date) -> int:
        """How many unit-days the next run will fetch (for progress bars)."""
        return sum(len(codes) for codes in self.missing_from(today).values())

    def _log_transitions(self, codes: Sequence[str], summary: RunSummary) -> None:
        """One line for units that started failing, one for units that recovered; nothing while steady."""
        failed = {c: summary.failures[c] for c in codes if c in summary.failures and c not in self.failing}
        recovered = [c for c in codes if c not in summary.failures and c in self.failing]
        if failed:
            log.warning("collection from %s failed for %d unit(s): %s", self.source.name, len(failed),
                        self._named(failed))
            self.failing.update(failed)
        if recovered:
            log.info("collection from %s recovered for %d unit(s): %s", self.source.name, len(recovered),
                     self._named(dict.fromkeys(recovered, "")))
            for code in recovered:
                del self.failing[code]

    def _named(self, units: dict[str, str]) -> str:
        shown = [f"{code} ({reason})" if reason else code for code, reason in list(units.items())[: self.max_named]]
        more = len(units) - len(shown)
        return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def start_scheduler(coordinator: Coordinator, interval_s: int, jitter_s: float | None = None) -> BackgroundScheduler:
    """Run the coordinator every interval: never two at once, missed ticks coalesced into one."""
    scheduler = BackgroundScheduler(daemon=True)
    jitter = random.uniform(0, min(interval_s, 30)) if jitter_s is None else jitter_s
    scheduler.add_job(coordinator.run_once, "interval", seconds=interval_s, id=JOB_ID, max_instances=1,
                      coalesce=True, misfire_grace_time=interval_s,
                      next_run_time=dt.datetime.now() + dt.timedelta(seconds=jitter))
    scheduler.start()
    return scheduler
