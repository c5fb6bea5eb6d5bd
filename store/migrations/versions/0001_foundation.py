"""Foundation: units, dossier facts, collection runs, unit status, quarantine.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

FLOWS_AND_STOCKS = ("received_online", "received_direct", "resolved_early", "resolved_on_time", "resolved_late",
                    "pending_on_time", "pending_overdue", "nearly_due")
OPTIONAL = ("fully_online", "paid_online", "fee_bearing", "digitised", "e_result", "dissatisfied")


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("code", sa.String(8), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("short_name", sa.String(120), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("lat", sa.Float), sa.Column("lon", sa.Float), sa.Column("area_km2", sa.Float),
    )
    op.create_index("ix_units_province_code", "units", ["province_code"])
    op.create_table(
        "dossier_facts",
        sa.Column("unit_code", sa.String(8), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        *[sa.Column(name, sa.Integer, nullable=False) for name in FLOWS_AND_STOCKS],
        *[sa.Column(name, sa.Integer, nullable=True) for name in OPTIONAL],
        sa.Column("collected_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("unit_code", "day", "field", "source", name="pk_dossier_facts"),
    )
    op.create_index("ix_dossier_facts_day", "dossier_facts", ["day", "unit_code"])
    op.create_table(
        "collection_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("first_day", sa.Date), sa.Column("last_day", sa.Date),
        sa.Column("units_ok", sa.Integer, nullable=False),
        sa.Column("units_failed", sa.Integer, nullable=False),
        sa.Column("rows_written", sa.BigInteger, nullable=False),
        sa.Column("rows_quarantined", sa.Integer, nullable=False),
        sa.Column("detail", sa.JSON),
    )
    op.create_index("ix_collection_runs_finished", "collection_runs", ["finished_at"])
    op.create_table(
        "unit_status",
        sa.Column("unit_code", sa.String(8), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("last_success_at", sa.DateTime),
        sa.Column("last_day_collected", sa.Date),
        sa.Column("last_error_at", sa.DateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("unit_code", "source", name="pk_unit_status"),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("unit_code", sa.String(16)),
        sa.Column("day", sa.Date),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
    )
    op.create_index("ix_quarantine_received", "quarantine", ["received_at"])


def downgrade() -> None:
    for table in ("quarantine", "unit_status", "collection_runs", "dossier_facts", "units"):
        op.drop_table(table)
