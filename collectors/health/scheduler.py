"""Probe rounds and their scheduling: bounded concurrency, jittered starts, every attempt stored.

`run_probe_round` probes a list of targets once (asyncio, at most `max_concurrency` in flight) and
records the round at the `now` it is given; `ProbeScheduler.tick` picks the due targets and is what an
APScheduler job calls. No retries here: the next interval is the retry.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
import zlib
from collections import Counter
from typing import Any, Sequence

import pandas as pd
from sqlalchemy import Engine

from collectors.base_probe import ProbeResult, Recipe, Target, effective_timeout
from collectors.health.incidents import advance
from collectors.health.targets import GaugeSpec, build_gauges, build_recipes, system_rows
from collectors.probes import get_probe
from collectors.probes.http import fetch_json
from collectors.probes.jsonpath import lookup
from config.health import HealthConfig
from store import health_readers as readers
from store import health_writers as writers

log = logging.getLogger(__name__)


@dataclasses.dataclass
class RoundSummary:
    """What one round did."""

    at: dt.datetime
    attempts: int = 0
    successes: int = 0
    failures: dict[str, int] = dataclasses.field(default_factory=dict)
    opened: list[str] = dataclasses.field(default_factory=list)    # systems whose incident opened
    closed: list[str] = dataclasses.field(default_factory=list)    # systems whose incident closed
    gauges: int = 0
    probe_wall_s: float = 0.0


async def probe_targets(targets: Sequence[Target], recipes: dict[str, Recipe],
                        max_concurrency: int = 500) -> list[ProbeResult]:
    """Probe every target once, at most max_concurrency at a time; results in target order."""
    results: list[ProbeResult | None] = [None] * len(targets)
    queue = iter(enumerate(targets))

    # A fixed pool of workers sharing one iterator: cheaper than a task and a semaphore wait per target.
    async def worker() -> None:
        for index, target in queue:
            recipe = recipes[target.recipe]
            results[index] = await get_probe(recipe.kind)(target, recipe, effective_timeout(target, recipe))

    await asyncio.gather(*(worker() for _ in range(min(max_concurrency, len(targets)))))
    return results  # type: ignore[return-value]


async def read_gauges(specs: Sequence[GaugeSpec], now: dt.datetime) -> list[dict[str, Any]]:
    """Read each system's metrics URL; a failing source yields no rows (the probe reports its health)."""
    async def one(spec: GaugeSpec) -> list[dict[str, Any]]:
        try:
            document = await fetch_json(spec.url, timeout=min(10.0, spec.interval_s))
            return [dict(system=spec.system, name=name, at=now, value=float(lookup(document, path)))
                    for name, path in spec.paths]
        except Exception as err:  # gauges are best effort; log and carry on
            log.warning("gauges of %s unreadable from %s: %s", spec.system, spec.url, err)
            return []

    batches = await asyncio.gather(*(one(s) for s in specs))
    return [row for batch in batches for row in batch]


def register_targets(engine: Engine, config: HealthConfig, targets: Sequence[Target]) -> dict[str, int]:
    """Store systems and targets; returns target key -> id."""
    writers.sync_systems(engine, system_rows(config, list(targets)))
    return writers.sync_targets(engine, [dataclasses.asdict(t) for t in targets])


def check_recipes(targets: Sequence[Target], recipes: dict[str, Recipe]) -> None:
    """Fail early, naming the target, when a target uses a recipe that does not exist."""
    for target in targets:
        if target.recipe not in recipes:
            raise ValueError(f"target {target.key} uses unknown recipe {target.recipe!r}; known: {', '.join(recipes)}")


def run_probe_round(targets: Sequence[Target], now: dt.datetime, *, engine: Engine, config: HealthConfig,
                    gauges: Sequence[GaugeSpec] = (), target_ids: dict[str, int] | None = None,
                    recipes: dict[str, Recipe] | None = None) -> RoundSummary:
    """Probe `targets` once, store every attempt at `now`, update incidents and system states."""
    recipes = recipes or build_recipes(config)
    check_recipes(targets, recipes)
    target_ids = target_ids or register_targets(engine, config, targets)
    started = time.perf_counter()
    results, gauge_rows = asyncio.run(_probe_and_read(targets, recipes, config.max_concurrency, gauges, now))
    summary = record_round(engine, config, target_ids, list(zip(targets, results)), now)
    summary.probe_wall_s = time.perf_counter() - started
    summary.gauges = writers.record_gauges(engine, gauge_rows)
    return summary


