"""The overview sample (three Đồng Nai wards, 25-26/08/2025) plus July facts, for the rankings and commune rooms.

Only TDGQ and the CLGQ online part have data (no optional columns reported), so each unit is scored
out of 26 points. Hand-computed, default period = this month 01/08..27/08/2025:
- A Bình Phước: handled 505 + 95 = 600, on time 300 + 200 + 90 = 590 -> TDGQ 19,667; online 500/600 >= 50%
  -> 6; 25,667 / 26 = 98,72 -> rank 3
- B Đồng Xoài: handled 452 + 83 = 535, on time 530 -> TDGQ 19,813; online 400/534 -> 6; 25,813 / 26 = 99,28
  -> rank 2
- C Phước Long: 100/100 -> 26 / 26 = 100 -> rank 1
Previous period 05/07..31/07: A 26/26 = 100 (rank 1), B TDGQ 10 + 6 = 16/26 = 61,54 (rank 2), C no data.
So A fell 2 places (▼ 2), B kept its place (=), C is new.
A climbs past B with 5 more dossiers resolved on time: each adds 20/600 points; 25,667 + 5 x 0,0333 = 25,833
> 25,813 (4 would give 25,800): +0,17 points, +0,64 on the 100 scale, rank 3 -> 2.
Whole history 01/07..27/08: A 690/700 -> 25,714/26 = 98,90; B 580/635 -> 24,268/26 = 93,34; C 100.
"""
from __future__ import annotations

import datetime as dt

from store.writers import upsert_facts
from tests.dashboards import sample

JULY = dt.date(2025, 7, 10)
A, B, C = sample.A, sample.B, sample.C
JULY_ROWS = [
    # unit, day, online, direct, early, on time, late, pending on time, pending overdue, nearly due
    (A, JULY, 100, 0, 100, 0, 0, 0, 0, 0),
    (B, JULY, 50, 50, 0, 50, 50, 0, 0, 0),
]
SCORES_AUGUST = {C: "100,0", B: "99,3", A: "98,7"}
SCORES_ALL = {C: "100,0", A: "98,9", B: "93,3"}


def write(engine) -> None:
    """Store the overview sample and the July facts."""
    sample.write_sample(engine)
    upsert_facts(engine, sample.facts_frame(JULY_ROWS), sample.COLLECTED_AT)
