"""store.scoped: the data layer filters by the caller's scope in SQL, whatever the request names."""
from __future__ import annotations

import datetime as dt

import pytest

from access.scope import OutOfScope, scope_for
from dashboards import loaders
from store.scoped import DataScope, OutOfScopeError, ScopedReader, as_reader
from tests.access.fixtures import clear_caches
from tests.dashboards import sample

START, END = dt.date(2025, 8, 1), dt.date(2025, 8, 27)
A, B, C = sample.A, sample.B, sample.C
HANOI_COMMUNE = "00004"   # a real commune code of another province (Hà Nội)


@pytest.fixture
def stored(engine):
    clear_caches()
    sample.write_sample(engine)
    yield engine
    clear_caches()


def _received(frame, code):
    row = frame[frame["unit_code"] == code]
    return int(row["received_online"].iloc[0] + row["received_direct"].iloc[0])


def test_a_chair_scope_reads_only_its_commune(stored):
    reader = ScopedReader(stored, DataScope("75", frozenset({A})))
    totals = reader.period_totals(START, END)
    assert list(totals["unit_code"]) == [A] and _received(totals, A) == 600
    assert reader.period_totals(START, END, unit_codes=[A], group_by=()).iloc[0]["received_online"] == 500
    daily = reader.daily_totals(START, END, by_unit=True)
    assert set(daily["unit_code"]) == {A} and daily["received_online"].sum() == 500
    assert reader.data_extent() == (sample.DAY1, sample.DAY1)


@pytest.mark.parametrize("requested", [[B], [A, B], [HANOI_COMMUNE], ["' OR 1=1 --"]])
def test_naming_a_unit_outside_the_scope_is_refused_not_narrowed(stored, requested):
    reader = ScopedReader(stored, DataScope("75", frozenset({A})))
    with pytest.raises(OutOfScopeError):
        reader.period_totals(START, END, unit_codes=requested)
    with pytest.raises(OutOfScopeError):
        reader.daily_totals(START, END, unit_codes=requested)
    with pytest.raises(OutOfScopeError):
        list(reader.iter_bucket_totals(START, END, "month", unit_codes=requested))


def test_the_whole_province_scope_refuses_other_provinces_units(stored):
    reader = ScopedReader(stored, DataScope("75"))
    assert _received(reader.period_totals(START, END, unit_codes=[B]), B) == 534
    assert int(reader.period_totals(START, END, group_by=()).iloc[0]["received_online"]) == 1000
    with pytest.raises(OutOfScopeError):
        reader.period_totals(START, END, unit_codes=[B, HANOI_COMMUNE])


def test_an_empty_scope_reads_nothing(stored):
    reader = ScopedReader(stored, scope_for("admin", "75", username="admin1").data_scope())
    assert reader.period_totals(START, END).empty and reader.daily_totals(START, END).empty
    assert reader.unit_freshness().empty
    with pytest.raises(OutOfScopeError):
        reader.period_totals(START, END, unit_codes=[A])


def test_access_scopes_map_to_data_scopes_and_share_the_403(stored):
    chair = scope_for("chair", "75", A, "chair1")
    assert chair.data_scope() == DataScope("75", frozenset({A}))
    assert scope_for("leader", "75").data_scope() == DataScope("75", None)
    assert chair.for_rankings().data_scope() == DataScope("75", None)
    assert issubclass(OutOfScope, OutOfScopeError)
    with pytest.raises(OutOfScopeError):
        as_reader(ScopedReader(stored, chair.data_scope()), "01")   # another province's loaders


def test_loader_caches_never_hand_one_scope_anothers_rows(stored):
    leader = ScopedReader(stored, DataScope("75"))
    chair = ScopedReader(stored, DataScope("75", frozenset({A})))
    whole = loaders.unit_kpis(leader, "75", START, END).set_index("unit_code")
    own = loaders.unit_kpis(chair, "75", START, END).set_index("unit_code")
    assert whole.loc[B, "received"] == 534 and own.loc[A, "received"] == 600
    assert own.loc[B, "received"] != own.loc[B, "received"]          # NaN: names are public, figures are not
    assert loaders.province_kpis(chair, "75", START, END)["received"] == 600
    assert loaders.province_kpis(leader, "75", START, END)["received"] == sample.RECEIVED
