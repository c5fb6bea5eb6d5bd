"""Helpers for tests of a login-protected app (also for phase-2 tests of each room)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from argon2 import PasswordHasher
from sqlalchemy import update

from access.passwords import configure_hasher
from access.users import User, add_user
from store.access_schema import users

PASSWORD = "Rừng-tràm-Đồng-Nai-2025"
ORIGIN = {"Origin": "http://localhost"}   # the Flask test client's host: what a browser sends on a callback POST
CHAIR_UNIT = "25195"                      # Phường Bình Phước, province 75


def make_user(engine, username: str, role: str, unit_code: str | None = None, password: str = PASSWORD,
              now: dt.datetime = dt.datetime(2025, 8, 1, 8, 0), display_name: str = "") -> User:
    """An active account with a known password (no forced change)."""
    user, _secret = add_user(engine, now, "75", username, role, unit_code=unit_code, password=password,
                             display_name=display_name)
    with engine.begin() as connection:
        connection.execute(update(users).where(users.c.id == user.id).values(must_change_password=False))
    return user


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token of the form at path (fetching it stores the token in the client's session)."""
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, username: str, password: str = PASSWORD, next_path: str = "/"):
    """Post the login form like a browser; return the response."""
    token = csrf_token(client)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                       "next": next_path})


def callback_body(output: str = "app-title.children") -> dict:
    """A minimal /_dash-update-component body for the shell's callback."""
    return {"output": "..app-title.children...app-subtitle.children...app-nav.children...app-lang-switch.children"
                      "...app-lang-switch.href...app-lang-switch.title...app-footer.children..",
            "outputs": [{"id": i, "property": p} for i, p in (
                ("app-title", "children"), ("app-subtitle", "children"), ("app-nav", "children"),
                ("app-lang-switch", "children"), ("app-lang-switch", "href"), ("app-lang-switch", "title"),
                ("app-footer", "children"))],
            "inputs": [{"id": "app-url", "property": "pathname", "value": "/"},
                       {"id": "app-url", "property": "search", "value": ""}],
            "changedPropIds": ["app-url.pathname"], "state": []}


@pytest.fixture
def cheap_hashing():
    """argon2id with tiny cost parameters: same code paths, a fraction of the CPU on a shared machine."""
    previous = configure_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    yield
    configure_hasher(previous)
