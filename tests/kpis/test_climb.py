"""What it takes to climb: the fewest extra dossiers that lift a unit above the next ones (hand-computed)."""
from __future__ import annotations

import pandas as pd
import pytest

from config.service_index import ServiceIndexConfig
from kpis.climb import climb, climb_options

BASE = dict(received_online=50, received_direct=50, resolved_early=0, resolved_on_time=0, resolved_late=0,
            pending_on_time=0, pending_overdue=0)
CONFIG = ServiceIndexConfig()


def three() -> pd.DataFrame:
    """Scored out of 26 (TDGQ + online part): A 18 + 6 = 24, B 16 + 6 = 22, C 14 + 6 = 20."""
    return pd.DataFrame([dict(BASE, unit_code="A", resolved_on_time=90, resolved_late=10),
                         dict(BASE, unit_code="B", resolved_on_time=80, resolved_late=20),
                         dict(BASE, unit_code="C", resolved_on_time=70, pending_overdue=30)])


def test_fewest_on_time_resolutions_to_pass_the_next_unit():
    # Each of C's 30 overdue dossiers resolved on time adds 20/100 = 0.2 points; 10 only tie B at 22.
    [step] = climb(three(), "C", CONFIG)
    assert step.lever == "on_time" and step.n == 11
    assert step.points_gained == pytest.approx(2.2) and step.new_points == pytest.approx(22.2)
    assert step.score_gained == pytest.approx(100 * 2.2 / 26)
    assert (step.from_rank, step.to_rank, step.overtaken) == (3, 2, ("B",))


def test_ladder_of_distinct_steps():
    steps = climb(three(), "C", CONFIG, steps=3)
    assert [(s.n, s.to_rank) for s in steps] == [(11, 2), (21, 1)]          # 24.2 > A's 24
    assert steps[1].overtaken == ("A", "B")


def test_first_unit_and_unit_without_score_have_nothing_to_climb():
    assert climb(three(), "A", CONFIG) == []
    empty = pd.concat([three(), pd.DataFrame([dict(BASE, unit_code="Z", received_online=0, received_direct=0)])])
    assert climb(empty, "Z", CONFIG) == []


def test_out_of_reach_when_too_few_dossiers_can_move():
    totals = three()
    totals.loc[totals["unit_code"] == "C", ["resolved_on_time", "pending_overdue", "pending_on_time"]] = [70, 5, 25]
    # C: on time 70 + 25 pending within deadline = 95 -> 19 + 6 = 25 > A: C is first already.
    assert climb(totals, "C", CONFIG) == []
    totals.loc[totals["unit_code"] == "C", ["pending_on_time", "resolved_late"]] = [15, 10]
    # C: 85/100 -> 17 + 6 = 23 (rank 2); moving all 15 overdue/late gives exactly 20 + 6 = 26 > A.
    [step] = climb(totals, "C", CONFIG)
    assert (step.n, step.to_rank) == (6, 1)                                   # 17 + 1.2 = 18.2 > 18


def test_resolving_overdue_also_lifts_satisfaction():
    """With satisfaction reported, each conversion adds 0.2 (TDGQ) + 6/90 (MDHL) until 90% is satisfied."""
    x = dict(BASE, unit_code="X", resolved_on_time=80, resolved_late=20, dissatisfied=0)
    y = dict(BASE, unit_code="Y", resolved_on_time=90, resolved_late=10, dissatisfied=0)
    # X: 16 + 6 x 0.8/0.9 + 6 = 27.333 / 32;  Y: 18 + 6 + 6 = 30 / 32; n = 10 ties at 30.
    [step] = climb(pd.DataFrame([x, y]), "X", CONFIG)
    assert step.n == 11
    assert step.new_points == pytest.approx(30.2)
    assert step.points_gained == pytest.approx(30.2 - (16 + 6 * 0.8 / 0.9 + 6))
    assert step.to_rank == 1


def test_online_lever_and_options_sorted_by_fewest_dossiers():
    a = dict(BASE, unit_code="A", resolved_on_time=100, received_online=40, received_direct=60)
    d = dict(BASE, unit_code="D", resolved_on_time=95, resolved_late=5, received_online=30, received_direct=70)
    # A: 20 + 6 x 0.4/0.5 = 24.8;  D: 19 + 3.6 = 22.6. Online: 0.12 points per dossier -> 19 gives 24.88 > 24.8.
    # On time: 5 late -> at most 20 + 3.6 = 23.6 < 24.8, out of reach.
    totals = pd.DataFrame([a, d])
    assert climb(totals, "D", CONFIG, "on_time") == []
    [online] = climb(totals, "D", CONFIG, "online")
    assert online.n == 19 and online.points_gained == pytest.approx(19 * 0.12)
    options = climb_options(totals, "D", CONFIG)
    assert [(o.lever, o.n) for o in options] == [("online", 19)]


def test_bad_lever_and_unknown_unit_are_named():
    with pytest.raises(ValueError, match="Unknown lever 'faster'; use one of: on_time, online"):
        climb(three(), "C", CONFIG, "faster")
    with pytest.raises(KeyError, match="has no period totals"):
        climb(three(), "Q", CONFIG)
