"""Collectors: dossier-level records (latest state per source and MaHoSo).

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = ("collectors",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dossier_records",
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("dossier_id", sa.String(64), nullable=False),
        sa.Column("unit_code", sa.String(8), nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("channel", sa.SmallInteger),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("due_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("paid_online", sa.Boolean),
        sa.Column("digitised", sa.Boolean),
        sa.Column("imported_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("source", "dossier_id", name="pk_dossier_records"),
    )
    op.create_index("ix_dossier_records_unit", "dossier_records", ["source", "unit_code"])


def downgrade() -> None:
    op.drop_index("ix_dossier_records_unit", table_name="dossier_records")
    op.drop_table("dossier_records")
