"""Rollups of dossier facts (unit x day, unit x month, unit x field x month, province x level x day).

Revision ID: 0005
Revises: 0001

Facts already in the store are rolled up here, so an upgraded store reads the same numbers.
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = ("rollups",)
depends_on = None

FLOWS = ("received_online", "received_direct", "resolved_early", "resolved_on_time", "resolved_late")
STOCKS = ("pending_on_time", "pending_overdue", "nearly_due")
OPTIONAL = ("fully_online", "paid_online", "fee_bearing", "digitised", "e_result", "dissatisfied")


def _counts(names):
    return [sa.Column(n, sa.Integer, nullable=n in OPTIONAL) for n in names]


def upgrade() -> None:
    op.create_table(
        "rollup_unit_day",
        sa.Column("unit_code", sa.String(8), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("fact_rows", sa.Integer, nullable=False),
        sa.Column("complete", sa.SmallInteger, nullable=False),
        *_counts(FLOWS + STOCKS + OPTIONAL),
        sa.PrimaryKeyConstraint("unit_code", "day", name="pk_rollup_unit_day"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_rollup_unit_day_day", "rollup_unit_day", ["day", "unit_code"])
    op.create_table(
        "rollup_unit_month",
        sa.Column("unit_code", sa.String(8), nullable=False),
        sa.Column("month", sa.Date, nullable=False),
        sa.Column("days", sa.Integer, nullable=False),
        sa.Column("day_mask", sa.Integer, nullable=False),
        *_counts(FLOWS + OPTIONAL),
        sa.PrimaryKeyConstraint("unit_code", "month", name="pk_rollup_unit_month"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "rollup_unit_field_month",
        sa.Column("unit_code", sa.String(8), nullable=False),
        sa.Column("month", sa.Date, nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("days", sa.Integer, nullable=False),
        sa.Column("day_mask", sa.Integer, nullable=False),
        *_counts(FLOWS + OPTIONAL),
        sa.PrimaryKeyConstraint("unit_code", "month", "field", name="pk_rollup_unit_field_month"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "rollup_province_day",
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("units", sa.Integer, nullable=False),
        *_counts(FLOWS + STOCKS + OPTIONAL),
        sa.PrimaryKeyConstraint("province_code", "level", "day", name="pk_rollup_province_day"),
        sqlite_with_rowid=False,
    )


    from store.rollups import rebuild  # the one definition of how rollups are computed
    rebuild(op.get_bind())


def downgrade() -> None:
    for name in ("rollup_province_day", "rollup_unit_field_month", "rollup_unit_month", "rollup_unit_day"):
        op.drop_table(name)
