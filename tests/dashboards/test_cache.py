"""The loaders' cache: keys equal in every process, Redis shared by two app instances, invalidated by new runs."""
from __future__ import annotations

import datetime as dt
import os

import pandas as pd
import pytest

from collectors.scheduler import Coordinator
from collectors.sources.simulator import SimulatorSource
from config.settings import load_settings
from dashboards import cache, loaders
from dashboards.app import create_app
from geo import registry
from store import readers, writers
from store.scoped import DataScope, ScopedReader

REDIS_URL = os.environ.get("IOC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PROVINCE = "75"
FIRST, LAST = dt.date(2025, 7, 1), dt.date(2025, 7, 5)
NOW = dt.datetime(2025, 7, 6, 8, 0)


def redis_or_skip():
    """A client on the test Redis database, or skip saying why."""
    redis = pytest.importorskip("redis", reason="the redis client is not installed (pip install -r requirements.txt)")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError as err:
        if os.environ.get("IOC_TEST_REQUIRE_REDIS"):
            raise RuntimeError(f"IOC_TEST_REQUIRE_REDIS is set but Redis at {REDIS_URL} is unreachable: {err}") from err
        pytest.skip(f"no Redis at {REDIS_URL} ({err}); start redis-server or set IOC_TEST_REDIS_URL")
    return client


class Clock:
    """The stamp memo's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(cache.STAMPS, "clock", fake)
    cache.invalidate()
    yield fake
    cache.invalidate()


def communes(count: int = 3) -> list[str]:
    return sorted(registry.communes(PROVINCE)["code"])[:count]


def fill(engine) -> pd.DataFrame:
    """Units and 5 days of simulated facts for 3 communes, with one finished collection run; return the facts."""
    from collectors.base import FetchRequest

    writers.upsert_units(engine, registry.units(PROVINCE))
    facts = SimulatorSource(7).fetch(FetchRequest(tuple(communes()), FIRST, LAST, NOW))
    writers.upsert_facts(engine, facts, NOW)
    finish_run(engine, NOW)
    return facts


def finish_run(engine, at: dt.datetime) -> None:
    run = writers.start_run(engine, "simulator", "schedule", at - dt.timedelta(minutes=1), FIRST, LAST)
    writers.finish_run(engine, run, at, len(communes()), {}, 0)


def received(engine, app) -> float:
    """The province's received dossiers over the test period, read through `app`'s cache."""
    with app.server.test_request_context("/"):
        return loaders.province_kpis(engine, PROVINCE, FIRST, LAST)["received"]


def bump(engine, facts: pd.DataFrame, extra: int) -> pd.DataFrame:
    """Rewrite the first fact row with `extra` more online receipts, without recording a collection run."""
    changed = facts.iloc[:1].copy()
    changed["received_online"] += extra
    writers.upsert_facts(engine, changed, NOW + dt.timedelta(minutes=1))
    return pd.concat([changed, facts.iloc[1:]])


def two_apps(engine, tmp_path):
    settings = load_settings(environ={}, province_code=PROVINCE, redis_url=REDIS_URL, auth_enabled=False,
                             data_dir=tmp_path)
    return create_app(settings, engine, None), create_app(settings, engine, None)


def test_keys_are_equal_for_equal_arguments_in_any_order(engine):
    one = ScopedReader(engine, DataScope(PROVINCE, frozenset({"26734", "26737"})))
    same = ScopedReader(engine, DataScope(PROVINCE, frozenset({"26737", "26734"})))
    other = ScopedReader(engine, DataScope(PROVINCE, frozenset({"26734"})))
    stamp = dt.datetime(2025, 7, 6, 8, 0)
    key = cache.cache_key("f", (one, FIRST, LAST, ("a", "b"), stamp))
    assert key == cache.cache_key("f", (same, FIRST, LAST, ("a", "b"), stamp))
    assert key != cache.cache_key("f", (other, FIRST, LAST, ("a", "b"), stamp))           # the scope is in the key
    assert key != cache.cache_key("f", (one, FIRST, LAST, ("a", "b"), stamp + dt.timedelta(seconds=1)))  # stamp
    assert key != cache.cache_key("g", (one, FIRST, LAST, ("a", "b"), stamp))             # the function
    assert key.startswith("f:") and len(key) == 2 + 40


def test_a_key_refuses_values_it_cannot_name_stably():
    with pytest.raises(TypeError, match="Cannot build a cache key from a object"):
        cache.cache_key("f", (object(),))


def test_loader_results_are_shared_between_two_apps_through_redis(engine, tmp_path, clock):
    redis = redis_or_skip()
    facts = fill(engine)
    expected = float((facts["received_online"] + facts["received_direct"]).sum())
    first, second = two_apps(engine, tmp_path)
    assert type(first.server.extensions[cache.EXTENSION_KEY]).__name__ == "RedisCache"

    assert received(engine, first) == expected
    assert redis.keys(cache.KEY_PREFIX + "dashboards.loaders._province_kpis:*")
    bump(engine, facts, 100)  # new figures, but no collection run: the stamp and so the key are unchanged
    assert received(engine, second) == expected  # the second app got the first one's result from Redis


def test_a_run_by_another_process_invalidates_within_a_second(engine, tmp_path, clock):
    redis_or_skip()
    facts = fill(engine)
    expected = float((facts["received_online"] + facts["received_direct"]).sum())
    first, second = two_apps(engine, tmp_path)
    assert received(engine, first) == expected
    bump(engine, facts, 100)
    finish_run(engine, NOW + dt.timedelta(minutes=5))  # a separate collector process finished a run

    clock.now += 0.5
    assert received(engine, second) == expected  # the stamp is re-read at most once a second per worker
    clock.now += 0.6
    assert received(engine, second) == expected + 100
    assert received(engine, first) == expected + 100


def test_an_in_process_collection_run_clears_the_cache_at_once(engine, tmp_path, clock):
    redis_or_skip()
    facts = fill(engine)
    before = float((facts["received_online"] + facts["received_direct"]).sum())
    first, second = two_apps(engine, tmp_path)
    sixth = LAST + dt.timedelta(days=1)
    with first.server.test_request_context("/"):
        assert loaders.province_kpis(engine, PROVINCE, FIRST, sixth)["received"] == before  # day 6 not collected yet

    # The embedded collector (app.py wires on_run to cache.invalidate) collects day 6, at the same
    # instant by the stamp clock: only the hook can make the new figures visible this fast.
    coordinator = Coordinator(engine, SimulatorSource(7), communes(), FIRST, on_run=cache.invalidate)
    coordinator.run_once(dt.datetime(2025, 7, 7, 9, 0))  # day 6 is complete by then
    totals = readers.period_totals(engine, FIRST, sixth, province_code=PROVINCE, group_by=())
    after = float(totals["received_online"].iloc[0] + totals["received_direct"].iloc[0])
    assert after > before
    with second.server.test_request_context("/"):
        assert loaders.province_kpis(engine, PROVINCE, FIRST, sixth)["received"] == after
