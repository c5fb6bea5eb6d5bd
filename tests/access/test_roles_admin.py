"""The admin room over real HTTP: accounts, audit log and maintenance windows; only admins, always audited."""
from __future__ import annotations

import json
import re

import pytest

from access import audit
from access.users import authenticate, get_user
from store.health_readers import maintenance_windows_frame
from tests.access.fixtures import (
    OWN, client_for, payload, post_callback, secured, clock, text_of,  # noqa: F401
)

pytestmark = pytest.mark.usefixtures("cheap_hashing")


def users_action(client, button: str, **values):
    """Click one account button (add, disable, enable, reset) with the form filled as given."""
    state = {"admin-new-name.value": values.get("name"), "admin-new-display.value": values.get("display"),
             "admin-new-role.value": values.get("role"), "admin-new-unit.value": values.get("unit"),
             "admin-user-select.value": values.get("selected"), "admin-lang.data": "vi"}
    clicks = {f"admin-{b}.n_clicks": int(b == button) for b in ("add", "disable", "enable", "reset")}
    return post_callback(client, payload(client, "admin-users.children", {**clicks, **state},
                                         changed=f"admin-{button}.n_clicks"))


def _one_time_password(answer) -> str:
    return re.search(r'"children": "([^"]+)", "id": "admin-one-time"', json.dumps(answer.json)).group(1)


def test_admin_adds_a_chair_and_sees_the_one_time_password_once(secured, clock):
    app, engine = secured
    admin = client_for(app, "admin")
    answer = users_action(admin, "add", name="Chair2", display="Chủ tịch Phường B", role="chair", unit=OWN)
    assert answer.status_code == 200
    secret = _one_time_password(answer)
    user = get_user(engine, "chair2")
    assert user.role == "chair" and user.unit_code == OWN and user.must_change_password
    assert authenticate(engine, clock(), "chair2", secret, "127.0.0.1").ok
    listing = users_action(admin, "none")                  # a later refresh never shows it again
    assert secret not in text_of(listing) and "chair2" in text_of(listing)
    event = audit.list_events(engine, action="user_add").iloc[0]
    assert (event.actor, event.target, event.detail) == ("admin1", "chair2", {"role": "chair", "unit_code": OWN})


def test_admin_disables_enables_and_resets(secured):
    app, engine = secured
    admin = client_for(app, "admin")
    analyst = client_for(app, "analyst")
    assert users_action(admin, "disable", selected="analyst1").status_code == 200
    assert get_user(engine, "analyst1").disabled and analyst.get("/").status_code == 302   # session ended
    assert users_action(admin, "enable", selected="analyst1").status_code == 200
    assert not get_user(engine, "analyst1").disabled
    reset = users_action(admin, "reset", selected="leader1")
    assert reset.status_code == 200 and get_user(engine, "leader1").must_change_password
    assert len(_one_time_password(reset)) >= 10
    actions = list(audit.list_events(engine, actor="admin1").action)
    assert actions[:3] == ["user_reset_password", "user_enable", "user_disable"]


def test_bad_account_input_is_explained_and_changes_nothing(secured):
    app, engine = secured
    admin = client_for(app, "admin")
    for values in ({"name": "x", "role": "leader"}, {"name": "chair9", "role": "chair"},
                   {"name": "leader1", "role": "leader"}, {"name": "robert'); DROP TABLE users;--", "role": "admin"}):
        answer = users_action(admin, "add", **values)
        assert answer.status_code == 200 and "Không thực hiện được" in text_of(answer)
    assert users_action(admin, "disable", selected="admin1").status_code == 200   # not oneself
    assert not get_user(engine, "admin1").disabled
    assert len(audit.list_events(engine, action="user_add")) == 4                 # the four fixture users only


@pytest.mark.parametrize("role", ["leader", "chair", "analyst"])
def test_other_roles_cannot_use_any_admin_callback(secured, role):
    app, engine = secured
    client = client_for(app, role)
    assert users_action(client, "add", name="intruder", role="admin").status_code == 403
    assert users_action(client, "reset", selected="admin1").status_code == 403
    audit_body = payload(client, "admin-audit.children", {"admin-lang.data": "vi"})
    assert post_callback(client, audit_body).status_code == 403
    assert _maintenance(client, "add", start="2025-09-01 22:00", end="2025-09-01 23:00").status_code == 403
    assert get_user(engine, "intruder") is None and not get_user(engine, "admin1").must_change_password
    assert maintenance_windows_frame(engine).empty
    assert len(audit.list_events(engine, action="forbidden", actor=f"{role}1")) == 4


def test_audit_log_viewer_filters_newest_first(secured):
    app, _engine = secured
    admin = client_for(app, "admin")
    client_for(app, "chair")
    body = payload(admin, "admin-audit.children", {"admin-audit-actor.value": "chair1",
                                                   "admin-audit-action.value": "", "admin-lang.data": "en"})
    answer = post_callback(admin, body)
    table = json.dumps(answer.json["response"]["admin-audit"]["children"])
    assert answer.status_code == 200 and "login_ok" in table and "admin1" not in table
    everything = post_callback(admin, payload(admin, "admin-audit.children", {"admin-audit-action.value": "user_add",
                                                                             "admin-lang.data": "en"}))
    text = json.dumps(everything.json["response"]["admin-audit"]["children"])
    assert [text.index(f'"{name}"') for name in ("admin1", "analyst1", "chair1", "leader1")] == sorted(
        text.index(f'"{name}"') for name in ("admin1", "analyst1", "chair1", "leader1"))


def _maintenance(client, button: str, **values):
    state = {"admin-maint-scope.value": values.get("scope", "*"), "admin-maint-start.value": values.get("start"),
             "admin-maint-end.value": values.get("end"), "admin-maint-note.value": values.get("note"),
             "admin-maint-select.value": values.get("selected"), "admin-lang.data": "vi"}
    clicks = {"admin-maint-add.n_clicks": int(button == "add"), "admin-maint-delete.n_clicks": int(button == "delete")}
    return post_callback(client, payload(client, "admin-maint.children", {**clicks, **state},
                                         changed=f"admin-maint-{button}.n_clicks"))


def test_admin_adds_and_deletes_maintenance_windows(secured):
    app, engine = secured
    admin = client_for(app, "admin")
    added = _maintenance(admin, "add", start="2025-09-01 22:00", end="2025-09-01 23:30", note="Nâng cấp máy chủ")
    assert added.status_code == 200
    windows = maintenance_windows_frame(engine)
    assert list(windows["scope"]) == ["*"] and str(windows.iloc[0]["starts_at"]) == "2025-09-01 22:00:00"
    bad = _maintenance(admin, "add", start="tomorrow", end="")
    assert "YYYY-MM-DD HH:MM" in text_of(bad) and len(maintenance_windows_frame(engine)) == 1
    assert _maintenance(admin, "delete", selected=int(windows.iloc[0]["id"])).status_code == 200
    assert maintenance_windows_frame(engine).empty
    assert list(audit.list_events(engine, actor="admin1").action)[:2] == ["maintenance_delete", "maintenance_add"]
