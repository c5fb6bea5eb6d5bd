"""Export-room data: simulated facts for the province-level unit and six communes of Đồng Nai."""
from __future__ import annotations

import datetime as dt

from collectors.base import FetchRequest
from collectors.sources.simulator import SimulatorSource
from geo.registry import units
from store.writers import upsert_facts, upsert_units
from tests.dashboards import sample

PROVINCE = "75"
START, END = dt.date(2025, 7, 1), dt.date(2025, 8, 27)
NOW = dt.datetime(2025, 8, 27, 10, 0)
COLLECTED_AT = dt.datetime(2025, 8, 27, 9, 30)
COMMUNES = ("25195", "25210", "25217", "25220", "25222", "25231")
CODES = ("75",) + COMMUNES


def write_simulated(engine, codes=CODES, seed: int = 11) -> None:
    """Store the province's units, simulated facts for `codes` over START..END and one finished run."""
    upsert_units(engine, units(PROVINCE))
    facts = SimulatorSource(seed, START).fetch(FetchRequest(tuple(codes), START, END, NOW))
    upsert_facts(engine, facts, COLLECTED_AT)
    sample.record_run(engine, COLLECTED_AT)
