"""Service index: hand-computed scores, "no data" never zero, missing-data rules, grades, config errors."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from config.errors import ConfigError
from config.facts import FACT_COLUMNS
from config.service_index import ServiceIndexConfig
from config.settings import load_settings
from geo.registry import units
from kpis.service_index import component_breakdown, group_points, not_computable_groups, service_index_frame
from store.readers import period_totals
from store.writers import upsert_facts, upsert_units

FULL = dict(unit_code="A", carried_over=0, received_online=60, received_direct=40, resolved_early=50,
            resolved_on_time=20, resolved_late=10, pending_on_time=15, pending_overdue=5, nearly_due=0,
            paid_online=30, fee_bearing=40, digitised=64, e_result=50, dissatisfied=2)
# B reports no optional column: only TDGQ and the CLGQ online part can be scored.
PARTIAL = dict(unit_code="B", carried_over=0, received_online=20, received_direct=80, resolved_early=80,
               resolved_on_time=0, resolved_late=0, pending_on_time=20, pending_overdue=0, nearly_due=0,
               paid_online=None, fee_bearing=None, digitised=None, e_result=None, dissatisfied=None)


def frame(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def test_components_points_and_score_are_hand_computed():
    result = service_index_frame(frame(FULL, PARTIAL), ServiceIndexConfig()).set_index("unit_code")
    a = result.loc["A"]
    # handled = 50+20+10+15+5 = 100
    assert a["pts_tdgq_on_time"] == pytest.approx(20 * 85 / 100)           # 17
    assert a["pts_clgq_online"] == pytest.approx(6.0)                        # 60% >= 50%
    assert a["pts_tttt_paid"] == pytest.approx(6 * 30 / 40)                  # 4.5
    assert a["pts_mdsh_digitised"] == pytest.approx(4 * 0.64 / 0.80)         # 3.2
    assert a["pts_mdsh_e_result"] == pytest.approx(6 * 0.5)                  # 3
    assert a["pts_mdhl_satisfied"] == pytest.approx(6 * 0.83 / 0.90)         # (100-2-10-5)/100 -> 5.5333
    assert a["points"] == pytest.approx(39.233333, abs=1e-6)
    assert a["max_points"] == 48
    assert a["score"] == pytest.approx(100 * 39.233333 / 48, abs=1e-4)      # 81.74
    assert a["grade"] == "tot"
    b = result.loc["B"]
    assert b["pts_tdgq_on_time"] == 20 and b["pts_clgq_online"] == pytest.approx(2.4)
    for code in ("tttt_paid", "mdsh_digitised", "mdsh_e_result", "mdhl_satisfied"):
        assert np.isnan(b[f"pts_{code}"])                                    # no data, not zero
    assert b["points"] == pytest.approx(22.4) and b["max_points"] == 26
    assert b["score"] == pytest.approx(100 * 22.4 / 26)                       # 86.15
    assert list(result["rank"]) == [2, 1]
    assert b["components_with_data"] == 2 and a["components_with_data"] == 6


def test_zero_denominator_and_absent_optional_columns_are_no_data():
    empty = dict(PARTIAL, unit_code="Z", received_online=0, received_direct=0, resolved_early=0,
                 pending_on_time=0)
    totals = frame(empty).drop(columns=["paid_online", "fee_bearing", "digitised", "e_result", "dissatisfied"])
    result = service_index_frame(totals, ServiceIndexConfig()).iloc[0]
    assert np.isnan(result["points"]) and np.isnan(result["score"])
    assert result["grade"] is None and pd.isna(result["rank"]) and result["components_with_data"] == 0


def test_fee_bearing_zero_means_no_payment_component():
    result = service_index_frame(frame(dict(FULL, fee_bearing=0, paid_online=0)), ServiceIndexConfig()).iloc[0]
    assert np.isnan(result["pts_tttt_paid"])
    assert result["max_points"] == 42


def test_ties_share_a_rank_standard_competition():
    rows = [dict(PARTIAL, unit_code=c) for c in ("X", "Y")] + [dict(FULL, unit_code="W"), dict(PARTIAL, unit_code="V",
                                                                                             received_online=0)]
    result = service_index_frame(frame(*rows), ServiceIndexConfig())
    # X = Y = 86.15, W = 81.74, V = 20/26 = 76.92
    assert list(result["rank"]) == [1, 1, 3, 4]


def test_missing_data_rules():
    rows = frame(FULL, PARTIAL)
    strict = service_index_frame(rows, ServiceIndexConfig(missing_data="require_all")).set_index("unit_code")
    assert np.isnan(strict.loc["B", "score"]) and pd.isna(strict.loc["B", "rank"])
    assert strict.loc["A", "score"] == pytest.approx(81.7361, abs=1e-4) and strict.loc["A", "rank"] == 1
    zero = service_index_frame(rows, ServiceIndexConfig(missing_data="zero")).set_index("unit_code")
    assert zero.loc["B", "max_points"] == 48
    assert zero.loc["B", "score"] == pytest.approx(100 * 22.4 / 48)          # 46.67
    assert zero.loc["B", "grade"] == "yeu"
    assert np.isnan(zero.loc["B", "pts_tttt_paid"])                          # still shown as no data
    needs_three = service_index_frame(rows, ServiceIndexConfig(min_components=3)).set_index("unit_code")
    assert np.isnan(needs_three.loc["B", "score"])


def test_weights_saturation_and_bands_come_from_config():
    config = ServiceIndexConfig(weights={"clgq_online": 12}, saturation={"clgq_online": 0.8},
                                grade_bands=[{"code": "dat", "min_score": 70, "label_vi": "Đạt", "label_en": "Pass"},
                                             {"code": "chua_dat", "min_score": 0, "label_vi": "Chưa đạt",
                                              "label_en": "Fail"}])
    b = service_index_frame(frame(PARTIAL), config).iloc[0]
    assert b["pts_clgq_online"] == pytest.approx(12 * 0.2 / 0.8)             # 3
    assert b["score"] == pytest.approx(100 * 23 / 32)                        # 71.875
    assert b["grade"] == "dat"
    assert config.max_points() == 54


def test_grade_band_edges():
    config = ServiceIndexConfig()
    assert [config.grade(s).code for s in (90, 89.99, 80, 65, 50, 49.99, 0)] == [
        "xuat_sac", "tot", "tot", "kha", "trung_binh", "yeu", "yeu"]
    assert config.grade(float("nan")) is None


@pytest.mark.parametrize("data, message", [
    ({"weights": {"ckmb": 5}}, "unknown component(s) ['ckmb']"),
    ({"weights": {"tdgq_on_time": 25}}, "between 0 and 20"),
    ({"saturation": {"clgq_online": 50}}, "(0, 1]"),
    ({"grade_bands": [{"code": "a", "min_score": 10, "label_vi": "A", "label_en": "A"}]}, "min_score 0"),
    ({"missing_data": "ignore"}, "renormalise"),
])
def test_bad_configuration_says_what_to_write(data, message):
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        ServiceIndexConfig(**data)


def test_settings_carry_the_service_index_and_reject_bad_values():
    assert load_settings(environ={}).service_index.weights["tdgq_on_time"] == 20
    with pytest.raises(ConfigError, match="between 0 and 20"):
        load_settings(environ={}, service_index={"weights": {"tdgq_on_time": 25}})


def test_group_points_and_breakdown():
    config = ServiceIndexConfig()
    result = service_index_frame(frame(FULL, PARTIAL), config)
    groups = group_points(result, config).set_index(["unit_code", "group"])
    assert groups.loc[("A", "MDSH"), "points"] == pytest.approx(6.2)
    assert groups.loc[("A", "MDSH"), "supported_points"] == 10 and groups.loc[("A", "MDSH"), "official_points"] == 22
    assert np.isnan(groups.loc[("A", "CKMB"), "points"]) and groups.loc[("A", "CKMB"), "supported_points"] == 0
    assert np.isnan(groups.loc[("B", "TTTT"), "points"])
    assert not_computable_groups() == ("CKMB",)
    breakdown = component_breakdown(result, "A", config)
    assert list(breakdown["component"][:2]) == ["tdgq_on_time", "mdsh_e_result"]    # 3 points lost each
    assert breakdown.set_index("component").loc["clgq_online", "lost"] == 0
    b = component_breakdown(result, "B", config)
    assert list(b["component"][-4:].map(lambda c: np.isnan(b.set_index("component").loc[c, "lost"]))) == [True] * 4
    with pytest.raises(KeyError, match="not in the service-index frame"):
        component_breakdown(result, "Q", config)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="lack columns"):
        service_index_frame(pd.DataFrame({"unit_code": ["A"]}), ServiceIndexConfig())
    with pytest.raises(TypeError, match="DataFrame of period totals"):
        service_index_frame([FULL], ServiceIndexConfig())


def test_store_period_totals_score_the_same_on_every_backend(engine):
    """NULL optional columns come back from SQL as no data, on SQLite and PostgreSQL alike."""
    upsert_units(engine, units("75"))
    day = dt.date(2025, 8, 25)
    rows = [dict(FULL, unit_code="25195"), dict(PARTIAL, unit_code="25210")]
    facts = pd.DataFrame([dict(r, day=day, field="ho_tich", source="test") for r in rows]).reindex(
        columns=list(FACT_COLUMNS))
    upsert_facts(engine, facts, dt.datetime(2025, 8, 26, 9, 0))
    totals = period_totals(engine, day, day, province_code="75")
    result = service_index_frame(totals, ServiceIndexConfig()).set_index("unit_code")
    assert result.loc["25195", "points"] == pytest.approx(39.233333, abs=1e-6)
    assert result.loc["25210", "points"] == pytest.approx(22.4)
    assert np.isnan(result.loc["25210", "pts_mdhl_satisfied"])
    assert list(result["rank"]) == [2, 1]
