"""Hostile requests made directly with an HTTP client: each is refused and changes nothing."""
from __future__ import annotations

import datetime as dt
import json

import flask
import pytest
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import func, select, update

from access import audit
from store.access_schema import users
from store.schema import dossier_facts, units
from tests.access.fixtures import (
    FROM, OTHER, OWN, TO, ROLE_USERS, client_for, dependencies, payload, post_callback, secured, clock,  # noqa: F401
    text_of,
)
from tests.access.helpers import PASSWORD, login

pytestmark = pytest.mark.usefixtures("cheap_hashing")

INJECTIONS = ["' OR '1'='1", "1; DROP TABLE users;--", "25195' UNION SELECT password_hash FROM users--",
              "%27%20OR%201%3D1", "\" OR \"\"=\"", "25195)) OR ((1=1"]
TRAVERSALS = ["../../secret_key", "..%2F..%2Fsecret_key", "....//....//etc/passwd", "%2e%2e%2f%2e%2e%2fsecret_key",
              "..\\..\\secret_key", "/etc/passwd", "0" * 32 + "/../../secret_key"]


def _fingerprint(engine) -> tuple:
    """What an attack must not change: row counts and every password hash."""
    with engine.connect() as connection:
        facts = connection.execute(select(func.count()).select_from(dossier_facts)).scalar_one()
        unit_rows = connection.execute(select(func.count()).select_from(units)).scalar_one()
        hashes = tuple(connection.execute(select(users.c.username, users.c.password_hash, users.c.disabled)
                                          .order_by(users.c.username)).all())
    return facts, unit_rows, hashes


def _commune_body(client, output: str, code: str) -> dict:
    return payload(client, output, {"commune-period.start_date": FROM, "commune-period.end_date": TO,
                                    "commune-interval.n_intervals": 0, "commune-code.data": code,
                                    "commune-lang.data": "vi"})


@pytest.mark.parametrize("output", ["commune-score.children", "commune-trend.figure", "commune-fields.children",
                                    "commune-history.figure", "commune-systems.children"])
def test_chair_crafting_a_callback_for_another_commune_gets_403_and_no_data(secured, output):
    app, engine = secured
    chair = client_for(app, "chair")
    before = _fingerprint(engine)
    answer = post_callback(chair, _commune_body(chair, output, OTHER))
    assert answer.status_code == 403 and answer.json == {"error": "outside your access scope"}
    assert "534" not in text_of(answer) and "response" not in answer.json
    # The page router's own callback, asked to render the other commune's page, is refused too.
    router = payload(chair, "_pages_content.children", {"_pages_location.pathname": f"/commune/{OTHER}",
                                                        "_pages_location.search": ""})
    assert post_callback(chair, router).status_code == 403
    assert _fingerprint(engine) == before


def test_chair_crafting_an_export_for_another_commune_gets_403(secured):
    app, engine = secured
    chair = client_for(app, "chair")
    state = {"export-period.start_date": FROM, "export-period.end_date": TO, "export-units.value": [OTHER],
             "export-fields.value": None, "export-by.value": "month", "export-format.value": "csv",
             "export-lang.data": "vi", "export-start.n_clicks": 1}
    assert post_callback(chair, payload(chair, "export-job.data", state)).status_code == 403
    assert post_callback(chair, payload(chair, "export-preview.children", state)).status_code == 403
    assert chair.get("/export/download", query_string={"from": FROM, "to": TO, "units": OTHER}).status_code == 403
    assert audit.list_events(engine, action="export").empty


def test_analyst_editing_users_is_refused(secured):
    app, engine = secured
    analyst = client_for(app, "analyst")
    before = _fingerprint(engine)
    body = payload(analyst, "admin-users.children", {
        "admin-add.n_clicks": 1, "admin-new-name.value": "backdoor", "admin-new-role.value": "admin",
        "admin-user-select.value": "admin1", "admin-lang.data": "vi"}, changed="admin-add.n_clicks")
    assert post_callback(analyst, body).status_code == 403
    body["changedPropIds"] = ["admin-reset.n_clicks"]
    assert post_callback(analyst, body).status_code == 403
    assert analyst.get("/admin").status_code == 403
    assert _fingerprint(engine) == before


