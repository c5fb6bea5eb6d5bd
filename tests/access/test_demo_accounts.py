"""The demo creates one account per role once and prints their one-time passwords once."""
from __future__ import annotations

import datetime as dt
import io

from access.users import authenticate, ensure_demo_accounts, list_users
from app import print_demo_accounts
from geo.registry import units
from store.writers import upsert_units

NOW = dt.datetime(2025, 8, 27, 9, 0)


def test_demo_accounts_are_created_once_and_printed_once(engine):
    upsert_units(engine, units("75"))
    created = ensure_demo_accounts(engine, "75", NOW)
    assert sorted(created) == ["admin", "analyst", "chair", "leader"]
    out = io.StringIO()
    print_demo_accounts(created, out)
    text = out.getvalue()
    assert "Tài khoản demo / Demo accounts" in text and all(secret in text for secret in created.values())
    assert authenticate(engine, NOW, "chair", created["chair"], "127.0.0.1").ok
    assert [u.role for u in list_users(engine)] == ["admin", "analyst", "chair", "leader"]
    assert ensure_demo_accounts(engine, "75", NOW) == {}
    again = io.StringIO()
    print_demo_accounts({}, again)
    assert again.getvalue() == ""
