"""System-health tables, defined on store.schema.metadata (migration 0003_health creates them).

Raw probe results are narrow (integer target id, fixed measurement columns, no JSON) because at
national scale they arrive at ~16,600 rows a minute; hourly rollups carry the long history.
"""
from __future__ import annotations

from sqlalchemy import (
    JSON, Boolean, Column, DateTime, Float, Index, Integer, PrimaryKeyConstraint, SmallInteger, String,
    Table, Text,
)

from store.schema import metadata

health_systems = Table(
    "health_systems", metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("level", String(8), nullable=False),           # tinh | xa
    Column("state", String(8), nullable=False),           # green | amber | red
    Column("since", DateTime),                            # when it entered that state
    Column("updated_at", DateTime),
)

health_targets = Table(
    "health_targets", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(120), nullable=False, unique=True),
    Column("system", String(32), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("unit_code", String(8)),
    Column("url", Text, nullable=False),
    Column("recipe", String(64), nullable=False),
    Column("interval_s", Float, nullable=False),
    # per-target incident state machine
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("consecutive_successes", Integer, nullable=False, default=0),
    Column("streak_started_at", DateTime),                # first attempt of the current streak
    Column("down", Boolean, nullable=False, default=False),
    Column("state_since", DateTime),                      # last up/down transition (or first attempt)
    Column("last_at", DateTime),
    Column("last_success", Boolean),
    Column("last_reason", String(8)),
    Column("last_duration_ms", Float),
    Column("last_cert_days", Float),
)

probe_results = Table(
    "probe_results", metadata,
    Column("target_id", Integer, nullable=False),
    Column("at", DateTime, nullable=False),
    Column("success", Boolean, nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("reason", String(8)),                          # timeout | refused | dns | tls | status | content
    Column("status_code", SmallInteger),
    Column("connect_ms", Float),
    Column("first_byte_ms", Float),
    Column("cert_days", Float),
    Column("detail", Text),                               # failures only
    PrimaryKeyConstraint("target_id", "at", name="pk_probe_results"),
)
Index("ix_probe_results_at", probe_results.c.at)

probe_rollups = Table(
    "probe_rollups", metadata,
    Column("target_id", Integer, nullable=False),
    Column("hour", DateTime, nullable=False),
    Column("count", Integer, nullable=False),             # attempts outside maintenance
    Column("successes", Integer, nullable=False),
    Column("maintenance", Integer, nullable=False),       # attempts excluded as maintenance
    Column("p50_ms", Float), Column("p95_ms", Float), Column("max_ms", Float),  # successful attempts
    PrimaryKeyConstraint("target_id", "hour", name="pk_probe_rollups"),
)
Index("ix_probe_rollups_hour", probe_rollups.c.hour)

health_incidents = Table(
    "health_incidents", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("system", String(32), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("ended_at", DateTime),                         # NULL while open
    Column("reason", String(8), nullable=False),
    Column("targets", JSON, nullable=False),              # affected target keys
    Column("detail", Text),
)
Index("ix_health_incidents_started", health_incidents.c.started_at)

maintenance_windows = Table(
    "maintenance_windows", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(120), nullable=False),         # "*", a system code or a target key
    Column("kind", String(8), nullable=False),            # once | daily | weekly
    Column("starts_at", DateTime, nullable=False),        # once: start; recurring: first occurrence
    Column("ends_at", DateTime),                          # once: end; recurring: last day it applies (NULL = open)
    Column("duration_min", Integer),                      # recurring only
    Column("weekdays", String(20)),                       # weekly: "0,6" (Monday = 0)
    Column("note", Text),
)

health_gauges = Table(
    "health_gauges", metadata,
    Column("system", String(32), nullable=False),
    Column("name", String(64), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("value", Float, nullable=False),
    PrimaryKeyConstraint("system", "name", "at", name="pk_health_gauges"),
)

HEALTH_TABLES = (health_systems, health_targets, probe_results, probe_rollups, health_incidents,
                 maintenance_windows, health_gauges)
