"""Accounts: create, list, disable, reset and change passwords, log in with rate limiting and lockout.

Every function takes the clock (`now`) from its caller, so lockout expiry and session ages are
tested by passing times, never by sleeping. Passwords live only as argon2 hashes.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from access import audit
from access.passwords import (
    hash_password, needs_rehash, one_time_password, password_problem, verify_password,
)
from access.scope import ROLES, Scope, scope_for
from store.access_schema import login_failures, users

USERNAME_RULE = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,63}$")
IP_FAILURE_FACTOR = 4  # one address may fail this many times more often than one account (shared NAT)


class UserError(ValueError):
    """A request about accounts that cannot be honoured; the message says what to do instead."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: str
    unit_code: str | None
    must_change_password: bool
    disabled: bool
    session_epoch: int
    locked_until: dt.datetime | None
    created_at: dt.datetime
    last_login_at: dt.datetime | None

    def scope(self, province_code: str) -> Scope:
        """The scope this account's role grants in the province."""
        return scope_for(self.role, province_code, self.unit_code, self.username)


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5
    window_s: int = 60
    lockout_s: int = 900

    @classmethod
    def from_settings(cls, settings) -> LoginPolicy:
        """The policy configured by login_max_failures, login_window_s and lockout_s."""
        return cls(settings.login_max_failures, settings.login_window_s, settings.lockout_s)


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    reason: str               # ok | bad_credentials | locked | rate_limited | disabled
    user: User | None = None


_USER_COLUMNS = [users.c[name] for name in User.__dataclass_fields__]


def _to_user(row) -> User | None:
    return None if row is None else User(**{name: row[name] for name in User.__dataclass_fields__})


def normalise_username(username: str) -> str:
    """The canonical spelling of a user name (trimmed, lower case)."""
    return (username or "").strip().lower()


def get_user(engine: Engine, username: str) -> User | None:
    """The account with this user name, or None."""
    with engine.connect() as connection:
        row = connection.execute(select(*_USER_COLUMNS).where(users.c.username == normalise_username(username)))
        return _to_user(row.mappings().first())


def get_user_by_id(engine: Engine, user_id: int) -> User | None:
    """The account with this id, or None."""
    with engine.connect() as connection:
        return _to_user(connection.execute(select(*_USER_COLUMNS).where(users.c.id == user_id)).mappings().first())


def list_users(engine: Engine) -> list[User]:
    """All accounts, by user name."""
    with engine.connect() as connection:
        rows = connection.execute(select(*_USER_COLUMNS).order_by(users.c.username)).mappings().all()
    return [_to_user(row) for row in rows]


def add_user(engine: Engine, now: dt.datetime, province_code: str, username: str, role: str, *,
             unit_code: str | None = None, display_name: str = "", password: str | None = None,
             actor: str = "cli") -> tuple[User, str | None]:
    """Create an account; without a password, return a one-time one the user must change at first login."""
    username = _check_new_account(province_code, username, role, unit_code)
    one_time = password is None
    if not one_time and (problem := password_problem(password, username)):
        raise UserError(f"password rejected ({PASSWORD_PROBLEMS[problem]})")
    secret = one_time_password() if one_time else password
    row = {"username": username, "display_name": (display_name or username).strip()[:200], "role": role,
           "unit_code": unit_code, "password_hash": hash_password(secret), "must_change_password": one_time,
           "disabled": False, "session_epoch": 0, "created_at": now, "updated_at": now}
    try:
        with engine.begin() as connection:
            connection.execute(insert(users), [row])
    except IntegrityError:
        raise UserError(f"user {username!r} already exists; choose another name or use reset-password") from None
    audit.record(engine, now, actor, "user_add", username, {"role": role, "unit_code": unit_code})
    return get_user(engine, username), (secret if one_time else None)


PASSWORD_PROBLEMS = {
    "too_short": "at least 10 characters",
    "contains_username": "must not contain the user name",
    "too_simple": "use at least 4 different characters",
}


