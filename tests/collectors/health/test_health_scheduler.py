"""Scheduling (jitter, due targets, hourly housekeeping), targets from config, and the demo endpoints."""
from __future__ import annotations

import asyncio
import datetime as dt

import pandas as pd

from collectors.base_probe import ProbeResult, Recipe, Target
from collectors.health.demo import DemoBehaviour, demo_system_servers
from collectors.health.loopback import LoopbackServer, Reply
from collectors.health.scheduler import ProbeScheduler, jitter_offset, probe_targets
from collectors.health.targets import build_gauges, build_targets, slugify
from collectors.probes import PROBES
from config.health import KEY_SYSTEMS, load_health_config
from store import health_readers as readers

T0 = dt.datetime(2026, 3, 2, 9, 58)


def test_jitter_is_stable_and_within_the_interval():
    offsets = [jitter_offset(f"mot_cua_xa:{i}", 60) for i in range(200)]
    assert all(dt.timedelta(0) <= o < dt.timedelta(seconds=60) for o in offsets)
    assert offsets == [jitter_offset(f"mot_cua_xa:{i}", 60) for i in range(200)]
    assert len(set(offsets)) > 150  # spread out, not bunched on one second


def test_targets_from_configuration_and_the_registry():
    config = load_health_config({
        "systems": {code: {"url": f"https://{code}.dongnai.gov.vn/health"} for code in KEY_SYSTEMS}
        | {"dvc": {"url": "https://dichvucong.dongnai.gov.vn", "metrics_url": "https://dvc/metrics",
                   "gauges": {"concurrent_users": "$.users"}}},
        "communes": {"mot_cua_xa": {"url_template": "https://motcua.dongnai.gov.vn/xa/{code}"},
                     "cong_ttdt_xa": {"url_template": "https://{slug}.dongnai.gov.vn", "interval_s": 300}},
    })
    communes = pd.DataFrame({"code": ["25195", "25210"], "short_name": ["Bình Phước", "Đồng Xoài"],
                             "province_code": ["75", "75"]})
    targets = build_targets(config, communes)
    assert [t.key for t in targets][:6] == ["tthc", "qlvb", "hop_truc_tuyen", "lgsp", "bao_cao", "dvc"]
    portal = next(t for t in targets if t.key == "cong_ttdt_xa:25210")
    assert (portal.url, portal.interval_s, portal.unit_code, portal.name) == (
        "https://dong-xoai.dongnai.gov.vn", 300, "25210", "Cổng thông tin điện tử xã Đồng Xoài")
    assert len(targets) == 6 + 2 * 2
    assert build_gauges(config)[0].paths == (("concurrent_users", "$.users"),)
    assert slugify("Phường Đồng Xoài") == "phuong-dong-xoai"


def test_probe_targets_bounds_concurrency(monkeypatch):
    in_flight, peak = [0], [0]

    async def counting_probe(target, recipe, timeout):
        in_flight[0] += 1
        peak[0] = max(peak[0], in_flight[0])
        await asyncio.sleep(0.01)
        in_flight[0] -= 1
        return ProbeResult(True, 0.01)

    monkeypatch.setitem(PROBES, "counting", counting_probe)
    targets = [Target(key=f"t{i}", system="tthc", name="t", url="http://unused/", recipe="c") for i in range(12)]
    results = asyncio.run(probe_targets(targets, {"c": Recipe(name="c", kind="counting")}, max_concurrency=3))
    assert [r.success for r in results] == [True] * 12
    assert peak[0] == 3


def test_scheduler_ticks_due_targets_and_rolls_up_hourly(engine):
    with LoopbackServer(lambda path: Reply(status=200 if path == "/up" else 503)) as server:
        config = load_health_config({"incident_open_after": 2})
        targets = [Target(key="tthc", system="tthc", name="TTHC", url=server.url("/up")),
                   Target(key="lgsp", system="lgsp", name="LGSP", url=server.url("/down"), interval_s=120)]
        scheduler = ProbeScheduler(engine, config, targets)
        scheduler.start(T0)
        first_due = {t.key: T0 + jitter_offset(t.key, t.interval_s) for t in targets}
        assert [t.key for t in scheduler.due(T0 + dt.timedelta(seconds=119))] == ["tthc", "lgsp"]
        attempts = []
        now = T0
        while now < T0 + dt.timedelta(minutes=6):  # a tick every 10 s, across the 10:00 boundary
            attempts.append(scheduler.tick(now).attempts)
            now += dt.timedelta(seconds=10)
    assert sum(attempts) == 6 + 3  # tthc every 60 s, lgsp every 120 s
    raw = readers.raw_results(engine, T0, T0 + dt.timedelta(hours=1))
    # Each attempt is stored at the first tick on or after its (jittered) due time.
    first_tick = T0 + dt.timedelta(seconds=-(-(first_due["tthc"] - T0).total_seconds() // 10) * 10)
    assert raw.loc[raw["key"] == "tthc", "at"].iloc[0] == first_tick
    assert raw.groupby("key").size().to_dict() == {"lgsp": 3, "tthc": 6}
    rolled = readers.rollups(engine, T0.replace(minute=0), T0 + dt.timedelta(hours=1))
    assert rolled["hour"].unique().tolist() == [pd.Timestamp(2026, 3, 2, 9)]  # 09:xx rolled once 10:00 began
    assert readers.open_incidents(engine)["system"].tolist() == ["lgsp"]
    status = readers.current_status(engine, now).set_index("system")["state"].to_dict()
    assert status == {"lgsp": "red", "tthc": "green"}


def test_add_job_registers_a_non_overlapping_apscheduler_job(engine):
    from apscheduler.schedulers.background import BackgroundScheduler
    background = BackgroundScheduler()
    job = ProbeScheduler(engine, load_health_config(), []).add_job(background, tick_s=5)
    assert (job.id, job.max_instances, job.coalesce) == ("health-probes", 1, True)


def test_demo_behaviour_is_deterministic_per_seed():
    def story(seed: int) -> list[tuple[int, bool]]:
        behaviour = DemoBehaviour(seed)
        return [(r.status, r.delay_s > 3) for r in (behaviour("/tthc/health") for _ in range(400))]

    first = story(7)
    assert first == story(7) and first != story(8)
    assert 0 < sum(status == 503 for status, _ in first) < 60          # occasional outages
    assert 0 < sum(slow for _, slow in first) < 80                      # occasional slowdowns


def test_demo_servers_answer_the_generated_targets(engine):
    communes = pd.DataFrame({"code": ["25195"], "short_name": ["Bình Phước"], "province_code": ["75"]})
    with demo_system_servers(seed=1) as config:
        targets = build_targets(config, communes)
        scheduler = ProbeScheduler(engine, config, targets, seed=1)
        scheduler.start(T0)
        summary = scheduler.tick(T0 + dt.timedelta(seconds=60))
    assert set(KEY_SYSTEMS) <= {t.system for t in targets}
    assert summary.attempts == len(targets) == 8 + 2
    assert summary.successes >= 7
    assert summary.gauges == 2
    gauges = readers.gauge_series(engine, T0, T0 + dt.timedelta(hours=1))
    assert gauges["name"].unique().tolist() == ["concurrent_users"] and (gauges["value"] > 0).all()
