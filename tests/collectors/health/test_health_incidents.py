"""Incidents: open after N consecutive failures, close after M successes; maintenance pauses them."""
from __future__ import annotations

import datetime as dt

import pytest

from collectors.base_probe import ProbeResult, Target
from collectors.health.incidents import advance
from collectors.health.loopback import LoopbackServer, Reply
from collectors.health.scheduler import record_round, register_targets, run_probe_round
from config.health import load_health_config
from store import health_readers as readers
from store import health_writers as writers

T0 = dt.datetime(2026, 3, 2, 10, 0)
MINUTE = dt.timedelta(minutes=1)
OK = ProbeResult(True, 0.05, None, {"status_code": 200})
DOWN = ProbeResult(False, 0.01, "refused", {}, "connection refused")


def config(**overrides):
    return load_health_config({"incident_open_after": 3, "incident_close_after": 2, **overrides})


def test_state_machine_thresholds():
    state: dict = {}
    outcomes = [True, False, False, False, True, False, True, True, True]
    transitions = [advance(state, ok, None if ok else "timeout", T0 + i * MINUTE, 3, 2) for i, ok in enumerate(outcomes)]
    assert transitions == [None, None, None, "down", None, None, None, "up", None]
    assert state["down"] is False and state["state_since"] == T0 + 6 * MINUTE  # first success of the recovery


class Script:
    """Answers each path from a scripted list of statuses, one per request."""

    def __init__(self, scripts: dict[str, list[int]]) -> None:
        self.scripts = {path: list(codes) for path, codes in scripts.items()}

    def __call__(self, path: str) -> Reply:
        status = self.scripts[path].pop(0)
        return Reply(status=status, body=b"ok" if status == 200 else b"down")


def test_flapping_server_opens_and_closes_one_incident(engine):
    script = [200, 503, 503, 503, 200, 503, 200, 200, 200]
    with LoopbackServer(Script({"/flap": script})) as server:
        target = Target(key="tthc", system="tthc", name="Hệ thống TTHC", url=server.url("/flap"))
        cfg = config()
        ids = register_targets(engine, cfg, [target])
        summaries = [run_probe_round([target], T0 + i * MINUTE, engine=engine, config=cfg, target_ids=ids)
                     for i in range(len(script))]
    assert [s.opened for s in summaries] == [[], [], [], ["tthc"], [], [], [], [], []]
    assert [s.closed for s in summaries] == [[], [], [], [], [], [], [], ["tthc"], []]
    assert summaries[1].failures == {"status": 1}
    incidents = readers.incidents(engine, T0, T0 + dt.timedelta(hours=1))
    assert incidents[["system", "started_at", "ended_at", "reason", "targets"]].values.tolist() == [
        ["tthc", T0 + MINUTE, T0 + 6 * MINUTE, "status", ["tthc"]]]
    raw = readers.raw_results(engine, T0, T0 + dt.timedelta(hours=1))
    assert raw["success"].tolist() == [s == 200 for s in script]  # every attempt stored, none retried
    assert raw["status_code"].tolist() == script
    status = readers.current_status(engine, T0 + 8 * MINUTE).set_index("system").loc["tthc"]
    assert (status.state, status.since) == ("green", T0 + 7 * MINUTE)


def test_system_red_since_first_failure_and_amber_before(engine):
    cfg = config()
    target = Target(key="lgsp", system="lgsp", name="LGSP", url="http://unused/")
    ids = register_targets(engine, cfg, [target])
    record_round(engine, cfg, ids, [(target, OK)], T0)
    record_round(engine, cfg, ids, [(target, DOWN)], T0 + MINUTE)
    assert readers.current_status(engine, T0 + MINUTE).loc[0, ["state", "since"]].tolist() == ["amber", T0 + MINUTE]
    record_round(engine, cfg, ids, [(target, DOWN)], T0 + 2 * MINUTE)
    record_round(engine, cfg, ids, [(target, DOWN)], T0 + 3 * MINUTE)
    row = readers.current_status(engine, T0 + 3 * MINUTE).iloc[0]
    assert (row.state, row.since, row.targets_down) == ("red", T0 + MINUTE, 1)


