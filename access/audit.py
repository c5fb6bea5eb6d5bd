"""The audit log: logins (success and failure), lockouts, exports, user changes; admins read it."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Mapping

import pandas as pd
from sqlalchemy import Engine, insert, select

from store.access_schema import audit_log

COLUMNS = ["at", "actor", "action", "target", "detail", "ip"]
ACTIONS = ("login_ok", "login_failed", "login_locked", "lockout", "logout", "password_changed",
           "export", "user_add", "user_disable", "user_enable", "user_reset_password", "forbidden",
           "maintenance_add", "maintenance_delete")


def record(engine: Engine, now: dt.datetime, actor: str, action: str, target: str = "",
           detail: Mapping[str, Any] | None = None, ip: str = "") -> None:
    """Append one event; `detail` is stored as JSON text (row counts, filters, reasons)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; use one of {', '.join(ACTIONS)}")
    row = {"at": now, "actor": (actor or "anonymous")[:64], "action": action, "target": (target or "")[:200],
           "detail": json.dumps(dict(detail or {}), ensure_ascii=False, default=str), "ip": (ip or "")[:64]}
    with engine.begin() as connection:
        connection.execute(insert(audit_log), [row])


def record_export(engine: Engine, now: dt.datetime, scope, what: str, row_count: int,
                  filters: Mapping[str, Any] | None = None, ip: str = "") -> None:
    """Audit one export: who (the scope's user), what, when, how many rows, with which filters."""
    detail = {"rows": int(row_count), "role": scope.role, **dict(filters or {})}
    record(engine, now, scope.username or scope.role, "export", what, detail, ip)


def list_events(engine: Engine, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
                actor: str | None = None, action: str | None = None, limit: int = 500) -> pd.DataFrame:
    """Events newest first, optionally filtered; `detail` comes back as a dict."""
    query = select(*[audit_log.c[name] for name in COLUMNS]).order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    if until is not None:
        query = query.where(audit_log.c.at < until)
    if actor is not None:
        query = query.where(audit_log.c.actor == actor)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    with engine.connect() as connection:
        rows = connection.execute(query.limit(limit)).mappings().all()
    frame = pd.DataFrame([dict(row) for row in rows], columns=COLUMNS)
    frame["detail"] = [json.loads(text) for text in frame["detail"]]
    return frame
