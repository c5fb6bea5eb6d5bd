"""National mode's province resolution and access: ?tinh, commune paths, scopes, 403/400, exports (both backends)."""
from __future__ import annotations

import datetime as dt

import flask
import pytest

from access.scope import OutOfScope, Scope, current_scope, scope_for
from access.users import UserError, add_user
from config.settings import ConfigError, load_settings
from dashboards import loaders, scope_url
from dashboards.app import create_app
from tests import national_sample
from tests.access.helpers import ORIGIN, PASSWORD, callback_body, cheap_hashing, login  # noqa: F401

pytestmark = pytest.mark.usefixtures("cheap_hashing")
NOW = dt.datetime(2025, 8, 1, 8, 0)


def test_mode_setting_is_validated():
    assert load_settings(environ={"IOC_MODE": "National"}).national
    assert not load_settings(environ={}).national
    with pytest.raises(ConfigError, match="IOC_MODE.*must be one of province, national"):
        load_settings(environ={"IOC_MODE": "country"})


def test_province_codes_are_read_strictly():
    assert scope_url.parse_province("1") == "01" and scope_url.parse_province(" 75 ") == "75"
    assert scope_url.parse_province("") is None and scope_url.parse_province(None) is None
    for bad in ("99", "7a", "001"):
        with pytest.raises(scope_url.UnknownProvince, match="not an official two-digit province code"):
            scope_url.parse_province(bad)


def test_a_national_scope_narrows_to_any_province_a_bound_one_only_to_its_own():
    nation = Scope("leader", None, None, can_export=True)
    assert nation.national and nation.for_province(None) is nation
    assert nation.for_province("01").province_code == "01" and nation.for_province("01").can_export
    assert nation.allows_unit("00004") and nation.allows_unit("25195") and not nation.allows_unit("99999")
    bound = Scope("leader", "75", None, can_export=True)
    assert bound.for_province(None) is bound and bound.for_province("75") is bound
    with pytest.raises(OutOfScope, match="may not read province 01"):
        bound.for_province("01")


def test_roles_in_national_mode():
    assert scope_for("leader", None).province_code is None
    assert scope_for("analyst", None, "75").province_code == "75"           # bound by the province's own code
    chair = scope_for("chair", None, "00004")
    assert chair.province_code == "01" and chair.unit_codes == {"00004"}
    with pytest.raises(ValueError, match="two-digit code"):
        scope_for("leader", None, "25195")


def test_accounts_in_national_mode(engine):
    add_user(engine, NOW, None, "lanhdao75", "leader", unit_code="75", password=PASSWORD)
    add_user(engine, NOW, None, "chutich.badinh", "chair", unit_code="00004", password=PASSWORD)
    with pytest.raises(UserError, match="two-digit province code"):
        add_user(engine, NOW, None, "lanhdao.x", "leader", unit_code="00004", password=PASSWORD)
    with pytest.raises(UserError, match="only a commune chair is bound"):   # province mode: unchanged
        add_user(engine, NOW, "75", "lanhdao.y", "leader", unit_code="75", password=PASSWORD)


@pytest.fixture
def national(engine, tmp_path_factory):
    """A national-mode app with sign-in on, three provinces' facts, and three accounts."""
    loaders.clear()
    national_sample.write(engine)
    for name, role, unit in (("toanquoc", "leader", None), ("lanhdao75", "leader", "75"),
                             ("chutich.badinh", "chair", "00004")):
        user, _ = add_user(engine, NOW, None, name, role, unit_code=unit, password=PASSWORD)
        from sqlalchemy import update
        from store.access_schema import users
        with engine.begin() as connection:
            connection.execute(update(users).where(users.c.id == user.id).values(must_change_password=False))
    settings = load_settings(environ={}, data_dir=tmp_path_factory.mktemp("national"), mode="national")
    app = create_app(settings, engine, None, now=lambda: national_sample.NOW)

    def probe():
        return flask.jsonify(province=current_scope().province_code, shown=app_context().province_code)
    app.server.add_url_rule("/api/probe", endpoint="probe", view_func=probe)
    yield app
    loaders.clear()


