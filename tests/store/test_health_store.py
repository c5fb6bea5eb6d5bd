"""Health storage: migration, rollup and uptime arithmetic (hand-computed), maintenance, retention, readers."""
from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from sqlalchemy import inspect

import store.health_schema as schema
from store import health_readers as readers
from store import health_writers as writers

T = dt.datetime


def register(engine) -> dict[str, int]:
    writers.sync_systems(engine, [{"code": "tthc", "name": "Hệ thống thông tin giải quyết TTHC", "level": "tinh"},
                                  {"code": "mot_cua_xa", "name": "Bộ phận Một cửa xã", "level": "xa"}])
    return writers.sync_targets(engine, [
        dict(key="tthc", system="tthc", name="Hệ thống TTHC", url="http://a/", recipe="http_2xx", interval_s=60),
        dict(key="mot_cua_xa:26734", system="mot_cua_xa", name="Một cửa Phước Tân", url="http://b/",
             recipe="http_2xx", interval_s=60, unit_code="26734"),
        dict(key="mot_cua_xa:26737", system="mot_cua_xa", name="Một cửa Long Hưng", url="http://c/",
             recipe="http_2xx", interval_s=60, unit_code="26737"),
    ])


def attempts(target_id: int, rows: list[tuple[dt.datetime, bool, float]]) -> list[dict]:
    return [dict(target_id=target_id, at=at, success=ok, duration_ms=ms, reason=None if ok else "timeout")
            for at, ok, ms in rows]


def test_migration_creates_the_health_tables_as_declared(engine):
    inspector = inspect(engine)
    for table in schema.HEALTH_TABLES:
        assert {c["name"] for c in inspector.get_columns(table.name)} == {c.name for c in table.columns}, table.name


def test_sync_targets_is_idempotent_and_keeps_state(engine):
    ids = register(engine)
    assert register(engine) == ids
    writers.save_target_states(engine, [dict(id=ids["tthc"], consecutive_failures=2, down=False,
                                             consecutive_successes=0, last_at=T(2026, 3, 1))])
    register(engine)
    frame = readers.targets_frame(engine).set_index("key")
    assert frame.loc["tthc", "consecutive_failures"] == 2
    assert list(readers.targets_frame(engine, unit_codes=["26734"])["key"]) == ["mot_cua_xa:26734", "tthc"]


def test_hourly_rollup_counts_and_percentiles(engine):
    ids = register(engine)
    writers.record_results(engine, attempts(ids["tthc"], [
        (T(2026, 3, 2, 9, 0), True, 10), (T(2026, 3, 2, 9, 1), True, 20), (T(2026, 3, 2, 9, 2), False, 1000),
        (T(2026, 3, 2, 9, 3), True, 30), (T(2026, 3, 2, 9, 4), True, 40),
        (T(2026, 3, 2, 10, 0), False, 5000), (T(2026, 3, 2, 10, 1), True, 100),
    ]))
    assert writers.rollup_hours(engine, T(2026, 3, 2, 9), T(2026, 3, 2, 11)) == 2
    assert writers.rollup_hours(engine, T(2026, 3, 2, 9), T(2026, 3, 2, 11)) == 2  # re-rolling changes nothing
    frame = readers.rollups(engine, T(2026, 3, 2), T(2026, 3, 3))
    assert frame[["count", "successes", "maintenance"]].values.tolist() == [[5, 4, 0], [2, 1, 0]]
    # successes only: [10, 20, 30, 40] -> p50 = 25, p95 = 30 + 0.85 x 10 = 38.5, max 40
    assert frame[["p50_ms", "p95_ms", "max_ms"]].values.tolist() == [[25.0, 38.5, 40.0], [100.0, 100.0, 100.0]]


def test_rollup_due_rolls_only_complete_hours(engine):
    ids = register(engine)
    writers.record_results(engine, attempts(ids["tthc"], [(T(2026, 3, 2, 9, 5), True, 10),
                                                          (T(2026, 3, 2, 10, 5), True, 12)]))
    assert writers.rollup_due(engine, T(2026, 3, 2, 10, 30)) == 1
    assert writers.rollup_due(engine, T(2026, 3, 2, 10, 59)) == 0
    assert writers.rollup_due(engine, T(2026, 3, 2, 11, 0)) == 1
    assert list(readers.rollups(engine, T(2026, 3, 2), T(2026, 3, 3))["hour"]) == [
        pd.Timestamp(2026, 3, 2, 9), pd.Timestamp(2026, 3, 2, 10)]


