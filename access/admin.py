"""What the admin room does, as plain functions: each checks the caller may administer, acts, and audits.

The /admin page's callbacks only call these, so the rule "every admin action is checked on the
server and audited" holds whatever request reaches them (a crafted callback included).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from access import audit
from access.scope import Scope
from access.users import User, add_user, reset_password, set_disabled
from store import health_writers


def add_account(engine: Engine, now: dt.datetime, scope: Scope, username: str, role: str,
                unit_code: str | None = None, display_name: str = "") -> tuple[User, str]:
    """Create an account with a one-time password (returned once); UserError explains bad input."""
    scope.require_admin()
    user, secret = add_user(engine, now, scope.province_code, username, role, unit_code=unit_code or None,
                            display_name=display_name, actor=_actor(scope))
    return user, secret


def set_account_disabled(engine: Engine, now: dt.datetime, scope: Scope, username: str, disabled: bool) -> User:
    """Disable or enable an account (its sessions end at once); an admin cannot disable themselves."""
    scope.require_admin()
    if disabled and username.strip().lower() == scope.username:
        from access.users import UserError

        raise UserError("you cannot disable your own account; ask another administrator")
    return set_disabled(engine, now, username, disabled, actor=_actor(scope))


def reset_account_password(engine: Engine, now: dt.datetime, scope: Scope, username: str) -> str:
    """Give an account a new one-time password (returned once) and end its sessions."""
    scope.require_admin()
    return reset_password(engine, now, username, actor=_actor(scope))


def add_maintenance(engine: Engine, now: dt.datetime, scope: Scope, *, target: str, starts_at: dt.datetime,
                    ends_at: dt.datetime | None = None, kind: str = "once", duration_min: int | None = None,
                    weekdays: list[int] | None = None, note: str = "") -> int:
    """Define a maintenance window (ValueError explains bad input); returns its id."""
    scope.require_admin()
    window_id = health_writers.add_maintenance_window(
        engine, scope=target, starts_at=starts_at, ends_at=ends_at, kind=kind, duration_min=duration_min,
        weekdays=weekdays, note=note[:500], now=now)
    audit.record(engine, now, _actor(scope), "maintenance_add", target,
                 {"id": window_id, "kind": kind, "starts_at": starts_at, "ends_at": ends_at,
                  "duration_min": duration_min, "note": note[:200]})
    return window_id


def delete_maintenance(engine: Engine, now: dt.datetime, scope: Scope, window_id: int) -> None:
    """Remove a maintenance window."""
    scope.require_admin()
    health_writers.delete_maintenance_window(engine, int(window_id))
    audit.record(engine, now, _actor(scope), "maintenance_delete", str(int(window_id)))


def audit_events(engine: Engine, scope: Scope, **filters):
    """The audit log, newest first (access.audit.list_events filters); admins only."""
    scope.require_admin()
    return audit.list_events(engine, **filters)


def _actor(scope: Scope) -> str:
    return scope.username or scope.role
