"""The migrated schema equals the metadata; writers are idempotent on both backends."""
import datetime as dt

import pandas as pd
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from geo import registry
from store import readers, writers
from store.schema import dossier_facts, metadata, quarantine, units

AT = dt.datetime(2025, 8, 1, 8, 0)


def _fact(unit, day, field="ho_tich", **counts):
    row = dict(unit_code=unit, day=day, field=field, source="test", received_online=0, received_direct=0,
               resolved_early=0, resolved_on_time=0, resolved_late=0, pending_on_time=0, pending_overdue=0,
               nearly_due=0)
    row.update(counts)
    return row


def test_migrations_create_exactly_the_schema(engine):
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_units_upsert_is_idempotent(engine):
    writers.upsert_units(engine, registry.all_units())
    writers.upsert_units(engine, registry.all_units())
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(units)).scalar() == 3321 + 34
    stored = readers.load_units(engine, "75")
    assert len(stored) == 96 and set(stored.type) == {"tinh", "phuong", "xa"}


def test_fact_upsert_replaces_by_key_and_keeps_null_optionals(engine):
    writers.upsert_units(engine, registry.units("75"))
    code = registry.communes("75").code.iloc[0]
    first = pd.DataFrame([_fact(code, dt.date(2025, 7, 1), received_online=5, paid_online=None),
                          _fact(code, dt.date(2025, 7, 2), received_online=7, paid_online=2)])
    writers.upsert_facts(engine, first, AT)
    writers.upsert_facts(engine, pd.DataFrame([_fact(code, dt.date(2025, 7, 1), received_online=6)]), AT)
    with engine.connect() as connection:
        rows = connection.execute(select(dossier_facts.c.day, dossier_facts.c.received_online,
                                         dossier_facts.c.paid_online).order_by(dossier_facts.c.day)).all()
    assert [tuple(r) for r in rows] == [(dt.date(2025, 7, 1), 6, None), (dt.date(2025, 7, 2), 7, 2)]


def test_period_totals_flows_and_stocks(engine):
    writers.upsert_units(engine, registry.units("75"))
    a, b = registry.communes("75").code.iloc[:2]
    facts = pd.DataFrame([
        _fact(a, dt.date(2025, 7, 14), received_online=3, pending_on_time=4, pending_overdue=1),
        _fact(a, dt.date(2025, 7, 15), received_online=2, received_direct=1, resolved_early=1, resolved_late=1,
              pending_on_time=5, pending_overdue=1, nearly_due=2),
        _fact(a, dt.date(2025, 7, 16), received_direct=2, resolved_on_time=3, pending_on_time=4, pending_overdue=0),
    ])
    writers.upsert_facts(engine, facts, AT)
    totals = readers.period_totals(engine, dt.date(2025, 7, 15), dt.date(2025, 7, 31), unit_codes=[a, b])
    row = totals.set_index("unit_code").loc[a]
    assert (row.carried_over, row.received_online, row.received_direct) == (5, 2, 3)
    assert (row.resolved_early, row.resolved_on_time, row.resolved_late) == (1, 3, 1)
    assert (row.pending_on_time, row.pending_overdue, row.days_with_data) == (4, 0, 2)
    assert b not in set(totals.unit_code)  # no data is absent, never zeros


def test_quarantine_keeps_raw_payload(engine):
    writers.quarantine_records(engine, "test", AT, [{"reason": "negative count", "raw": {"received_online": -1},
                                                    "unit_code": "25195", "day": dt.date(2025, 7, 1)}])
    with engine.connect() as connection:
        row = connection.execute(select(quarantine)).one()
    assert row.reason == "negative count" and '"received_online": -1' in row.raw