def uptime_fixture(engine) -> dict[str, int]:
    ids = register(engine)
    a = ids["tthc"]
    rows = ([(T(2026, 3, 10, 11, m), m != 3, 50) for m in range(4)]          # last 24 h: 3 of 4
            + [(T(2026, 3, 8, 12, m), False, 50) for m in range(2)]          # 7 d: 0 of 2
            + [(T(2026, 2, 20, 12, m), True, 50) for m in range(4)]          # 30 d: 4 of 4
            + [(T(2025, 12, 20, 12, 0), True, 50), (T(2025, 12, 20, 12, 1), False, 50)]  # 90 d: 1 of 2
            + [(T(2025, 11, 1, 12, m), True, 50) for m in range(5)]          # older than 90 d
            + [(T(2026, 3, 10, 12, 5), True, 50), (T(2026, 3, 10, 12, 10), False, 50),  # current hour so far
               (T(2026, 3, 10, 12, 40), True, 50)])                          # after `now`: not counted
    writers.record_results(engine, attempts(a, rows))
    writers.rollup_hours(engine, T(2025, 10, 1), T(2026, 3, 10, 12))
    return ids


NOW = T(2026, 3, 10, 12, 30)


def test_uptime_windows_hand_computed(engine):
    uptime_fixture(engine)
    by_target = readers.uptime_table(engine, NOW, by="target").set_index("key")
    row = by_target.loc["tthc"]
    assert (row.uptime_24h, row.uptime_7d, row.uptime_30d, row.uptime_90d) == pytest.approx((4 / 6, 4 / 8, 8 / 12, 9 / 14))
    assert (row.attempts_24h, row.attempts_7d, row.attempts_30d, row.attempts_90d) == (6, 8, 12, 14)
    assert math.isnan(by_target.loc["mot_cua_xa:26734", "uptime_24h"])
    by_system = readers.uptime_table(engine, NOW).set_index("system")
    assert by_system.loc["tthc", "uptime_90d"] == pytest.approx(9 / 14)
    assert math.isnan(by_system.loc["mot_cua_xa", "uptime_7d"])
    scoped = readers.uptime_table(engine, NOW, by="target", unit_codes=["26737"])
    assert list(scoped["key"]) == ["mot_cua_xa:26737", "tthc"]


def test_maintenance_is_excluded_from_rollups_and_uptime(engine):
    ids = uptime_fixture(engine)
    # Maintenance of tthc covers the failed 11:03 attempt and both attempts of the current hour.
    writers.add_maintenance_window(engine, scope="tthc", starts_at=T(2026, 3, 10, 11, 3),
                                   ends_at=T(2026, 3, 10, 12, 15), note="Nâng cấp", now=NOW)
    # Another system's window changes nothing for tthc.
    writers.add_maintenance_window(engine, scope="mot_cua_xa", kind="daily", starts_at=T(2026, 1, 1, 0, 0),
                                   duration_min=24 * 60, now=NOW)
    hour = readers.rollups(engine, T(2026, 3, 10, 11), T(2026, 3, 10, 12))
    assert hour[["count", "successes", "maintenance"]].values.tolist() == [[3, 3, 1]]
    row = readers.uptime_table(engine, NOW, by="target").set_index("key").loc["tthc"]
    # 24 h: 3/3 rolled, nothing counted in the current hour; 7 d adds 0/2.
    assert (row.uptime_24h, row.uptime_7d) == pytest.approx((3 / 3, 3 / 5))
    assert (row.attempts_24h, row.attempts_7d) == (3, 5)


def test_recurring_maintenance_expands_to_occurrences(engine):
    writers.add_maintenance_window(engine, scope="*", kind="weekly", starts_at=T(2026, 3, 1, 1, 0),
                                   duration_min=120, weekdays=[6], note="Bảo trì định kỳ Chủ nhật")
    writers.add_maintenance_window(engine, scope="lgsp", kind="daily", starts_at=T(2026, 3, 10, 23, 30),
                                   ends_at=T(2026, 3, 11), duration_min=60)
    occurrences = readers.maintenance_occurrences(engine, T(2026, 3, 1), T(2026, 3, 16))
    assert [(o.scope, o.start, o.end) for o in occurrences.itertuples()] == [
        ("*", T(2026, 3, 1, 1), T(2026, 3, 1, 3)), ("*", T(2026, 3, 8, 1), T(2026, 3, 8, 3)),
        ("*", T(2026, 3, 15, 1), T(2026, 3, 15, 3)),
        ("lgsp", T(2026, 3, 10, 23, 30), T(2026, 3, 11, 0, 30)), ("lgsp", T(2026, 3, 11, 23, 30), T(2026, 3, 12, 0, 30)),
    ]
    assert len(readers.maintenance_windows_frame(engine)) == 2


