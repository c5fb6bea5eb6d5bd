"""Bytewise ("C") collation for the text key columns of facts, rollups, units and unit status (PostgreSQL).

Revision ID: 0011
Revises: 0005 (depends on 0001)

Comparing keys byte by byte instead of through the locale makes building and probing the facts'
primary key about a quarter cheaper (bulk COPY of 500k rows 3.7 s -> 2.8 s). The codes are ASCII
digits and slugs: equality is unchanged, and digit codes sort the same. Every column joined with the
facts' keys gets the same collation so joins keep using their indexes. SQLite already compares bytes.
"""
from alembic import op

revision = "0011"
down_revision = "0005"
branch_labels = None
depends_on = None

# table -> (column, length): the key text columns compared with dossier_facts' keys
COLUMNS = {
    "units": (("code", 8),),
    "dossier_facts": (("unit_code", 8), ("field", 32), ("source", 32)),
    "unit_status": (("unit_code", 8), ("source", 32)),
    "rollup_unit_day": (("unit_code", 8),),
    "rollup_unit_month": (("unit_code", 8),),
    "rollup_unit_field_month": (("unit_code", 8), ("field", 32)),
}


def _alter(collation: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in COLUMNS.items():
        changes = ", ".join(f'ALTER COLUMN {name} TYPE varchar({length}) COLLATE {collation}'
                            for name, length in columns)
        op.execute(f"ALTER TABLE {table} {changes}")  # one rewrite per table (indexes rebuilt once)


def upgrade() -> None:
    _alter('"C"')


def downgrade() -> None:
    _alter('"default"')
