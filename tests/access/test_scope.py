"""Scopes: what each role may read, and refusals for anything outside."""
import pytest
from flask import Flask
from sqlalchemy import column

from access.scope import OutOfScope, Scope, current_scope, open_scope, scope_for, set_current_scope

CHAIR = scope_for("chair", "75", "25195", "chair1")


def test_role_policy():
    leader, analyst, admin = (scope_for(r, "75") for r in ("leader", "analyst", "admin"))
    assert leader.whole_province and leader.can_export and not leader.can_admin
    assert analyst.whole_province and analyst.can_export and not analyst.can_admin
    assert admin.unit_codes == frozenset() and admin.can_admin and not admin.can_export
    assert CHAIR.unit_codes == frozenset({"25195"}) and CHAIR.can_export and not CHAIR.can_admin
    with pytest.raises(ValueError, match="bound to one commune"):
        scope_for("chair", "75")
    with pytest.raises(ValueError, match="unknown role 'boss'"):
        scope_for("boss", "75")


def test_allows_unit_checks_the_province_for_whole_province_scopes():
    leader = scope_for("leader", "75")
    assert leader.allows_unit("25195") and leader.allows_unit("75")
    assert not leader.allows_unit("00004")   # a ward of Hà Nội (province 01)
    assert not leader.allows_unit("nonsense")
    assert CHAIR.allows_unit("25195") and not CHAIR.allows_unit("25210")


def test_restrict_intersects_or_refuses():
    assert CHAIR.restrict() == ("25195",)
    assert CHAIR.restrict(["25195", "25195"]) == ("25195",)
    with pytest.raises(OutOfScope, match="25210"):
        CHAIR.restrict(["25195", "25210"])
    leader = scope_for("leader", "75")
    assert leader.restrict() is None
    assert leader.restrict(["25210", "25195"]) == ("25195", "25210")
    with pytest.raises(OutOfScope):
        leader.restrict(["00004"])
    assert scope_for("admin", "75").restrict() == ()
    assert CHAIR.reader_filter() == {"province_code": "75", "unit_codes": ("25195",)}


def test_unit_clause_renders_the_sql_filter():
    unit = column("unit_code")
    assert str(CHAIR.unit_clause(unit).compile(compile_kwargs={"literal_binds": True})) == "unit_code IN ('25195')"
    assert str(scope_for("leader", "75").unit_clause(unit).compile()) == "true"
    assert str(scope_for("admin", "75").unit_clause(unit).compile()) == "false"


def test_capabilities_and_rankings_scope():
    with pytest.raises(OutOfScope, match="may not administer"):
        CHAIR.require_admin()
    with pytest.raises(OutOfScope, match="may not export"):
        scope_for("admin", "75").require_export()
    ranking = CHAIR.for_rankings()
    assert ranking.whole_province and not ranking.can_export and ranking.username == "chair1"
    assert scope_for("admin", "75").for_rankings().unit_codes == frozenset()


def test_scope_is_frozen_and_normalises_unit_codes():
    scope = Scope("chair", "75", {"25195"})
    assert scope.unit_codes == frozenset({"25195"})
    with pytest.raises(AttributeError):
        scope.role = "leader"


def test_current_scope_needs_a_request_and_a_guard():
    with pytest.raises(RuntimeError, match="pass a Scope explicitly"):
        current_scope()
    app = Flask(__name__)
    with app.test_request_context("/"):
        with pytest.raises(OutOfScope, match="not logged in"):
            current_scope()
        set_current_scope(open_scope("75"))
        assert current_scope().whole_province and current_scope().role == "open"