def app_context():
    from dashboards import context
    return context.current()


def _client(app, username):
    client = app.server.test_client()
    assert login(client, username).status_code == 302
    return client


def test_the_url_chooses_the_province_and_the_scope_checks_it(national):
    nation = _client(national, "toanquoc")
    assert nation.get("/api/probe").json == {"province": None, "shown": None}
    assert nation.get("/api/probe?tinh=1").json == {"province": "01", "shown": "01"}
    assert nation.get("/api/probe?tinh=99").status_code == 400
    assert nation.get("/?tinh=24").status_code == 200

    bound = _client(national, "lanhdao75")
    assert bound.get("/api/probe").json["province"] == "75"       # no ?tinh: its own province, never the nation
    assert bound.get("/api/probe?tinh=75").json["province"] == "75"
    assert bound.get("/api/probe?tinh=01").status_code == 403
    assert bound.get("/?tinh=01").status_code == 403
    # A callback carries the page's URL in its Referer: another province's page is refused there too.
    refused = bound.post("/_dash-update-component", json=callback_body(),
                         headers={**ORIGIN, "Referer": "http://localhost/?tinh=01"})
    assert refused.status_code == 403
    allowed = bound.post("/_dash-update-component", json=callback_body(),
                         headers={**ORIGIN, "Referer": "http://localhost/rankings?tinh=75"})
    assert allowed.status_code == 200


def test_a_commune_page_implies_its_province(national):
    nation = _client(national, "toanquoc")
    assert nation.get("/commune/00004").status_code == 200
    chair = _client(national, "chutich.badinh")
    assert chair.get("/api/probe").json["province"] == "01"
    assert chair.get("/commune/25195").status_code == 403


def test_exports_follow_the_province_shown(national):
    nation = _client(national, "toanquoc")
    query = "from=2025-08-01&to=2025-08-26&format=csv&by=month"
    everything = nation.get(f"/export/download?{query}").get_data(as_text=True)
    assert "00004" in everything and "25195" in everything and "07210" in everything
    bac_ninh = nation.get(f"/export/download?{query}&tinh=24").get_data(as_text=True)
    assert "07210" in bac_ninh and "00004" not in bac_ninh and "25195" not in bac_ninh
    bound = _client(national, "lanhdao75")
    assert bound.get(f"/export/download?{query}&tinh=24").status_code == 403


def test_province_mode_ignores_the_parameter(engine, tmp_path):
    loaders.clear()
    national_sample.write(engine)
    settings = load_settings(environ={}, data_dir=tmp_path, auth_enabled=False)
    app = create_app(settings, engine, None, now=lambda: national_sample.NOW)
    with app.server.test_request_context("/?tinh=01"):
        assert scope_url.province(app_context()) == "75"
        assert scope_url.requested_province(app_context()) == "75"


def test_the_breadcrumb_links_up_to_the_nation_only_for_national_scopes(national):
    from dashboards.components.shell import breadcrumb

    probe = "/api/crumb"
    national.server.add_url_rule(probe, endpoint="crumb", view_func=lambda: flask.jsonify(
        str(type(breadcrumb(app_context().province_code, "vi").children[0]).__name__)))
    nation, bound = _client(national, "toanquoc"), _client(national, "lanhdao75")
    assert nation.get(probe + "?tinh=75").json == "Link"
    assert bound.get(probe + "?tinh=75").json == "Span"


def test_each_app_in_a_process_answers_the_nation_views(engine, tmp_path):
    """The nation's callbacks live in ordinary modules (imported once): every app must still get them,
    whichever app was built first (a province app before a national one, as in one test session)."""
    province_app = create_app(load_settings(environ={}, data_dir=tmp_path / "province", auth_enabled=False),
                              engine, None, now=lambda: NOW)
    national_app = create_app(load_settings(environ={}, data_dir=tmp_path / "nation", auth_enabled=False,
                                            mode="national"), engine, None, now=lambda: NOW)
    for app in (province_app, national_app):
        assert {"nation-map.figure", "nation-trend.figure"} <= set(app.callback_map)
        assert any(key.startswith("..nrank-table.children") for key in app.callback_map)
