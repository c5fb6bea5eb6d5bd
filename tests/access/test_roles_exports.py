"""Exports per role over real HTTP: what each may download, what is refused, and the audit trail."""
from __future__ import annotations

import csv
import io
import json

import pytest

from access import audit
from tests.access.fixtures import (
    FROM, OTHER, OWN, TO, client_for, payload, post_callback, secured, clock, text_of,  # noqa: F401
)

pytestmark = pytest.mark.usefixtures("cheap_hashing")


def _csv(client, **params):
    query = {"from": FROM, "to": TO, "format": "csv", "by": "month", **params}
    return client.get("/export/download", query_string=query)


def _rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text_of(response).lstrip("\ufeff"))))


@pytest.mark.parametrize("role, units", [("leader", {OWN, OTHER, "25217"}), ("analyst", {OWN, OTHER, "25217"}),
                                         ("chair", {OWN})])
def test_csv_holds_exactly_the_scopes_units_and_is_audited(secured, role, units):
    app, engine = secured
    response = _csv(client_for(app, role))
    assert response.status_code == 200
    rows = _rows(response)
    assert {value for row in rows for value in row.values()} >= units
    assert not ({OWN, OTHER, "25217"} - units) & {value for row in rows for value in row.values()}
    events = audit.list_events(engine, action="export")
    assert len(events) == 1 and events.iloc[0].actor == f"{role}1" and events.iloc[0].detail["rows"] == len(rows)
    assert events.iloc[0].detail["role"] == role and events.iloc[0].target.endswith(".csv")


def test_a_chair_naming_another_commune_gets_403_and_nothing_is_audited_as_export(secured):
    app, engine = secured
    chair = client_for(app, "chair")
    for units in (OTHER, f"{OWN},{OTHER}"):
        refused = _csv(chair, units=units)
        assert refused.status_code == 403
        assert refused.json == {"error": "outside your access scope"}
    allowed = _csv(chair, units=OWN)
    assert allowed.status_code == 200 and len(_rows(allowed)) == 1
    assert list(audit.list_events(engine, action="forbidden").actor) == ["chair1", "chair1"]
    assert len(audit.list_events(engine, action="export")) == 1


def test_admins_may_not_export(secured):
    app, engine = secured
    admin = client_for(app, "admin")
    assert _csv(admin).status_code == 403
    assert _csv(admin, format="bieu06-xlsx").status_code == 403
    assert audit.list_events(engine, action="export").empty


def test_bieu06_xlsx_for_a_chair_is_audited_with_its_rows(secured):
    app, engine = secured
    response = _csv(client_for(app, "chair"), format="bieu06-xlsx")
    assert response.status_code == 200 and response.data[:2] == b"PK"
    event = audit.list_events(engine, action="export").iloc[0]
    assert event.actor == "chair1" and event.target.startswith("bieu06_75_1-don-vi") and event.detail["rows"] >= 1


def _preview(client, units):
    body = payload(client, "export-preview.children", {
        "export-period.start_date": FROM, "export-period.end_date": TO, "export-units.value": units,
        "export-fields.value": None, "export-by.value": "month", "export-lang.data": "vi"})
    return post_callback(client, body)


def test_export_page_callbacks_follow_the_scope(secured):
    app, _engine = secured
    chair = client_for(app, "chair")
    own = _preview(chair, None)
    assert own.status_code == 200
    links = json.loads(text_of(own))["response"]["export-link-csv"]["href"]
    assert f"units={OWN}" in links                     # the chair's links name its commune explicitly
    assert _preview(chair, [OTHER]).status_code == 403
    assert _preview(client_for(app, "leader"), [OTHER]).status_code == 200
    assert _preview(client_for(app, "admin"), None).status_code == 403
