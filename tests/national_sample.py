"""A small national store: facts of three provinces (Hà Nội 01, Bắc Ninh 24, Đồng Nai 75) over two
months, with a gap and a province-level unit, for national reads and the national browser test.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from config.facts import FACT_COLUMNS
from geo.registry import all_units
from store.writers import finish_run, start_run, upsert_facts, upsert_units

NOW = dt.datetime(2025, 8, 27, 10, 0)
COLLECTED_AT = dt.datetime(2025, 8, 27, 9, 30)
UNITS = {"01": ("00004", "00008", "00025"), "24": ("07210", "07228"), "75": ("25195", "25210", "25217")}
PROVINCE_UNITS = ("01", "75")   # province-level units with their own dossiers (never in commune figures)
FIRST_DAY, LAST_DAY = dt.date(2025, 7, 20), dt.date(2025, 8, 26)


def facts() -> pd.DataFrame:
    """Deterministic daily facts for every unit above, two fields, a missing day here and there."""
    rng = np.random.default_rng(7)
    rows = []
    days = pd.date_range(FIRST_DAY, LAST_DAY).date
    for unit in [u for codes in UNITS.values() for u in codes] + list(PROVINCE_UNITS):
        for day in days:
            if (int(unit) + day.toordinal()) % 9 == 0:   # a gap: stocks carry over from an earlier day
                continue
            for field in ("ho_tich", "dat_dai"):
                online, direct = rng.integers(0, 30, 2)
                early, on_time, late = rng.integers(0, 20, 3)
                rows.append(dict(unit_code=unit, day=day, field=field, source="test",
                                 received_online=int(online), received_direct=int(direct), resolved_early=int(early),
                                 resolved_on_time=int(on_time), resolved_late=int(late),
                                 pending_on_time=int(rng.integers(0, 50)), pending_overdue=int(rng.integers(0, 4)),
                                 nearly_due=int(rng.integers(0, 3))))
    return pd.DataFrame(rows).reindex(columns=list(FACT_COLUMNS))


def write(engine) -> None:
    """Load the registry's units and the facts, and record one finished collection run."""
    upsert_units(engine, all_units())
    frame = facts()
    run = start_run(engine, "test", "test", COLLECTED_AT - dt.timedelta(minutes=1), FIRST_DAY, LAST_DAY)
    upsert_facts(engine, frame, COLLECTED_AT)
    finish_run(engine, run, COLLECTED_AT, units_ok=frame["unit_code"].nunique(), failures={},
               rows_written=len(frame))