def _check_new_account(province_code: str, username: str, role: str, unit_code: str | None) -> str:
    name = normalise_username(username)
    if not USERNAME_RULE.match(name):
        raise UserError(f"user name {username!r} is not valid: use 3-64 letters a-z, digits and . _ @ -, "
                        "starting with a letter or digit")
    if role not in ROLES:
        raise UserError(f"role {role!r} is not valid; use one of {', '.join(ROLES)}")
    if role == "chair":
        _check_commune(province_code, unit_code)
    elif unit_code and province_code is None and role in ("leader", "analyst"):
        _check_province_binding(unit_code)   # national mode: a leader or analyst of one province
    elif unit_code:
        raise UserError(f"only a commune chair is bound to a unit; drop --unit for role {role!r}")
    return name


def _check_province_binding(unit_code: str) -> None:
    from geo.registry import provinces

    if unit_code not in provinces():
        raise UserError(f"in national mode --unit binds a leader or analyst to a province: a two-digit province "
                        f"code such as 75, not {unit_code!r}")


def _check_commune(province_code: str | None, unit_code: str | None) -> None:
    from geo.registry import communes

    if not unit_code:
        raise UserError("a commune chair must be bound to a commune: add --unit <official commune code>")
    codes = set(communes(province_code).code)
    if unit_code not in codes:
        raise UserError(f"unit {unit_code!r} is not a commune, ward or special zone of province {province_code}")


def set_disabled(engine: Engine, now: dt.datetime, username: str, disabled: bool, actor: str = "cli") -> User:
    """Disable (or enable) an account; its existing sessions stop working at once."""
    user = _require(engine, username)
    _update(engine, user.id, now, disabled=disabled, session_epoch=user.session_epoch + 1)
    audit.record(engine, now, actor, "user_disable" if disabled else "user_enable", user.username)
    return get_user_by_id(engine, user.id)


def reset_password(engine: Engine, now: dt.datetime, username: str, actor: str = "cli") -> str:
    """Give the account a new one-time password (returned once), unlock it and end its sessions."""
    user = _require(engine, username)
    secret = one_time_password()
    _update(engine, user.id, now, password_hash=hash_password(secret), must_change_password=True,
            locked_until=None, session_epoch=user.session_epoch + 1)
    _clear_failures(engine, user.username)
    audit.record(engine, now, actor, "user_reset_password", user.username)
    return secret


def change_password(engine: Engine, now: dt.datetime, user_id: int, current: str, new: str, ip: str = "") -> User:
    """Replace a password after checking the current one; other sessions of the account end."""
    user = get_user_by_id(engine, user_id)
    if user is None or user.disabled:
        raise UserError("account_gone")
    with engine.connect() as connection:
        stored = connection.execute(select(users.c.password_hash).where(users.c.id == user_id)).scalar_one()
    if not verify_password(stored, current):
        raise UserError("wrong_current")
    if problem := password_problem(new, user.username):
        raise UserError(problem)
    if verify_password(stored, new):
        raise UserError("same_as_before")
    _update(engine, user_id, now, password_hash=hash_password(new), must_change_password=False,
            session_epoch=user.session_epoch + 1)
    audit.record(engine, now, user.username, "password_changed", user.username, ip=ip)
    return get_user_by_id(engine, user_id)


