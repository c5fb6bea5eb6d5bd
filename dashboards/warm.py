"""Warm the loaders' cache with the default views after each collection run, in one background thread.

After a collection run every cached loader result is stale (the data stamp is in every key), so the
first wall screen or visitor of each view would pay for the cold store reads and KPI work. The
Warmer computes, through the public loaders, what the default views need — the overview for its
default period and each preset, the rankings table (also the commune page's ranks) for each preset,
all procedure fields — with the whole-province reader: the very keys a leader's or analyst's page
uses, and the rankings reader of every role. The loaders are language-independent, so one warm
serves both languages. Commune pages (one per commune) and clock-keyed health views are left cold.
In national mode the nation's level is warmed instead (warm_nation_view): provinces are chosen per request.

Triggers:
- `on_run`, the in-process collector's hook (app.py start_collection): clear the caches, warm now;
- polling: every `poll_s` the thread reads the data stamp (newest collection run, one MAX() query)
  and warms when it changed: gunicorn workers whose collector is another process, and at start.

Bounded: one thread per process, one warm at a time; a newer run cancels the warm in progress
(checked between views) and the next warm starts from the newest stamp. With the cache in Redis
(IOC_REDIS_URL), a marker added per (store, stamp) lets one worker warm while the others skip.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from dashboards import cache, context, loaders_national, loaders_overview, loaders_rankings, overview_state
from store.scoped import as_reader

log = logging.getLogger(__name__)
POLL_S = 10.0                 # how soon a worker notices a run finished in another process
MARKER_TIMEOUT_S = 15 * 60    # a warm marker outlives any warm; then Redis forgets it
COMMUNE_LEVEL, PROVINCE_LEVEL = loaders_overview.COMMUNE_LEVEL, loaders_overview.PROVINCE_LEVEL
RANKINGS_PRESETS = ("month", "30d", "7d", "all")   # dashboards.components.scorecard.PRESETS ("month" first: the default)


@dataclass(frozen=True)
class View:
    """A room over a period, all procedure fields."""

    room: str          # "overview" | "rankings"
    start: dt.date
    end: dt.date


def default_views(history_start: dt.date, today: dt.date) -> list[View]:
    """The views warmed, most visited first: the overview's default period, the rankings' default month, presets."""
    from dashboards.components.scorecard import preset_period as rankings_period

    overview = [overview_state.default_period(history_start, today)] + [
        overview_state.preset_period(p, history_start, today) for p in overview_state.PRESETS]
    rankings = [rankings_period(p, history_start, today) for p in RANKINGS_PRESETS]
    views = [View("overview", *overview[0]), View("rankings", *rankings[0])]
    views += [View("overview", *period) for period in overview[1:]] + [View("rankings", *p) for p in rankings[1:]]
    return list(dict.fromkeys(views))   # presets may coincide (e.g. "month" and "quarter" on the 1st)


def warm_view(app: context.AppContext, view: View) -> None:
    """Compute (and so cache) every loader result the view's data callbacks ask for."""
    settings, province = app.settings, app.settings.province_code
    reader = as_reader(app.engine, province)
    if view.room == "rankings":
        loaders_rankings.scored_communes(reader, province, view.start, view.end, settings.service_index)
        return
    loaders_overview.level_kpis_with_previous(reader, province, view.start, view.end, COMMUNE_LEVEL)
    loaders_overview.level_kpis(reader, province, view.start, view.end, PROVINCE_LEVEL)
    loaders_overview.unit_kpis(reader, province, view.start, view.end, None, settings.service_index)
    loaders_overview.daily_trend(reader, province, view.start, view.end, COMMUNE_LEVEL)
    loaders_overview.overview_alerts(reader, settings, view.start, view.end, app.now())


def warm_nation_view(app: context.AppContext, view: View) -> None:
    """National mode: the nation's level as a national-scope user opens it (`/` and `/rankings`, no ?tinh).

    Provinces are chosen per request, so no province view is a default; the nation's reads (every
    commune's stocks at both period ends) are the slow ones worth having ready.
    """
    reader = as_reader(app.engine, None)   # the DataScope of a leader or analyst who sees every province
    loaders_national.province_kpis(reader, view.start, view.end, app.settings.service_index)
    if view.room == "overview":
        loaders_national.nation_kpis_with_previous(reader, view.start, view.end)
        loaders_national.nation_daily(reader, view.start, view.end)


class Warmer:
    """Warms one web app's loader cache after each collection run (see the module docstring)."""

    def __init__(self, server, poll_s: float = POLL_S):
        self.server = server
        self.app = context.of(server)
        self.poll_s = poll_s
        self.warmed: Any = None          # the data stamp last warmed here (or by another worker)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # --- triggers -------------------------------------------------------------------------------

    def on_run(self, _summary: Any = None) -> None:
        """The collector's on_run hook: drop every stale result, then warm in the background."""
        cache.invalidate()
        self.warmed = None   # re-warm even if the run left the stamp as it was (a failed run)
        self._wake.set()

    def start(self) -> "Warmer":
        """Start the background thread (idempotent); it warms at once, then on runs and stamp changes."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._loop, name="ioc-cache-warmer", daemon=True)
                self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    # --- one step ------------------------------------------------------------------------------

    def stamp(self):
        """The store's data stamp now (read directly, not through the per-request memo)."""
        return as_reader(self.app.engine, self.app.settings.province_code).last_collection()

    def step(self) -> int | None:
        """Warm if the stamp changed since the last warm: the number of views warmed, None if nothing was done."""
        self._wake.clear()
        stamp = self.stamp()
        if stamp is None or stamp == self.warmed:
            return None
        return self.warm(stamp)

    def warm(self, stamp) -> int | None:
        """Warm the default views for `stamp`; None when cancelled by a newer run or when another worker warms."""
        started = time.perf_counter()
        with self.server.app_context():
            if not self._claim(stamp):
                self.warmed = stamp
                return None
            views = default_views(self.app.settings.history_start, self.app.today())
            for view in views:
                if self._superseded(stamp):
                    log.debug("cache warm for data of %s cancelled: a newer collection run arrived", stamp)
                    return None
                (warm_nation_view if self.app.national else warm_view)(self.app, view)
        self.warmed = stamp
        log.info("cache warmed: %s default views for data of %s in %.1f s", len(views), stamp,
                 time.perf_counter() - started)
        return len(views)

    # --- internals ------------------------------------------------------------------------------

    def _claim(self, stamp) -> bool:
        """Whether this process should warm `stamp` (False: another worker of a shared cache already does)."""
        key = cache.cache_key("dashboards.warm", (self.app.engine, stamp))
        try:
            return bool(cache.current_backend().add(key, True, timeout=MARKER_TIMEOUT_S))
        except Exception as err:  # noqa: BLE001 - no cache, nothing to warm; pages compute on demand
            log.warning("cache warm skipped: the loader cache is unavailable (%s)", err)
            return False

    def _superseded(self, stamp) -> bool:
        return self._wake.is_set() or self._stop.is_set() or self.stamp() != stamp

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # noqa: BLE001 - a failed warm only means cold pages; keep the thread alive
                log.exception("cache warm failed; pages compute their results on demand")
            if not self._wake.is_set():
                self._wake.wait(self.poll_s)
