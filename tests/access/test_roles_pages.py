"""Per role, over real HTTP: which pages open, what the navigation offers, what the data callbacks answer."""
from __future__ import annotations

import base64
import json

import numpy as np

import pytest

from tests.access.fixtures import (
    FROM, OTHER, OWN, TO, client_for, payload, post_callback, secured, clock, text_of,  # noqa: F401
)

pytestmark = pytest.mark.usefixtures("cheap_hashing")

PAGES = ["/", "/rankings", "/systems", "/export", f"/commune/{OWN}", f"/commune/{OTHER}", "/admin"]
EXPECTED = {  # role -> status per page, in PAGES order
    "leader": [200, 200, 200, 200, 200, 200, 403],
    "analyst": [200, 200, 200, 200, 200, 200, 403],
    "chair": [200, 200, 200, 200, 200, 403, 403],
    "admin": [200, 200, 200, 200, 403, 403, 200],
}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_pages_each_role_may_open(secured, role):
    app, _engine = secured
    client = client_for(app, role)
    assert [client.get(path).status_code for path in PAGES] == EXPECTED[role]


def test_unknown_commune_is_404_for_the_whole_province_and_403_for_a_chair(secured):
    app, _engine = secured
    assert client_for(app, "leader").get("/commune/99999").status_code == 404
    assert client_for(app, "chair").get("/commune/99999").status_code == 403


def _response(answer) -> dict:
    assert answer.status_code == 200, text_of(answer)[:300]
    return json.loads(text_of(answer))["response"]


def _nav(client) -> str:
    body = payload(client, "app-nav.children", {"app-url.pathname": "/", "app-url.search": ""})
    return json.dumps(_response(post_callback(client, body))["app-nav"]["children"], ensure_ascii=False)


@pytest.mark.parametrize("role, shown, hidden", [
    ("leader", ["/rankings", "/export", "/systems"], ["/admin"]),
    ("chair", ["/rankings", "/export"], ["/admin"]),
    ("analyst", ["/export"], ["/admin"]),
    ("admin", ["/admin", "/systems"], ["/export", "/rankings"]),
])
def test_navigation_offers_only_the_roles_rooms(secured, role, shown, hidden):
    app, _engine = secured
    nav = _nav(client_for(app, role))
    assert all(f'"{path}"' in nav for path in shown) and not any(f'"{path}"' in nav for path in hidden)


def test_user_box_names_the_user_and_offers_logout(secured):
    app, _engine = secured
    client = client_for(app, "chair")
    body = payload(client, "app-user.children", {"app-url.pathname": "/", "app-url.search": ""})
    box = json.dumps(_response(post_callback(client, body))["app-user"]["children"], ensure_ascii=False)
    assert "chair <b>demo</b>" in box and "Chủ tịch UBND xã, phường" in box and '"/logout"' in box


def _overview_received(client) -> str:
    body = payload(client, "overview-kpi-received.children", {
        "overview-interval.n_intervals": 0, "overview-period.start_date": FROM, "overview-period.end_date": TO,
        "overview-lang.data": "vi", "overview-field.value": None})
    return _response(post_callback(client, body))["overview-kpi-received"]["children"]


@pytest.mark.parametrize("role, received", [("leader", "1.234"), ("analyst", "1.234"), ("chair", "600"),
                                            ("admin", "—")])
def test_overview_figures_are_the_scopes_own(secured, role, received):
    app, _engine = secured
    assert _overview_received(client_for(app, role)) == received


def _rankings(client) -> str:
    body = payload(client, "rankings-table.children", {
        "rankings-period.start_date": FROM, "rankings-period.end_date": TO, "rankings-search.value": "",
        "rankings-type.value": None, "rankings-sort.data": None, "rankings-interval.n_intervals": 0,
        "rankings-lang.data": "vi"})
    return json.dumps(_response(post_callback(client, body)), ensure_ascii=False)


def test_a_chair_sees_every_communes_rank_in_the_rankings_table(secured):
    app, _engine = secured
    table = _rankings(client_for(app, "chair"))
    assert all(f"/commune/{code}" in table for code in (OWN, OTHER, "25217"))
    assert _rankings(client_for(app, "leader")) == table


def _commune(client, output: str, code: str):
    body = payload(client, output, {
        "commune-period.start_date": FROM, "commune-period.end_date": TO, "commune-interval.n_intervals": 0,
        "commune-code.data": code, "commune-lang.data": "vi"})
    return post_callback(client, body)


@pytest.mark.parametrize("output", ["commune-trend.figure", "commune-fields.children", "commune-history.figure",
                                    "commune-score.children", "commune-systems.children"])
def test_a_chair_reads_details_of_the_own_commune_only(secured, output):
    app, _engine = secured
    chair = client_for(app, "chair")
    assert _commune(chair, output, OWN).status_code == 200
    refused = _commune(chair, output, OTHER)
    assert refused.status_code == 403 and refused.json == {"error": "outside your access scope"}
    assert _commune(client_for(app, "leader"), output, OTHER).status_code == 200
    assert _commune(client_for(app, "admin"), output, OWN).status_code == 403


def test_a_chairs_own_trend_carries_its_own_numbers(secured):
    app, _engine = secured
    figure = _response(_commune(client_for(app, "chair"), "commune-trend.figure", OWN))["commune-trend"]["figure"]
    bars = [trace["y"] for trace in figure["data"] if trace.get("type") == "bar"]
    assert [_values(y) for y in bars] == [[500], [100]]   # received online and direct on 25/08, hand-set in sample


def _values(array) -> list:
    """Plotly sends numeric arrays as base64 typed arrays; decode one (or pass a plain list through)."""
    if isinstance(array, list):
        return array
    return np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"])).tolist()


def test_session_script_is_served_and_reacts_to_401(secured):
    app, _engine = secured
    script = app.server.test_client().get("/assets/session.js")
    assert script.status_code == 200 and "response.status === 401" in text_of(script)
    page = client_for(app, "leader").get("/")
    assert "/assets/session.js" in text_of(page)
