"""Collector tables, defined on store.schema.metadata (migration 0002_collectors creates them).

Dossier-level records keep their latest state keyed by (source, MaHoSo): re-importing the same or
an overlapping file replaces rows instead of adding them, and daily facts are recomputed from here.
"""
from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Index, PrimaryKeyConstraint, SmallInteger, String, Table

from store.schema import metadata

dossier_records = Table(
    "dossier_records", metadata,
    Column("source", String(32), nullable=False),
    Column("dossier_id", String(64), nullable=False),       # MaHoSo
    Column("unit_code", String(8), nullable=False),         # MaDonVi
    Column("field", String(32), nullable=False),            # LinhVuc, mapped to a procedure field code
    Column("channel", SmallInteger),                        # KenhThucHien: 1 direct, 2 online, 3 postal
    Column("received_at", DateTime, nullable=False),        # NgayTiepNhan
    Column("due_at", DateTime, nullable=False),             # NgayHenTra
    Column("finished_at", DateTime),                        # NgayKetThucXuLy; NULL while open
    Column("paid_online", Boolean),                         # DuocThanhToanTrucTuyen
    Column("digitised", Boolean),                           # HoSoCoThanhPhanSoHoa
    Column("imported_at", DateTime, nullable=False),
    PrimaryKeyConstraint("source", "dossier_id", name="pk_dossier_records"),
)
Index("ix_dossier_records_unit", dossier_records.c.source, dossier_records.c.unit_code)