@pytest.mark.parametrize("kwargs, message", [
    (dict(kind="monthly"), "maintenance kind 'monthly' is unknown"),
    (dict(kind="once", ends_at=T(2026, 3, 1)), "needs ends_at after starts_at"),
    (dict(kind="daily"), "needs duration_min > 0"),
    (dict(kind="weekly", duration_min=60, weekdays=[7]), "needs weekdays"),
])
def test_maintenance_window_validation(engine, kwargs, message):
    with pytest.raises(ValueError, match=message):
        writers.add_maintenance_window(engine, scope="*", starts_at=T(2026, 3, 1, 1), **kwargs)


def test_retention_pruning(engine):
    ids = register(engine)
    now = T(2026, 3, 10, 12)
    writers.record_results(engine, attempts(ids["tthc"], [(now - dt.timedelta(days=15), True, 1),
                                                          (now - dt.timedelta(days=13), True, 1)]))
    writers.record_results(engine, attempts(ids["tthc"], [(now - dt.timedelta(days=731), True, 1),
                                                          (now - dt.timedelta(days=729), True, 1)]))
    writers.rollup_hours(engine, now - dt.timedelta(days=800), now)
    writers.record_gauges(engine, [dict(system="tthc", name="concurrent_users", at=now - dt.timedelta(days=20), value=1.0),
                                   dict(system="tthc", name="concurrent_users", at=now, value=12300.0)])
    assert writers.prune_health(engine, now, raw_days=14, rollup_days=730) == {"raw": 3, "gauges": 1, "rollups": 1}
    assert len(readers.raw_results(engine, now - dt.timedelta(days=900), now)) == 1
    assert len(readers.rollups(engine, now - dt.timedelta(days=900), now)) == 3
    assert readers.gauge_series(engine, now - dt.timedelta(days=30), now + dt.timedelta(1))["value"].tolist() == [12300.0]


def test_latency_series_combines_targets_of_a_system(engine):
    ids = register(engine)
    hour = T(2026, 3, 2, 9)
    writers.record_results(engine, attempts(ids["mot_cua_xa:26734"], [(hour, True, 100), (hour.replace(minute=1), True, 100)])
                           + attempts(ids["mot_cua_xa:26737"], [(hour, True, 400), (hour.replace(minute=1), False, 9000)]))
    writers.rollup_hours(engine, hour, hour + dt.timedelta(hours=1))
    series = readers.latency_series(engine, hour, hour + dt.timedelta(hours=1))
    row = series.iloc[0]
    # p50 weighted by successes: (100 x 2 + 400 x 1) / 3 = 200
    assert (row.system, row["count"], row.successes, row.p50_ms, row.p95_ms, row.max_ms) == (
        "mot_cua_xa", 4, 3, 200.0, 400.0, 400.0)


def test_incidents_in_a_range(engine):
    register(engine)
    first = writers.open_incident(engine, "tthc", T(2026, 3, 1, 8), "timeout", ["tthc"])
    writers.update_incident(engine, first, ended_at=T(2026, 3, 1, 9))
    second = writers.open_incident(engine, "mot_cua_xa", T(2026, 3, 5, 8), "refused", ["mot_cua_xa:26734"])
    writers.update_incident(engine, second, targets=["mot_cua_xa:26734", "mot_cua_xa:26737"])
    frame = readers.incidents(engine, T(2026, 3, 1, 8, 30), T(2026, 3, 6), now=T(2026, 3, 5, 10))
    assert frame[["system", "reason", "open", "target_count", "duration_s"]].values.tolist() == [
        ["tthc", "timeout", False, 1, 3600.0], ["mot_cua_xa", "refused", True, 2, 7200.0]]
    assert frame.loc[1, "name"] == "Bộ phận Một cửa xã"
    assert list(readers.incidents(engine, T(2026, 3, 1, 9, 1), T(2026, 3, 5))["id"]) == []
    assert list(readers.open_incidents(engine)["system"]) == ["mot_cua_xa"]