def commune(code: str) -> Target:
    return Target(key=f"mot_cua_xa:{code}", system="mot_cua_xa", name=f"Một cửa {code}", url="http://unused/",
                  unit_code=code)


def test_one_incident_per_system_lists_affected_targets(engine):
    cfg = config(incident_open_after=2, incident_close_after=1)
    a, b, c = commune("25195"), commune("25210"), commune("25217")
    ids = register_targets(engine, cfg, [a, b, c])
    rounds = [
        {a: DOWN, b: OK, c: OK},
        {a: DOWN, b: DOWN, c: OK},     # a down -> incident opens at T0
        {a: DOWN, b: DOWN, c: OK},     # b down -> joins it
        {a: OK, b: DOWN, c: OK},       # a recovered, b still down: stays open
        {a: OK, b: OK, c: OK},         # b recovered -> closes at T0 + 4 min
    ]
    summaries, colours = [], []
    for i, results in enumerate(rounds):
        summaries.append(record_round(engine, cfg, ids, list(results.items()), T0 + i * MINUTE))
        colours.append(readers.current_status(engine, T0 + i * MINUTE).iloc[0].state)
    assert [(s.opened, s.closed) for s in summaries] == [([], []), (["mot_cua_xa"], []), ([], []), ([], []),
                                                         ([], ["mot_cua_xa"])]
    incident = readers.incidents(engine, T0, T0 + dt.timedelta(hours=1)).iloc[0]
    assert (incident.started_at, incident.ended_at, incident.reason) == (T0, T0 + 4 * MINUTE, "refused")
    assert incident.targets == ["mot_cua_xa:25195", "mot_cua_xa:25210"]
    # Some targets down: amber, never red (that needs all of them down).
    assert colours == ["amber", "amber", "amber", "amber", "green"]


def test_maintenance_stores_attempts_but_opens_no_incident(engine):
    cfg = config()
    target = Target(key="qlvb", system="qlvb", name="QLVB", url="http://unused/")
    ids = register_targets(engine, cfg, [target])
    writers.add_maintenance_window(engine, scope="qlvb", starts_at=T0, ends_at=T0 + 5 * MINUTE, note="Nâng cấp")
    for i in range(8):
        summary = record_round(engine, cfg, ids, [(target, DOWN)], T0 + i * MINUTE)
        assert summary.opened == ([] if i < 7 else ["qlvb"])  # 10:05, :06, :07 count; 10:00-10:04 do not
    assert len(readers.raw_results(engine, T0, T0 + dt.timedelta(hours=1))) == 8
    incident = readers.incidents(engine, T0, T0 + dt.timedelta(hours=1)).iloc[0]
    assert incident.started_at == T0 + 5 * MINUTE
    status = readers.target_status(engine, T0 + 2 * MINUTE).iloc[0]
    assert bool(status.in_maintenance) is True


def test_recorded_round_is_idempotent_for_results(engine):
    cfg = config()
    target = Target(key="bao_cao", system="bao_cao", name="Báo cáo", url="http://unused/")
    ids = register_targets(engine, cfg, [target])
    writers.record_results(engine, [dict(target_id=ids["bao_cao"], at=T0, success=True, duration_ms=5.0)])
    writers.record_results(engine, [dict(target_id=ids["bao_cao"], at=T0, success=False, duration_ms=9.0)])
    assert readers.raw_results(engine, T0, T0 + MINUTE)["duration_ms"].tolist() == [5.0]


@pytest.mark.parametrize("data, message", [
    ({"recipes": {"ping": {"kind": "icmp"}}}, "unknown probe kind 'icmp'; write one of: http, tcp"),
    ({"communes": {"mot_cua_xa": {"url_template": "http://x/{code}", "recipe": "nope"}}}, "unknown recipe 'nope'"),
    ({"systems": {"tthc": {"url": "http://x"}}}, "add url for: qlvb, hop_truc_tuyen, lgsp, bao_cao"),
    ({"communes": {"cho": {"url_template": "http://x"}}}, "unknown commune target kind"),
    ({"incident_open_after": 0}, "incident_open_after"),
])
def test_bad_health_config_is_rejected_clearly(data, message):
    from config.settings import ConfigError
    with pytest.raises(ConfigError, match=message):
        load_health_config(data)
