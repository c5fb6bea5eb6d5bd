"""SQLAlchemy 2 schema: units, dossier facts, collection runs, unit status and quarantine.

The Alembic migrations under store/migrations create exactly these tables; a test checks that
the migrated database and this metadata agree.
"""
from __future__ import annotations

from sqlalchemy import (
    JSON, BigInteger, Column, Date, DateTime, Float, Index, Integer, MetaData, PrimaryKeyConstraint,
    String, Table, Text,
)

from config.facts import FLOW_COLUMNS, OPTIONAL_COLUMNS, STOCK_COLUMNS

metadata = MetaData()


def key_text(length: int) -> String:
    """Text of a key compared with the facts' keys: bytewise ("C") on PostgreSQL, as SQLite compares.

    Codes are ASCII digits and slugs: byte order is their order, and the facts' primary key builds
    about a quarter faster than under a locale collation (migration 0011).
    """
    return String(length).with_variant(String(length, collation="C"), "postgresql")

units = Table(
    "units", metadata,
    Column("code", key_text(8), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("short_name", String(120), nullable=False),
    Column("type", String(16), nullable=False),          # xa | phuong | dac_khu | tinh
    Column("level", String(8), nullable=False),          # xa | tinh
    Column("province_code", String(2), nullable=False, index=True),
    Column("lat", Float), Column("lon", Float), Column("area_km2", Float),
)

dossier_facts = Table(
    "dossier_facts", metadata,
    Column("unit_code", key_text(8), nullable=False),
    Column("day", Date, nullable=False),
    Column("field", key_text(32), nullable=False),
    Column("source", key_text(32), nullable=False),
    *[Column(name, Integer, nullable=False, default=0) for name in FLOW_COLUMNS + STOCK_COLUMNS],
    *[Column(name, Integer, nullable=True) for name in OPTIONAL_COLUMNS],
    Column("collected_at", DateTime, nullable=False),
    PrimaryKeyConstraint("unit_code", "day", "field", "source", name="pk_dossier_facts"),
)
Index("ix_dossier_facts_day", dossier_facts.c.day, dossier_facts.c.unit_code)

collection_runs = Table(
    "collection_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("trigger", String(16), nullable=False),       # schedule | backfill | manual | import
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("status", String(16), nullable=False),        # running | ok | partial | failed
    Column("first_day", Date), Column("last_day", Date),
    Column("units_ok", Integer, nullable=False, default=0),
    Column("units_failed", Integer, nullable=False, default=0),
    Column("rows_written", BigInteger, nullable=False, default=0),
    Column("rows_quarantined", Integer, nullable=False, default=0),
    Column("detail", JSON),                              # per-unit failures: {unit: reason}
)
Index("ix_collection_runs_finished", collection_runs.c.finished_at)

unit_status = Table(
    "unit_status", metadata,
    Column("unit_code", key_text(8), nullable=False),
    Column("source", key_text(32), nullable=False),
    Column("last_success_at", DateTime),
    Column("last_day_collected", Date),
    Column("last_error_at", DateTime),
    Column("last_error", Text),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    PrimaryKeyConstraint("unit_code", "source", name="pk_unit_status"),
)

quarantine = Table(
    "quarantine", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer),
    Column("source", String(32), nullable=False),
    Column("received_at", DateTime, nullable=False),
    Column("unit_code", String(16)),
    Column("day", Date),
    Column("reason", Text, nullable=False),
    Column("raw", Text, nullable=False),
)
Index("ix_quarantine_received", quarantine.c.received_at)

# Tables of other concerns are defined in their own modules on this same metadata.
from store import health_schema  # noqa: E402,F401  (probe results, rollups, incidents, maintenance)
from store import collector_schema  # noqa: E402,F401  (dossier-level records of file imports)
from store import access_schema  # noqa: E402,F401  (users, login failures, audit log)
from store import rollups  # noqa: E402,F401  (rollups of dossier facts for small reads)
