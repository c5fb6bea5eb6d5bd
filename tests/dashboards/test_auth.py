"""Login, sessions, CSRF and the guard over real HTTP requests (Flask test client), on both backends."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import stat

import flask
import pytest
from flask.sessions import SecureCookieSessionInterface

from access import audit
from access.scope import current_scope
from access.users import add_user, reset_password, set_disabled
from config.settings import load_settings
from dashboards import loaders
from dashboards.app import create_app
from geo.maps import build_map_geometry
from tests.access.helpers import ORIGIN, PASSWORD, CHAIR_UNIT, callback_body, cheap_hashing, csrf_token, login, make_user  # noqa: F401

T0 = dt.datetime(2025, 8, 27, 9, 0)
pytestmark = pytest.mark.usefixtures("cheap_hashing")


class Clock:
    """The app's clock, moved by the test."""

    def __init__(self, start: dt.datetime):
        self.at = start

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += dt.timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def geometry(tmp_path_factory):
    return build_map_geometry("75", tmp_path_factory.mktemp("geo"))


@pytest.fixture
def clock():
    return Clock(T0)


def _scope_probe(app) -> None:
    """A phase-2 style data route: reads the caller's scope and asks for units named in the query."""
    def probe():
        scope = current_scope()
        units = flask.request.args.get("units")
        return flask.jsonify(role=scope.role, units=scope.restrict(units.split(",") if units else None))
    app.server.add_url_rule("/api/probe", endpoint="probe", view_func=probe)


@pytest.fixture
def make_app(engine, geometry, tmp_path, clock):
    def build(**overrides):
        loaders.clear()
        settings = load_settings(environ={}, data_dir=tmp_path, **overrides)
        app = create_app(settings, engine, geometry, now=clock)
        _scope_probe(app)
        return app
    yield build
    loaders.clear()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.server.test_client()


def _callback(client, headers=ORIGIN):
    return client.post("/_dash-update-component", json=callback_body(), headers=headers)


def test_unauthenticated_pages_redirect_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/login?next=%2F"
    deep = client.get("/rankings?lang=en")
    assert deep.status_code == 302 and deep.headers["Location"] == "/login?next=%2Frankings%3Flang%3Den"
    page = client.get("/login")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Đăng nhập" in html and "Tên đăng nhập" in html
    assert "Sign in" in client.get("/login?lang=en").get_data(as_text=True)
    assert "default-src 'none'" in page.headers["Content-Security-Policy"] and page.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("method, path", [
    ("post", "/_dash-update-component"), ("get", "/_dash-layout"), ("get", "/_dash-dependencies"),
    ("get", "/geo/75.geojson"), ("get", "/geo/topojson/world_110m.json"), ("get", "/export/download?format=csv"),
    ("get", "/api/probe"),
])
def test_unauthenticated_data_routes_get_401_json(client, method, path):
    response = getattr(client, method)(path, json=callback_body() if method == "post" else None, headers=ORIGIN)
    assert response.status_code == 401
    assert response.json == {"error": "authentication required", "login": "/login"}


def test_static_bundles_stay_public(client, app, engine):
    assert client.get("/assets/style.css").status_code == 200
    make_user(engine, "leader1", "leader")
    login(client, "leader1")
    bundle = re.search(r'src="(/_dash-component-suites/[^"]+\.js)"', client.get("/").get_data(as_text=True)).group(1)
    anonymous = app.server.test_client()
    assert anonymous.get(bundle).status_code == 200