async def _probe_and_read(targets, recipes, concurrency, gauges, now):
    return await asyncio.gather(probe_targets(targets, recipes, concurrency), read_gauges(gauges, now))


def result_row(target_id: int, at: dt.datetime, result: ProbeResult) -> dict[str, Any]:
    """A probe_results row from one attempt."""
    m = result.measurements

    def ms(name: str) -> float | None:
        return round(m[name] * 1000, 3) if name in m else None

    return dict(target_id=target_id, at=at, success=result.success, duration_ms=round(result.duration_s * 1000, 3),
                reason=result.failure_reason, status_code=int(m["status_code"]) if "status_code" in m else None,
                connect_ms=ms("connect_s"), first_byte_ms=ms("first_byte_s"), cert_days=m.get("cert_days_left"),
                detail=result.detail or None)


def record_round(engine: Engine, config: HealthConfig, target_ids: dict[str, int],
                 attempts: Sequence[tuple[Target, ProbeResult]], now: dt.datetime) -> RoundSummary:
    """Store attempts made at `now`, advance target state machines (outside maintenance), open/close incidents."""
    writers.record_results(engine, [result_row(target_ids[t.key], now, r) for t, r in attempts])
    frame = readers.targets_frame(engine)
    in_maintenance = readers.maintenance_mask(
        pd.DataFrame({"at": now, "key": frame["key"], "system": frame["system"]}),
        readers.maintenance_occurrences(engine, now, now + dt.timedelta(seconds=1)))
    states = {row["key"]: row for row in _records(frame)}
    paused = set(frame.loc[in_maintenance, "key"])
    changed, transitions = [], []
    for target, result in attempts:
        if target.key in paused:
            continue  # stored above, but maintenance neither opens nor closes incidents
        state = states[target.key]
        transition = advance(state, result.success, result.failure_reason, now,
                             config.incident_open_after, config.incident_close_after)
        state["last_duration_ms"] = round(result.duration_s * 1000, 3)
        state["last_cert_days"] = result.measurements.get("cert_days_left")
        changed.append(state)
        if transition:
            transitions.append((state, transition))
    writers.save_target_states(engine, changed)
    summary = RoundSummary(at=now, attempts=len(attempts), successes=sum(r.success for _, r in attempts),
                           failures=dict(Counter(r.failure_reason for _, r in attempts if not r.success)))
    summary.opened, summary.closed = _apply_incidents(engine, transitions, states)
    _save_system_states(engine, config, states, now)
    return summary


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    frame = frame.astype(object).where(frame.notna(), None)
    records = frame.to_dict("records")
    for record in records:
        for column in ("streak_started_at", "state_since", "last_at"):
            if record[column] is not None:
                record[column] = pd.Timestamp(record[column]).to_pydatetime()
    return records


def _apply_incidents(engine: Engine, transitions, states) -> tuple[list[str], list[str]]:
    """One open incident per system: targets going down join it (or open it); it closes when all recover."""
    open_now = {row["system"]: row for row in readers.open_incidents(engine).to_dict("records")}
    opened, closed = [], []
    downs: dict[str, list[dict]] = {}
    for state, transition in transitions:
        if transition == "down":
            downs.setdefault(state["system"], []).append(state)
    for system, group in downs.items():
        keys = [s["key"] for s in group]
        if system in open_now:
            merged = list(dict.fromkeys(list(open_now[system]["targets"]) + keys))
            writers.update_incident(engine, open_now[system]["id"], targets=merged)
            open_now[system]["targets"] = merged
            continue
        first = min(group, key=lambda s: s["streak_started_at"])
        detail = f"{len(group)} target(s) failing, first {first['key']}"
        writers.open_incident(engine, system, first["streak_started_at"], first["last_reason"] or "status", keys, detail)
        log.warning("health: %s down (%s) since %s", system, first["last_reason"], first["streak_started_at"])
        opened.append(system)
    for system in {s["system"] for s, t in transitions if t == "up"}:
        incident = open_now.get(system)
        affected = [states[k] for k in (incident or {}).get("targets", []) if k in states]
        if incident and affected and not any(s["down"] for s in affected):
            ended = max(s["state_since"] for s in affected)
            writers.update_incident(engine, incident["id"], ended_at=ended)
            log.warning("health: %s recovered at %s", system, ended)
            closed.append(system)
    return opened, closed