def test_requests_without_a_session_are_refused_everywhere(secured):
    app, engine = secured
    bodies = [payload(client_for(app, "leader"), d["output"].split("@")[0].strip(".").split("...")[0], {})
              for d in dependencies(client_for(app, "leader")) if not d["output"].startswith("_pages")]
    anonymous = app.server.test_client()
    before = _fingerprint(engine)
    for body in bodies:
        assert post_callback(anonymous, body).status_code == 401
    for path in ("/_dash-layout", "/_dash-dependencies", "/export/download?from=2025-08-01&to=2025-08-27",
                 "/export/jobs/" + "0" * 32, "/geo/75.geojson"):
        assert anonymous.get(path).status_code == 401
    for path in ("/", "/admin", f"/commune/{OWN}", "/export"):
        assert anonymous.get(path).status_code == 302
    assert _fingerprint(engine) == before


def _signed(secret: str, payload_: dict) -> str:
    signer = flask.Flask("forger")
    signer.secret_key = secret
    return SecureCookieSessionInterface().get_signing_serializer(signer).dumps(payload_)


def test_forged_and_expired_cookies_are_refused(secured, clock, engine):
    app, _engine = secured
    admin_id = engine.connect().execute(select(users.c.id).where(users.c.username == "admin1")).scalar_one()
    leader = client_for(app, "leader")
    body = payload(leader, "admin-users.children", {"admin-lang.data": "vi"})
    client = app.server.test_client()
    client.set_cookie("ioc_session", _signed("guessed-secret-" * 3, {"uid": admin_id, "epoch": 0,
                                                                      "iat": clock().isoformat()}))
    assert post_callback(client, body).status_code == 401
    client.set_cookie("ioc_session", _signed(app.server.secret_key, {"uid": admin_id, "epoch": 0,
                                                                      "iat": (clock() - dt.timedelta(days=30)).isoformat()}))
    assert post_callback(client, body).status_code == 401
    assert post_callback(leader, body).status_code == 403           # the genuine leader is still no admin


def test_csrf_without_token_or_origin_is_refused(secured):
    app, engine = secured
    admin = client_for(app, "admin")
    before = _fingerprint(engine)
    body = payload(admin, "admin-users.children", {"admin-reset.n_clicks": 1, "admin-user-select.value": "leader1",
                                                   "admin-lang.data": "vi"}, changed="admin-reset.n_clicks")
    assert post_callback(admin, body, headers={}).status_code == 403
    assert post_callback(admin, body, headers={"Origin": "https://evil.example"}).status_code == 403
    assert admin.post("/login", data={"username": "leader1", "password": PASSWORD}).status_code == 400
    assert admin.post("/change-password", data={"current": PASSWORD, "new": "x" * 12, "confirm": "x" * 12},
                      headers={"Origin": "http://localhost"}).status_code == 400
    assert _fingerprint(engine) == before


@pytest.mark.parametrize("name", ["from", "to", "units", "fields", "by", "format", "lang"])
def test_sql_injection_in_every_export_parameter_is_a_clean_refusal(secured, name):
    app, engine = secured
    analyst = client_for(app, "analyst")
    before = _fingerprint(engine)
    for attack in INJECTIONS:
        query = {"from": FROM, "to": TO, "format": "csv", name: attack}
        response = analyst.get("/export/download", query_string=query)
        if name == "lang":   # an unknown language falls back to Vietnamese: harmless, still only data in scope
            assert response.status_code == 200
        else:
            assert response.status_code in (400, 403, 404), (name, attack, response.status_code)
        text_of(response)
    assert _fingerprint(engine) == before


