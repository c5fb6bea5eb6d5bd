"""A small hand-checked data set for three Đồng Nai communes, and the numbers it must show.

Facts on 25-26/08/2025, field ho_tich, source "test"; the app's clock says 27/08/2025 10:00, so the
default period 01/07/2025 .. 27/08/2025 covers them and their stocks are recent.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from config.facts import FACT_COLUMNS
from geo.registry import units
from store.writers import finish_run, start_run, upsert_facts, upsert_units

PROVINCE = "75"
NOW = dt.datetime(2025, 8, 27, 10, 0)
COLLECTED_AT = dt.datetime(2025, 8, 27, 9, 30)
A, B, C = "25195", "25210", "25217"   # Phường Bình Phước, Đồng Xoài, Phước Long
NO_DATA_UNIT = "25222"
DAY1, DAY2 = dt.date(2025, 8, 25), dt.date(2025, 8, 26)

ROWS = [
    # unit, day, online, direct, early, on time, late, pending on time, pending overdue, nearly due
    (A, DAY1, 500, 100, 300, 200, 5, 90, 5, 10),
    (B, DAY1, 400, 134, 200, 250, 2, 80, 3, 4),
    (C, DAY2, 100, 0, 50, 40, 0, 10, 0, 1),
]

# Hand-computed from ROWS.
RECEIVED = 1234            # 600 + 534 + 100
RESOLVED = 1047            # 505 + 452 + 90
OVERDUE_PENDING = 8        # 5 + 3 + 0
ON_TIME_BIEU06 = 1040 / 1047          # (500 + 450 + 90) / 1047 = 99.33%
ON_TIME_766 = 1220 / 1235             # (1040 + 180) / (1047 + 188) = 98.79%
ONLINE_SHARE = 1000 / 1234            # 81.04%
UNIT_766 = {A: 590 / 600, B: 530 / 535, C: 100 / 100}


def facts_frame(rows=ROWS) -> pd.DataFrame:
    """Rows as a fact frame (optional columns not reported)."""
    records = [dict(unit_code=u, day=d, field="ho_tich", source="test", received_online=on, received_direct=di,
                    resolved_early=e, resolved_on_time=o, resolved_late=la, pending_on_time=p,
                    pending_overdue=po, nearly_due=n) for u, d, on, di, e, o, la, p, po, n in rows]
    return pd.DataFrame(records).reindex(columns=list(FACT_COLUMNS))


def write_sample(engine, collected_at: dt.datetime = COLLECTED_AT) -> None:
    """Store the units of Đồng Nai, the sample facts and one finished collection run."""
    upsert_units(engine, units(PROVINCE))
    upsert_facts(engine, facts_frame(), collected_at)
    record_run(engine, collected_at)


def record_run(engine, finished_at: dt.datetime) -> None:
    """Record a successful collection run that finished at the given time."""
    run = start_run(engine, "test", "test", finished_at - dt.timedelta(minutes=1), DAY1, DAY2)
    finish_run(engine, run, finished_at, units_ok=3, failures={}, rows_written=len(ROWS))