def authenticate(engine: Engine, now: dt.datetime, username: str, password: str, ip: str,
                 policy: LoginPolicy = LoginPolicy()) -> LoginResult:
    """Check a login attempt with rate limiting and lockout; every outcome is audited."""
    name = normalise_username(username)[:64]
    if _recent_failures(engine, now, policy, ip=ip) >= policy.max_failures * IP_FAILURE_FACTOR:
        audit.record(engine, now, name, "login_failed", name, {"reason": "rate_limited"}, ip)
        return LoginResult(False, "rate_limited")
    user = get_user(engine, name)
    if user is not None and user.locked_until is not None and now < user.locked_until:
        audit.record(engine, now, name, "login_locked", name, {"until": user.locked_until}, ip)
        return LoginResult(False, "locked")
    with engine.connect() as connection:
        stored = connection.execute(select(users.c.password_hash).where(users.c.username == name)).scalar()
    if not verify_password(stored, password):
        return _failed(engine, now, name, user, ip, policy)
    if user.disabled:
        audit.record(engine, now, name, "login_failed", name, {"reason": "disabled"}, ip)
        return LoginResult(False, "disabled")
    changes = {"last_login_at": now, "locked_until": None}
    if needs_rehash(stored):
        changes["password_hash"] = hash_password(password)
    _update(engine, user.id, now, **changes)
    _clear_failures(engine, name)
    audit.record(engine, now, name, "login_ok", name, {"role": user.role}, ip)
    return LoginResult(True, "ok", get_user_by_id(engine, user.id))


def _failed(engine: Engine, now: dt.datetime, name: str, user: User | None, ip: str,
            policy: LoginPolicy) -> LoginResult:
    with engine.begin() as connection:
        # Rows older than the window can never count again; dropping them keeps the table tiny.
        connection.execute(delete(login_failures).where(login_failures.c.at < now - dt.timedelta(seconds=policy.window_s)))
        connection.execute(insert(login_failures), [{"username": name, "ip": ip[:64], "at": now}])
    audit.record(engine, now, name, "login_failed", name, {"reason": "bad_credentials"}, ip)
    if user is None or _recent_failures(engine, now, policy, username=name) < policy.max_failures:
        return LoginResult(False, "bad_credentials")
    until = now + dt.timedelta(seconds=policy.lockout_s)
    _update(engine, user.id, now, locked_until=until)
    audit.record(engine, now, "system", "lockout", name, {"until": until, "failures": policy.max_failures}, ip)
    return LoginResult(False, "locked")


def _recent_failures(engine: Engine, now: dt.datetime, policy: LoginPolicy, *, username: str | None = None,
                     ip: str | None = None) -> int:
    query = select(func.count()).select_from(login_failures).where(
        login_failures.c.at > now - dt.timedelta(seconds=policy.window_s), login_failures.c.at <= now)
    if username is not None:
        query = query.where(login_failures.c.username == username)
    if ip is not None:
        query = query.where(login_failures.c.ip == ip[:64])
    with engine.connect() as connection:
        return connection.execute(query).scalar_one()


def _clear_failures(engine: Engine, username: str) -> None:
    with engine.begin() as connection:
        connection.execute(delete(login_failures).where(login_failures.c.username == username))


def _require(engine: Engine, username: str) -> User:
    user = get_user(engine, username)
    if user is None:
        raise UserError(f"no user named {normalise_username(username)!r}; see: python app.py users list")
    return user


def _update(engine: Engine, user_id: int, now: dt.datetime, **values) -> None:
    with engine.begin() as connection:
        connection.execute(update(users).where(users.c.id == user_id).values(updated_at=now, **values))


DEMO_ROLES = ("leader", "chair", "analyst", "admin")


def ensure_demo_accounts(engine: Engine, province_code: str, now: dt.datetime) -> dict[str, str]:
    """On a store without accounts, create one per role; return {username: one-time password}, else {}."""
    from geo.registry import communes

    with engine.connect() as connection:
        if connection.execute(select(func.count()).select_from(users)).scalar_one():
            return {}
    commune = communes(province_code).sort_values("code").iloc[0]
    names = {"leader": "Lãnh đạo tỉnh (demo)", "chair": f"Chủ tịch UBND {commune['name']} (demo)",
             "analyst": "Chuyên viên phân tích (demo)", "admin": "Quản trị hệ thống (demo)"}
    created = {}
    try:
        for role in DEMO_ROLES:
            unit = commune["code"] if role == "chair" else None
            _user, secret = add_user(engine, now, province_code, role, role, unit_code=unit,
                                     display_name=names[role], actor="system")
            created[role] = secret
    except UserError:
        return {}  # another process created them first; its output carried the passwords
    return created