def _save_system_states(engine: Engine, config: HealthConfig, states: dict[str, dict], now: dt.datetime) -> None:
    frame = pd.DataFrame(list(states.values()))
    frame["state"] = readers.target_states(frame, config.slow_ms, config.cert_warn_days)
    frame = frame[frame["last_at"].notna()]
    colours = {}
    for system, group in frame.groupby("system"):
        colour = readers.system_state(group["state"])
        # Red dates from when the last target went down (its first failure), not from when we noticed.
        since = max(group["state_since"]) if colour == "red" else now
        colours[system] = (colour, pd.Timestamp(since).to_pydatetime())
    writers.save_system_states(engine, colours, now)


def jitter_offset(key: str, interval_s: float, seed: int = 0) -> dt.timedelta:
    """A stable offset in [0, interval) so that targets spread over their interval instead of bursting."""
    fraction = zlib.crc32(f"{seed}:{key}".encode()) / 2**32
    return dt.timedelta(seconds=round(fraction * interval_s, 3))


class ProbeScheduler:
    """Keeps each target's next due time; `tick(now)` runs one round over the due targets."""

    def __init__(self, engine: Engine, config: HealthConfig, targets: Sequence[Target], *,
                 gauges: Sequence[GaugeSpec] | None = None, seed: int = 0) -> None:
        self.engine, self.config, self.targets = engine, config, list(targets)
        self.gauges = list(build_gauges(config) if gauges is None else gauges)
        self.recipes = build_recipes(config)
        check_recipes(self.targets, self.recipes)
        self.seed = seed
        self.target_ids: dict[str, int] | None = None
        self._due: dict[str, dt.datetime] = {}
        self._last_housekeeping: dt.datetime | None = None

    def start(self, now: dt.datetime) -> None:
        """Register targets and give each a first due time (jittered within its interval)."""
        self.target_ids = register_targets(self.engine, self.config, self.targets)
        items = [(t.key, t.interval_s) for t in self.targets] + [(f"gauge:{g.system}", g.interval_s) for g in self.gauges]
        for key, interval in items:
            self._due[key] = now + (jitter_offset(key, interval, self.seed) if self.config.jitter else dt.timedelta(0))

    def due(self, now: dt.datetime) -> list[Target]:
        """Targets whose due time has come."""
        return [t for t in self.targets if self._due[t.key] <= now]

    def tick(self, now: dt.datetime | None = None) -> RoundSummary:
        """Probe the due targets at `now` (default: the wall clock), then roll up and prune hourly."""
        now = now or dt.datetime.now().replace(microsecond=0)
        if self.target_ids is None:
            self.start(now)
        targets = self.due(now)
        gauges = [g for g in self.gauges if self._due[f"gauge:{g.system}"] <= now]
        summary = RoundSummary(at=now)
        if targets or gauges:
            summary = run_probe_round(targets, now, engine=self.engine, config=self.config, gauges=gauges,
                                      target_ids=self.target_ids, recipes=self.recipes)
        for key, interval in [(t.key, t.interval_s) for t in targets] + [(f"gauge:{g.system}", g.interval_s) for g in gauges]:
            self._reschedule(key, interval, now)
        self.housekeeping(now)
        return summary

    def _reschedule(self, key: str, interval_s: float, now: dt.datetime) -> None:
        step = dt.timedelta(seconds=interval_s)
        due = self._due[key] + step
        while due <= now:  # missed slots are skipped, not replayed
            due += step
        self._due[key] = due

    def housekeeping(self, now: dt.datetime) -> None:
        """Once an hour: roll up complete hours and prune past the retention windows."""
        hour = readers.floor_hour(now)
        if self._last_housekeeping == hour:
            return
        writers.rollup_due(self.engine, now)
        writers.prune_health(self.engine, now, raw_days=self.config.raw_retention_days,
                             rollup_days=self.config.rollup_retention_days)
        self._last_housekeeping = hour

    def add_job(self, scheduler, tick_s: float = 5.0, job_id: str = "health-probes"):
        """Add `tick` to an APScheduler scheduler: never overlapping itself, missed ticks coalesced."""
        return scheduler.add_job(self.tick, "interval", seconds=tick_s, id=job_id, max_instances=1,
                                 coalesce=True, misfire_grace_time=max(1, int(tick_s)), replace_existing=True)
