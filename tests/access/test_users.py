"""Accounts on a real store: argon2 hashes only, lockout with time passed in, audit of every outcome."""
import datetime as dt

import pytest
from sqlalchemy import select, text

from access import audit
from access.users import (
    LoginPolicy, UserError, add_user, authenticate, change_password, ensure_demo_accounts, get_user, list_users,
    reset_password, set_disabled,
)
from store.access_schema import login_failures, users
from tests.access.helpers import CHAIR_UNIT, PASSWORD, make_user

T0 = dt.datetime(2025, 8, 27, 9, 0, 0)
POLICY = LoginPolicy(max_failures=5, window_s=60, lockout_s=900)


def _stored(engine):
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(select(users)).mappings()]


def test_passwords_are_stored_as_argon2_hashes_only(engine):
    _user, secret = add_user(engine, T0, "75", "NguyenVanA", "analyst", display_name="Nguyễn Văn A")
    make_user(engine, "lanhdao", "leader")
    rows = _stored(engine)
    assert [r["username"] for r in rows] == ["nguyenvana", "lanhdao"]
    assert all(r["password_hash"].startswith("$argon2id$") for r in rows)
    with engine.connect() as connection:
        dump = " ".join(str(v) for table in ("users", "audit_log", "login_failures")
                        for row in connection.execute(text(f"SELECT * FROM {table}")) for v in row)
    assert secret not in dump and PASSWORD not in dump
    assert len(secret) == 14 and rows[0]["must_change_password"] is True
    assert authenticate(engine, T0, "nguyenvana", secret, "10.0.0.1").ok


def test_account_rules_are_checked_with_clear_messages(engine):
    with pytest.raises(UserError, match="must be bound to a commune"):
        add_user(engine, T0, "75", "chair1", "chair")
    with pytest.raises(UserError, match="not a commune, ward or special zone of province 75"):
        add_user(engine, T0, "75", "chair1", "chair", unit_code="00004")
    with pytest.raises(UserError, match="only a commune chair"):
        add_user(engine, T0, "75", "leader1", "leader", unit_code=CHAIR_UNIT)
    with pytest.raises(UserError, match="role 'boss' is not valid"):
        add_user(engine, T0, "75", "boss1", "boss")
    with pytest.raises(UserError, match="not valid"):
        add_user(engine, T0, "75", "<script>", "leader")
    with pytest.raises(UserError, match="at least 10 characters"):
        add_user(engine, T0, "75", "leader1", "leader", password="short")
    add_user(engine, T0, "75", "chair1", "chair", unit_code=CHAIR_UNIT)
    with pytest.raises(UserError, match="already exists"):
        add_user(engine, T0, "75", "Chair1", "leader")
    assert [(u.username, u.role, u.unit_code) for u in list_users(engine)] == [("chair1", "chair", CHAIR_UNIT)]
    assert get_user(engine, "chair1").scope("75").unit_codes == frozenset({CHAIR_UNIT})


def test_nth_wrong_password_within_the_window_locks_and_is_audited(engine):
    make_user(engine, "analyst1", "analyst")
    reasons = [authenticate(engine, T0 + dt.timedelta(seconds=10 * i), "analyst1", "wrong", "10.0.0.1", POLICY).reason
               for i in range(5)]
    assert reasons == ["bad_credentials"] * 4 + ["locked"]
    assert get_user(engine, "analyst1").locked_until == T0 + dt.timedelta(seconds=40 + 900)
    # The right password does not open a locked account ...
    assert authenticate(engine, T0 + dt.timedelta(seconds=60), "analyst1", PASSWORD, "10.0.0.1", POLICY).reason == "locked"
    assert authenticate(engine, T0 + dt.timedelta(seconds=939), "analyst1", PASSWORD, "10.0.0.1", POLICY).reason == "locked"
    # ... until the lockout has passed.
    result = authenticate(engine, T0 + dt.timedelta(seconds=940), "analyst1", PASSWORD, "10.0.0.1", POLICY)
    assert result.ok and result.user.locked_until is None
    events = audit.list_events(engine)
    assert list(events.action)[::-1] == ["user_add"] + ["login_failed"] * 5 + ["lockout", "login_locked",
                                                                              "login_locked", "login_ok"]
    lockout = events[events.action == "lockout"].iloc[0]
    assert lockout.target == "analyst1" and lockout.ip == "10.0.0.1" and lockout.detail["failures"] == 5
    with engine.connect() as connection:
        assert connection.execute(select(login_failures)).all() == []   # cleared by the successful login