def test_sql_injection_in_callback_filters_and_paths_never_breaks_anything(secured):
    app, engine = secured
    leader, chair = client_for(app, "leader"), client_for(app, "chair")
    before = _fingerprint(engine)
    for attack in INJECTIONS:
        assert leader.get(f"/commune/{attack}").status_code in (400, 403, 404)
        assert chair.get(f"/commune/{attack}").status_code in (400, 403, 404)
        for output, values in (
                ("overview-trend.figure", {"overview-period.start_date": attack, "overview-period.end_date": attack,
                                           "overview-field.value": attack, "overview-lang.data": attack}),
                ("rankings-table.children", {"rankings-search.value": attack, "rankings-type.value": attack,
                                             "rankings-period.start_date": attack, "rankings-lang.data": "vi"}),
                ("admin-audit.children", {"admin-audit-actor.value": attack, "admin-audit-action.value": attack,
                                          "admin-audit-period.start_date": attack})):
            answer = post_callback(leader, payload(leader, output, values))
            assert answer.status_code in (200, 204, 400, 403), (output, attack, answer.status_code)
        answer = post_callback(chair, _commune_body(chair, "commune-trend.figure", attack))
        assert answer.status_code in (204, 403)
    assert _fingerprint(engine) == before


def test_path_traversal_in_job_ids_and_file_names_finds_nothing(secured, tmp_path):
    app, _engine = secured
    (tmp_path / "secret_key").exists()
    analyst = client_for(app, "analyst")
    for attack in TRAVERSALS:
        for path in (f"/export/jobs/{attack}", f"/assets/{attack}", f"/geo/{attack}.geojson"):
            response = analyst.get(path)
            body = text_of(response)
            # The client may fold "a/../b" into "/b": then the app's page router answers with its index page.
            index_page = response.status_code == 200 and response.mimetype == "text/html" and "_dash-config" in body
            assert response.status_code in (400, 403, 404) or index_page, (path, response.status_code)
            assert app.server.secret_key not in body and "root:" not in body


def test_an_oversized_upload_is_refused_with_413(secured):
    app, engine = secured
    before = _fingerprint(engine)
    big = "x" * (3 * 1024 * 1024)
    leader = client_for(app, "leader")
    body = payload(leader, "overview-trend.figure", {"overview-lang.data": big})
    assert post_callback(leader, body).status_code == 413
    assert app.server.test_client().post("/login", data={"username": "leader1", "password": big}).status_code == 413
    assert _fingerprint(engine) == before


def test_script_tags_in_names_are_rendered_as_text(secured):
    app, engine = secured
    attack = "<script>alert(1)</script>"
    with engine.begin() as connection:
        connection.execute(update(units).where(units.c.code == OTHER).values(name=attack))
        connection.execute(update(users).where(users.c.username == "chair1").values(display_name=attack))
    from tests.access.fixtures import clear_caches
    clear_caches()
    chair = client_for(app, "chair")
    for answer in (post_callback(chair, payload(chair, "rankings-table.children", {
            "rankings-period.start_date": FROM, "rankings-period.end_date": TO, "rankings-lang.data": "vi"})),
            post_callback(chair, payload(chair, "app-user.children", {"app-url.pathname": "/"}))):
        assert answer.status_code == 200 and answer.mimetype == "application/json"
        found = []
        _walk(answer.json, found)
        assert found and all(kind not in ("Script", "Iframe") for kind in found)
        assert attack in json.dumps(answer.json, ensure_ascii=False)   # a string, shown as text by React
    page = chair.get("/rankings")
    assert attack not in text_of(page)
    html = chair.get("/change-password").get_data(as_text=True)
    assert attack not in html and "&lt;script&gt;" in html


def _walk(node, kinds: list) -> None:
    """Collect the component types in a Dash JSON answer."""
    if isinstance(node, dict):
        if "type" in node and "namespace" in node:
            kinds.append(node["type"])
        for value in node.values():
            _walk(value, kinds)
    elif isinstance(node, list):
        for value in node:
            _walk(value, kinds)


def test_brute_force_locks_the_account_and_is_audited(secured, clock):
    app, engine = secured
    client = app.server.test_client()
    statuses = []
    for _ in range(5):
        statuses.append(login(client, ROLE_USERS["admin"], "wrong-password-123").status_code)
        clock.at += dt.timedelta(seconds=5)
    assert statuses == [401, 401, 401, 401, 429]
    assert login(client, ROLE_USERS["admin"]).status_code == 429          # even the right password, for a while
    assert client.get("/admin").status_code == 302
    assert list(audit.list_events(engine, action="lockout").target) == ["admin1"]
    assert len(audit.list_events(engine, action="login_failed", actor="admin1")) == 5
