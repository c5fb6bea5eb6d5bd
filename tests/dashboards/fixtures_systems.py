"""A hand-checked system-health history for the /systems room, recorded through the real scheduler path.

145 probe rounds, one a minute from 08:00 to 10:24 on 02/03/2026; the app's clock says 10:25.
- tthc: one isolated failure (09:30, timeout)      -> green, uptime 144/145 = 99,31%
- qlvb: fails the last 3 rounds (10:22..10:24, HTTP status) -> incident open since 10:22, red, 142/145 = 97,93%
- lgsp: always up, the last round took 4,5 s       -> amber (slow), 100,00%
- hop_truc_tuyen, bao_cao: always up                -> green, 100,00%
- mot_cua_xa in Bình Phước (25195) and Đồng Xoài (25210): always up
- cong_ttdt_xa in Bình Phước up; in Đồng Xoài refused every round -> incident open since 08:00
  so on the connectivity map Bình Phước is 100% up and Đồng Xoài 50%.
Hours 08 and 09 are rolled up (as the scheduler's housekeeping would); 10:xx stays raw.
"""
from __future__ import annotations

import datetime as dt

from collectors.base_probe import ProbeResult, Target
from collectors.health.scheduler import record_round, register_targets
from config.health import load_health_config
from store import health_writers as writers

DAY = dt.date(2026, 3, 2)
FIRST = dt.datetime(2026, 3, 2, 8, 0)
ROUNDS = 145
LAST = FIRST + dt.timedelta(minutes=ROUNDS - 1)        # 10:24
NOW = dt.datetime(2026, 3, 2, 10, 25)
TTHC_FAILURE = dt.datetime(2026, 3, 2, 9, 30)
QLVB_DOWN_SINCE = dt.datetime(2026, 3, 2, 10, 22)
A, B = "25195", "25210"                                 # Phường Bình Phước, Phường Đồng Xoài
PROVINCIAL = ("tthc", "qlvb", "hop_truc_tuyen", "lgsp", "bao_cao")

# Hand-computed from the story above.
UPTIME_24H = {"tthc": 144 / 145, "qlvb": 142 / 145, "lgsp": 1.0, "hop_truc_tuyen": 1.0, "bao_cao": 1.0,
              "mot_cua_xa": 1.0, "cong_ttdt_xa": 145 / 290}
STATES = {"tthc": "green", "qlvb": "red", "lgsp": "amber", "hop_truc_tuyen": "green", "bao_cao": "green",
          "mot_cua_xa": "green", "cong_ttdt_xa": "amber"}
SHARE_UP = {A: 1.0, B: 0.5}
MAINTENANCE_NOTE = "Nâng cấp máy chủ LGSP"
WEEKLY_NOTE = "Sao lưu hằng tuần"


def targets() -> list[Target]:
    """The provincial systems of the story plus two communes' one-stop desk and portal."""
    found = [Target(key=code, system=code, name=code, url=f"http://127.0.0.1:9/{code}") for code in PROVINCIAL]
    for kind in ("mot_cua_xa", "cong_ttdt_xa"):
        for code in (A, B):
            found.append(Target(key=f"{kind}:{code}", system=kind, name=f"{kind} {code}",
                                url=f"http://127.0.0.1:9/{kind}/{code}", unit_code=code))
    return found


def outcome(key: str, at: dt.datetime) -> ProbeResult:
    """The attempt the story says `key` made at `at`."""
    if key == "tthc" and at == TTHC_FAILURE:
        return ProbeResult(False, 10.0, "timeout", detail="no answer within 10 s")
    if key == "qlvb" and at >= QLVB_DOWN_SINCE:
        return ProbeResult(False, 0.02, "status", {"status_code": 503}, detail="HTTP 503")
    if key == f"cong_ttdt_xa:{B}":
        return ProbeResult(False, 0.001, "refused", detail="connection refused")
    if key == "lgsp" and at == LAST:
        return ProbeResult(True, 4.5, None, {"status_code": 200})
    return ProbeResult(True, 0.05, None, {"status_code": 200})


def write_history(engine) -> None:
    """Record the 145 rounds, roll up the complete hours, add maintenance windows and gauges."""
    config = load_health_config({})
    found = targets()
    ids = register_targets(engine, config, found)
    for minute in range(ROUNDS):
        at = FIRST + dt.timedelta(minutes=minute)
        record_round(engine, config, ids, [(t, outcome(t.key, at)) for t in found], at)
    writers.rollup_hours(engine, FIRST, NOW.replace(minute=0))
    writers.add_maintenance_window(engine, scope="lgsp", starts_at=dt.datetime(2026, 3, 4, 22, 0),
                                   ends_at=dt.datetime(2026, 3, 5, 1, 0), note=MAINTENANCE_NOTE)
    writers.add_maintenance_window(engine, scope="*", kind="weekly", weekdays=[6],
                                   starts_at=dt.datetime(2026, 1, 4, 23, 0), duration_min=60, note=WEEKLY_NOTE)
    writers.record_gauges(engine, [dict(system="tthc", name="concurrent_users", at=FIRST + dt.timedelta(minutes=m),
                                        value=6000 + 10 * m) for m in range(0, ROUNDS, 5)])
