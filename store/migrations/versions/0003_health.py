"""System health: systems, targets, raw probe results, hourly rollups, incidents, maintenance, gauges.

Revision ID: 0003
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = ("health",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "health_systems",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("since", sa.DateTime),
        sa.Column("updated_at", sa.DateTime),
    )
    op.create_table(
        "health_targets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(120), nullable=False, unique=True),
        sa.Column("system", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("unit_code", sa.String(8)),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("recipe", sa.String(64), nullable=False),
        sa.Column("interval_s", sa.Float, nullable=False),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.Column("consecutive_successes", sa.Integer, nullable=False),
        sa.Column("streak_started_at", sa.DateTime),
        sa.Column("down", sa.Boolean, nullable=False),
        sa.Column("state_since", sa.DateTime),
        sa.Column("last_at", sa.DateTime),
        sa.Column("last_success", sa.Boolean),
        sa.Column("last_reason", sa.String(8)),
        sa.Column("last_duration_ms", sa.Float),
        sa.Column("last_cert_days", sa.Float),
    )
    op.create_index("ix_health_targets_system", "health_targets", ["system"])
    op.create_table(
        "probe_results",
        sa.Column("target_id", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("success", sa.Boolean, nullable=False),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("reason", sa.String(8)),
        sa.Column("status_code", sa.SmallInteger),
        sa.Column("connect_ms", sa.Float),
        sa.Column("first_byte_ms", sa.Float),
        sa.Column("cert_days", sa.Float),
        sa.Column("detail", sa.Text),
        sa.PrimaryKeyConstraint("target_id", "at", name="pk_probe_results"),
    )
    op.create_index("ix_probe_results_at", "probe_results", ["at"])
    op.create_table(
        "probe_rollups",
        sa.Column("target_id", sa.Integer, nullable=False),
        sa.Column("hour", sa.DateTime, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("successes", sa.Integer, nullable=False),
        sa.Column("maintenance", sa.Integer, nullable=False),
        sa.Column("p50_ms", sa.Float), sa.Column("p95_ms", sa.Float), sa.Column("max_ms", sa.Float),
        sa.PrimaryKeyConstraint("target_id", "hour", name="pk_probe_rollups"),
    )
    op.create_index("ix_probe_rollups_hour", "probe_rollups", ["hour"])
    op.create_table(
        "health_incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("system", sa.String(32), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("ended_at", sa.DateTime),
        sa.Column("reason", sa.String(8), nullable=False),
        sa.Column("targets", sa.JSON, nullable=False),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_health_incidents_started", "health_incidents", ["started_at"])
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("starts_at", sa.DateTime, nullable=False),
        sa.Column("ends_at", sa.DateTime),
        sa.Column("duration_min", sa.Integer),
        sa.Column("weekdays", sa.String(20)),
        sa.Column("note", sa.Text),
    )
    op.create_table(
        "health_gauges",
        sa.Column("system", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("system", "name", "at", name="pk_health_gauges"),
    )


def downgrade() -> None:
    for table in ("health_gauges", "maintenance_windows", "health_incidents", "probe_rollups", "probe_results",
                  "health_targets", "health_systems"):
        op.drop_table(table)
