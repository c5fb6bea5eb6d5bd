"""Extra overview data on top of tests.dashboards.sample: a commune falling behind that is also stale,
the province-level unit, one collector status per unit, and a system down with one incident.

Hand-computed consequences are next to the data.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from config.facts import FACT_COLUMNS
from store.health_writers import open_incident, save_system_states, sync_systems, sync_targets, update_incident
from store.writers import record_unit_outcomes, upsert_facts
from tests.dashboards import sample

E, PROVINCE_UNIT = "25220", "75"          # Phường Phước Bình; Tỉnh Đồng Nai (province level)
BEHIND_DAYS = (dt.date(2025, 8, 24), sample.DAY1, sample.DAY2)
# E each day: 10 online + 5 direct; 10 early, 5 late; 5 pending overdue -> daily 766 = 10 / 20 = 50%.
E_RECEIVED = 45
COMMUNE_RECEIVED = sample.RECEIVED + E_RECEIVED       # 1.279: the strip is commune level only
E_STALE_SINCE = sample.NOW - dt.timedelta(hours=5)    # 05:00, older than the 3 h limit
INCIDENT_START, INCIDENT_END = dt.datetime(2025, 8, 26, 8, 0), dt.datetime(2025, 8, 26, 10, 0)


def facts() -> pd.DataFrame:
    """E's three bad days and one province-level day (400 received, 300 online, all on time)."""
    rows = [dict(unit_code=E, day=day, received_online=10, received_direct=5, resolved_early=10,
                 resolved_on_time=0, resolved_late=5, pending_on_time=0, pending_overdue=5, nearly_due=0)
            for day in BEHIND_DAYS]
    rows.append(dict(unit_code=PROVINCE_UNIT, day=sample.DAY2, received_online=300, received_direct=100,
                     resolved_early=200, resolved_on_time=100, resolved_late=0, pending_on_time=50,
                     pending_overdue=0, nearly_due=0))
    frame = pd.DataFrame(rows).assign(field="ho_tich", source="test")
    return frame.reindex(columns=list(FACT_COLUMNS))


def write_overview(engine) -> None:
    """The sample plus this module's data."""
    sample.write_sample(engine)
    upsert_facts(engine, facts(), sample.COLLECTED_AT)
    record_unit_outcomes(engine, "test", E_STALE_SINCE, {E: sample.DAY2}, {})
    record_unit_outcomes(engine, "test", sample.NOW - dt.timedelta(hours=1),
                         {code: sample.DAY2 for code in (sample.A, sample.B, sample.C)}, {})
    sync_systems(engine, [dict(code="tthc", name="Hệ thống giải quyết TTHC", level="tinh"),
                          dict(code="qlvb", name="Quản lý văn bản", level="tinh")])
    sync_targets(engine, [dict(key="tthc:portal", system="tthc", name="Cổng", unit_code=None, url="http://127.0.0.1:9/",
                               recipe="http_2xx", interval_s=60.0),
                          dict(key="qlvb:portal", system="qlvb", name="Cổng", unit_code=None, url="http://127.0.0.1:9/",
                               recipe="http_2xx", interval_s=60.0)])
    save_system_states(engine, {"tthc": ("red", INCIDENT_START), "qlvb": "green"}, sample.NOW)
    incident = open_incident(engine, "tthc", INCIDENT_START, "timeout", ["tthc:portal"])
    update_incident(engine, incident, ended_at=INCIDENT_END)