def test_login_success_sets_a_protected_cookie_and_opens_everything(client, engine):
    make_user(engine, "leader1", "leader")
    response = login(client, "Leader1", next_path="/rankings?lang=en")
    assert response.status_code == 302 and response.headers["Location"] == "/rankings?lang=en"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("ioc_session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie and "Expires=" in cookie
    assert client.get("/").status_code == 200
    geo = client.get("/geo/75.geojson")
    assert geo.status_code == 200 and "private" in geo.headers["Cache-Control"] and "public" not in geo.headers["Cache-Control"]
    answer = _callback(client)
    assert answer.status_code == 200 and json.loads(answer.data)["response"]["app-title"]["children"]
    assert client.get("/api/probe").json == {"role": "leader", "units": None}
    events = audit.list_events(engine, action="login_ok")
    assert list(events.actor) == ["leader1"] and events.iloc[0]["at"] == T0 and events.iloc[0]["ip"] == "127.0.0.1"


def test_secure_flag_when_configured(make_app, engine):
    client = make_app(secure_cookies=True).server.test_client()
    make_user(engine, "leader1", "leader")
    assert "Secure" in login(client, "leader1").headers["Set-Cookie"]


def test_wrong_password_is_refused_and_audited(client, engine):
    make_user(engine, "leader1", "leader")
    response = login(client, "leader1", "not-the-password")
    assert response.status_code == 401 and "Tên đăng nhập hoặc mật khẩu không đúng." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert list(audit.list_events(engine).action) == ["login_failed", "user_add"]


def test_fifth_wrong_password_in_a_minute_locks_until_the_lockout_passes(client, engine, clock):
    make_user(engine, "analyst1", "analyst")
    statuses = []
    for _ in range(5):
        statuses.append(login(client, "analyst1", "wrong-password").status_code)
        clock.advance(10)
    assert statuses == [401, 401, 401, 401, 429]
    locked = login(client, "analyst1")
    assert locked.status_code == 429 and "tạm khóa" in locked.get_data(as_text=True) and "15 phút" in locked.get_data(as_text=True)
    assert list(audit.list_events(engine, action="lockout").target) == ["analyst1"]
    clock.at = T0 + dt.timedelta(seconds=40 + 900)
    assert login(client, "analyst1").status_code == 302
    assert client.get("/").status_code == 200


def test_session_expires_by_the_app_clock(make_app, engine, clock):
    client = make_app(session_lifetime_s=3600).server.test_client()
    make_user(engine, "leader1", "leader")
    login(client, "leader1")
    clock.advance(3600)
    assert client.get("/").status_code == 200
    clock.advance(1)
    expired = client.get("/")
    assert expired.status_code == 302 and expired.headers["Location"] == "/login?next=%2F&expired=1"
    assert "Phiên làm việc đã hết hạn" in client.get(expired.headers["Location"]).get_data(as_text=True)
    assert _callback(client).status_code == 401


def _signed(app, secret: str, payload: dict) -> str:
    signer = flask.Flask("forger")
    signer.secret_key = secret
    return SecureCookieSessionInterface().get_signing_serializer(signer).dumps(payload)


def test_forged_tampered_and_replayed_cookies_are_refused(app, client, engine, clock):
    user = make_user(engine, "leader1", "leader")
    forged = _signed(app, "not-the-key-" * 4, {"uid": user.id, "epoch": 0, "iat": T0.isoformat()})
    client.set_cookie("ioc_session", forged)
    assert client.get("/").status_code == 302 and _callback(client).status_code == 401
    login(client, "leader1")
    genuine = client.get_cookie("ioc_session").value
    client.set_cookie("ioc_session", genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB"))
    assert client.get("/").status_code == 302
    # Correctly signed, but issued long ago (an old cookie replayed) or for an older epoch.
    stale = _signed(app, app.server.secret_key, {"uid": user.id, "epoch": 0, "iat": "2025-08-01T09:00:00"})
    client.set_cookie("ioc_session", stale)
    assert client.get("/").status_code == 302
    reset_password(engine, T0, "leader1")
    client.set_cookie("ioc_session", genuine)
    assert client.get("/").status_code == 302


def test_disabled_users_existing_session_stops_working(client, engine):
    make_user(engine, "chair1", "chair", CHAIR_UNIT)
    login(client, "chair1")
    assert client.get("/").status_code == 200 and _callback(client).status_code == 200
    set_disabled(engine, T0, "chair1", True)
    assert client.get("/").status_code == 302
    assert _callback(client).status_code == 401
    disabled = login(client, "chair1")
    assert disabled.status_code == 403 and "vô hiệu hóa" in disabled.get_data(as_text=True)


def test_forms_without_a_csrf_token_are_refused(client, engine):
    make_user(engine, "leader1", "leader")
    csrf_token(client)
    no_token = client.post("/login", data={"username": "leader1", "password": PASSWORD})
    assert no_token.status_code == 400 and "Phiên biểu mẫu đã hết hạn" in no_token.get_data(as_text=True)
    wrong = client.post("/login", data={"username": "leader1", "password": PASSWORD, "csrf_token": "x" * 43})
    assert wrong.status_code == 400 and client.get("/").status_code == 302
    login(client, "leader1")
    change = client.post("/change-password", data={"current": PASSWORD, "new": "Mật-khẩu-mới-2025",
                                                   "confirm": "Mật-khẩu-mới-2025"})
    assert change.status_code == 400
    assert audit.list_events(engine, action="password_changed").empty


def test_callbacks_need_a_same_origin_header(client, engine):
    make_user(engine, "leader1", "leader")
    login(client, "leader1")
    assert _callback(client, headers={}).status_code == 403
    assert _callback(client, headers={"Origin": "http://evil.example"}).status_code == 403
    assert _callback(client, headers={"Origin": "null"}).status_code == 403
    assert _callback(client, headers={"Referer": "http://localhost/rankings"}).status_code == 200
    form_post = client.post("/_dash-update-component", data={"output": "x"}, headers=ORIGIN)
    assert form_post.status_code in (400, 415)   # not JSON: Dash/Flask refuse it before any callback runs


def test_one_time_password_must_be_changed_first(client, engine):
    _user, secret = add_user(engine, T0, "75", "chair1", "chair", unit_code=CHAIR_UNIT, display_name="Chủ tịch Bình Phước")
    response = login(client, "chair1", secret, next_path="/commune")
    assert response.headers["Location"] == "/change-password?next=%2Fcommune"
    assert client.get("/").headers["Location"] == "/change-password?next=%2F"
    assert _callback(client).status_code == 403
    page = client.get("/change-password?next=/commune")
    assert "Chủ tịch Bình Phước" in page.get_data(as_text=True) and "Chủ tịch UBND xã, phường" in page.get_data(as_text=True)
    token = csrf_token(client, "/change-password")
    form = {"current": secret, "new": "Mật-khẩu-mới-2025", "confirm": "khác", "csrf_token": token, "next": "/commune"}
    assert client.post("/change-password", data=form).status_code == 400
    done = client.post("/change-password", data={**form, "confirm": "Mật-khẩu-mới-2025"})
    assert done.status_code == 302 and done.headers["Location"] == "/commune"
    assert client.get("/").status_code == 200
    assert client.get("/api/probe").json == {"role": "chair", "units": [CHAIR_UNIT]}
    other = client.application.test_client()
    assert login(other, "chair1", secret).status_code == 401 and other.get("/").status_code == 302


def test_out_of_scope_requests_get_403_whatever_they_ask(client, engine):
    make_user(engine, "chair1", "chair", CHAIR_UNIT)
    login(client, "chair1")
    assert client.get(f"/api/probe?units={CHAIR_UNIT}").json == {"role": "chair", "units": [CHAIR_UNIT]}
    refused = client.get(f"/api/probe?units={CHAIR_UNIT},25210")
    assert refused.status_code == 403 and refused.json == {"error": "outside your access scope"}
    events = audit.list_events(engine, action="forbidden")
    assert list(events.actor) == ["chair1"] and "25210" in events.iloc[0].detail["reason"]


def test_logout_ends_the_session(client, engine):
    make_user(engine, "leader1", "leader")
    login(client, "leader1")
    response = client.get("/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login?logged_out=1"
    assert client.get("/").status_code == 302
    assert "Bạn đã đăng xuất." in client.get("/login?logged_out=1").get_data(as_text=True)
    assert list(audit.list_events(engine, action="logout").actor) == ["leader1"]


def test_login_never_redirects_off_site(client, engine):
    make_user(engine, "leader1", "leader")
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "/login"):
        assert login(client, "leader1", next_path=target).headers["Location"] == "/"


def test_script_tags_in_names_are_escaped(client, engine):
    attack = '<script>alert("x")</script>'
    html = login(client, attack, "whatever-password").get_data(as_text=True)
    assert attack not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    add_user(engine, T0, "75", "chair1", "chair", unit_code=CHAIR_UNIT, display_name=attack, password=PASSWORD)
    login(client, "chair1")
    page = client.get("/change-password").get_data(as_text=True)
    assert attack not in page and "&lt;script&gt;" in page


@pytest.mark.parametrize("peer, honoured", [("10.0.0.1", True), ("10.0.0.9", False), ("192.168.1.5", False)])
def test_sso_header_is_honoured_only_from_trusted_proxies(make_app, engine, peer, honoured):
    client = make_app(sso_header="X-Remote-User", sso_trusted_proxies=("10.0.0.0/29",)).server.test_client()
    make_user(engine, "leader1", "leader")
    response = client.get("/api/probe", headers={"X-Remote-User": "leader1"}, environ_base={"REMOTE_ADDR": peer})
    assert response.status_code == (200 if honoured else 401)
    if honoured:
        assert response.json["role"] == "leader"


def test_sso_is_off_by_default_and_never_opens_disabled_or_unknown_accounts(make_app, engine):
    headers, trusted = {"X-Remote-User": "leader1"}, {"REMOTE_ADDR": "10.0.0.1"}
    make_user(engine, "leader1", "leader")
    off = make_app(sso_trusted_proxies=("10.0.0.1",)).server.test_client()
    assert off.get("/api/probe", headers=headers, environ_base=trusted).status_code == 401
    client = make_app(sso_header="X-Remote-User", sso_trusted_proxies=("10.0.0.1",)).server.test_client()
    assert client.get("/api/probe", headers={"X-Remote-User": "ghost"}, environ_base=trusted).status_code == 401
    set_disabled(engine, T0, "leader1", True)
    assert client.get("/api/probe", headers=headers, environ_base=trusted).status_code == 401


def test_auth_can_be_switched_off_explicitly(make_app):
    client = make_app(auth_enabled=False).server.test_client()
    assert client.get("/").status_code == 200
    assert client.get("/api/probe").json == {"role": "open", "units": None}
    assert client.get("/api/probe?units=00004").status_code == 403   # still only this province
    assert 'name="csrf_token"' not in client.get("/login").get_data(as_text=True)   # no login form: Dash's router answers

def test_direct_calls_get_the_open_scope_only_when_auth_is_off(make_app):
    from access.scope import OutOfScope

    with make_app(auth_enabled=False).server.test_request_context("/"):
        assert current_scope().role == "open"
    with make_app().server.test_request_context("/"):
        with pytest.raises(OutOfScope):
            current_scope()


def test_secret_key_is_generated_once_private_and_shared(make_app, engine, tmp_path):
    first, second = make_app(), make_app()
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert first.server.secret_key == second.server.secret_key == key_file.read_text().strip()
    make_user(engine, "leader1", "leader")
    one = first.server.test_client()
    login(one, "leader1")
    two = second.server.test_client()
    two.set_cookie("ioc_session", one.get_cookie("ioc_session").value)
    assert two.get("/").status_code == 200