def test_failures_spread_wider_than_the_window_do_not_lock(engine):
    make_user(engine, "analyst1", "analyst")
    for i in range(8):   # one every 20 s: never 5 within 60 s
        assert authenticate(engine, T0 + dt.timedelta(seconds=20 * i), "analyst1", "wrong", "10.0.0.1",
                            POLICY).reason == "bad_credentials"
    assert get_user(engine, "analyst1").locked_until is None


def test_one_address_failing_for_many_names_is_rate_limited(engine):
    make_user(engine, "analyst1", "analyst")
    for i in range(20):   # 4 x max_failures, each for a different (unknown) name
        assert authenticate(engine, T0, f"guess{i}", "wrong", "10.9.9.9", POLICY).reason == "bad_credentials"
    assert authenticate(engine, T0, "analyst1", PASSWORD, "10.9.9.9", POLICY).reason == "rate_limited"
    assert authenticate(engine, T0, "analyst1", PASSWORD, "10.0.0.2", POLICY).ok
    assert authenticate(engine, T0 + dt.timedelta(seconds=61), "analyst1", PASSWORD, "10.9.9.9", POLICY).ok


def test_disable_reset_and_change_password(engine):
    user = make_user(engine, "chair1", "chair", CHAIR_UNIT)
    disabled = set_disabled(engine, T0, "chair1", True)
    assert disabled.disabled and disabled.session_epoch == user.session_epoch + 1
    assert authenticate(engine, T0, "chair1", PASSWORD, "10.0.0.1").reason == "disabled"
    set_disabled(engine, T0, "chair1", False)
    secret = reset_password(engine, T0, "chair1")
    assert not authenticate(engine, T0, "chair1", PASSWORD, "10.0.0.1").ok
    assert get_user(engine, "chair1").must_change_password
    with pytest.raises(UserError, match="wrong_current"):
        change_password(engine, T0, user.id, "nope", "Mật-khẩu-mới-2025")
    with pytest.raises(UserError, match="too_short"):
        change_password(engine, T0, user.id, secret, "ngắn")
    changed = change_password(engine, T0, user.id, secret, "Mật-khẩu-mới-2025")
    assert not changed.must_change_password and changed.session_epoch == user.session_epoch + 4
    assert authenticate(engine, T0, "chair1", "Mật-khẩu-mới-2025", "10.0.0.1").ok
    with pytest.raises(UserError, match="no user named 'ghost'"):
        reset_password(engine, T0, "ghost")
    actions = list(audit.list_events(engine, actor="cli").action)[::-1]
    assert actions == ["user_add", "user_disable", "user_enable", "user_reset_password"]


def test_demo_accounts_are_created_once_with_one_time_passwords(engine):
    created = ensure_demo_accounts(engine, "75", T0)
    assert sorted(created) == ["admin", "analyst", "chair", "leader"]
    assert len(set(created.values())) == 4
    accounts = {u.username: u for u in list_users(engine)}
    assert accounts["chair"].unit_code == "25195" and accounts["chair"].display_name == "Chủ tịch UBND Phường Bình Phước (demo)"
    assert all(u.must_change_password for u in accounts.values())
    assert all(created[name] not in row["password_hash"] for row in _stored(engine) for name in created)
    assert authenticate(engine, T0, "leader", created["leader"], "127.0.0.1").ok
    assert ensure_demo_accounts(engine, "75", T0) == {}


def test_audit_log_filters_and_exports(engine):
    from access.scope import scope_for

    audit.record_export(engine, T0, scope_for("chair", "75", CHAIR_UNIT, "chair1"), "bieu06-xlsx", 96,
                        {"start": dt.date(2025, 8, 1)}, "10.0.0.7")
    audit.record(engine, T0 + dt.timedelta(minutes=1), "admin", "user_add", "x<script>", {"role": "leader"})
    events = audit.list_events(engine, action="export")
    assert events.to_dict("records") == [{"at": T0, "actor": "chair1", "action": "export", "target": "bieu06-xlsx",
                                          "detail": {"rows": 96, "role": "chair", "start": "2025-08-01"},
                                          "ip": "10.0.0.7"}]
    assert list(audit.list_events(engine, since=T0 + dt.timedelta(seconds=1)).target) == ["x<script>"]
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record(engine, T0, "x", "hack")


def test_production_hashing_is_argon2id_rfc9106_low_memory():
    from access.passwords import DEFAULT_HASHER, password_problem

    hashed = DEFAULT_HASHER.hash(PASSWORD)
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and PASSWORD not in hashed
    assert DEFAULT_HASHER.verify(hashed, PASSWORD)
    assert password_problem("aaaaaaaaaaaa") == "too_simple"
    assert password_problem("xchair1-secret", "chair1") == "contains_username"
