"""Cache warming: after a collection run the default views' loader results are in the cache, before any visit."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import event

from config.settings import load_settings
from dashboards import cache, context
from dashboards.app import create_app
from dashboards.warm import View, Warmer, default_views, warm_view
from tests.dashboards import fixtures_export as fx, sample

HISTORY_START = dt.date(2025, 7, 1)


@pytest.fixture
def web(engine, tmp_path):
    """An app over simulated facts with one finished run, its clock at fx.NOW."""
    cache.invalidate()
    fx.write_simulated(engine)
    settings = load_settings(environ={}, data_dir=tmp_path, auth_enabled=False, history_start=HISTORY_START)
    app = create_app(settings, engine, None, now=lambda: fx.NOW)
    yield app
    cache.invalidate()


class StoreReads:
    """Statements that read dossier figures (facts or rollups), seen on the engine while counting."""

    def __init__(self, engine):
        self.engine, self.statements, self._lock = engine, [], threading.Lock()

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc):
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement, *_args):
        if "dossier_facts" in statement or "rollup_" in statement:
            with self._lock:
                self.statements.append(statement)


def test_default_views_are_the_overview_and_rankings_presets():
    views = default_views(HISTORY_START, dt.date(2025, 8, 27))
    assert views[:2] == [View("overview", HISTORY_START, dt.date(2025, 8, 27)),
                         View("rankings", dt.date(2025, 8, 1), dt.date(2025, 8, 27))]
    assert View("overview", dt.date(2025, 8, 21), dt.date(2025, 8, 27)) in views          # 7 days
    assert View("overview", dt.date(2025, 7, 1), dt.date(2025, 7, 31)) in views           # last month
    assert View("rankings", dt.date(2025, 7, 29), dt.date(2025, 8, 27)) in views          # 30 days
    # quarter, year and reform start with history here, as the default does: 5 overview + 4 rankings periods
    assert len(views) == len(set(views)) == 9


def test_after_a_run_the_default_views_are_served_from_the_cache(web, engine):
    warmer = Warmer(web.server)
    warmer.on_run()                                  # what the in-process collector calls after each run
    assert warmer.step() == len(default_views(HISTORY_START, fx.NOW.date()))
    assert warmer.warmed == fx.COLLECTED_AT
    with web.server.app_context(), StoreReads(engine) as reads:
        for view in default_views(HISTORY_START, fx.NOW.date()):
            warm_view(context.of(web.server), view)
    assert reads.statements == []                    # every loader answered from the cache
    assert warmer.step() is None                     # same stamp: nothing to do
    with web.server.app_context(), StoreReads(engine) as reads:
        cache.invalidate()
        warm_view(context.of(web.server), View("rankings", fx.START, fx.END))
    assert reads.statements                          # cold, the same calls do read the store


def test_a_newer_run_cancels_the_warm_and_the_next_step_warms_it(web, engine):
    warmer = Warmer(web.server)
    assert warmer.warm(fx.COLLECTED_AT - dt.timedelta(hours=1)) is None   # the store already has newer data
    assert warmer.warmed is None
    sample.record_run(engine, fx.COLLECTED_AT + dt.timedelta(minutes=5))
    assert warmer.step() is not None and warmer.warmed == fx.COLLECTED_AT + dt.timedelta(minutes=5)


def test_one_warm_per_stamp_in_a_shared_cache(web):
    first, second = Warmer(web.server), Warmer(web.server)   # two workers sharing one cache
    assert first.step() is not None
    assert second.step() is None and second.warmed == fx.COLLECTED_AT   # it skips: the marker is there


def test_national_mode_warms_the_nations_views(engine, tmp_path):
    """In national mode the nation's level (what a national leader's `/` and `/rankings` show) is warmed."""
    from dashboards.warm import warm_nation_view
    from tests import national_sample

    cache.invalidate()
    national_sample.write(engine)
    settings = load_settings(environ={}, data_dir=tmp_path, auth_enabled=False, mode="national",
                             history_start=HISTORY_START)
    app = create_app(settings, engine, None, now=lambda: national_sample.NOW)
    try:
        warmer = Warmer(app.server)
        views = default_views(HISTORY_START, national_sample.NOW.date())
        assert warmer.step() == len(views)
        with app.server.app_context(), StoreReads(engine) as reads:
            for view in views:
                warm_nation_view(context.of(app.server), view)
        assert reads.statements == []                # the nation's loaders answer from the cache
    finally:
        cache.invalidate()
