"""Procedure fields (lĩnh vực) handled at commune level, with their usual processing time.

`deadline_days` is the typical legal time limit, used by the simulator; real sources deliver
their own on-time classification.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProcedureField:
    code: str
    name_vi: str
    name_en: str
    deadline_days: int
    share: float  # typical share of commune-level dossiers, for the simulator


PROCEDURE_FIELDS: tuple[ProcedureField, ...] = (
    ProcedureField("ho_tich", "Hộ tịch", "Civil status", 3, 0.30),
    ProcedureField("chung_thuc", "Chứng thực", "Certification", 1, 0.34),
    ProcedureField("dat_dai", "Đất đai", "Land", 10, 0.08),
    ProcedureField("dang_ky_kinh_doanh", "Đăng ký kinh doanh", "Business registration", 3, 0.05),
    ProcedureField("bao_tro_xa_hoi", "Bảo trợ xã hội", "Social protection", 7, 0.07),
    ProcedureField("xay_dung", "Xây dựng", "Construction", 10, 0.04),
    ProcedureField("nguoi_co_cong", "Người có công", "Meritorious people", 7, 0.05),
    ProcedureField("khac", "Lĩnh vực khác", "Other fields", 5, 0.07),
)
FIELDS_BY_CODE = {f.code: f for f in PROCEDURE_FIELDS}
