"""Access-control tables, defined on store.schema.metadata (migration 0004_access creates them).

Passwords are stored only as argon2 hashes; `session_epoch` is bumped on disable, enable and
password changes so that every signed session cookie issued before stops working at once.
"""
from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, String, Table, Text

from store.schema import metadata

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("role", String(16), nullable=False),           # leader | chair | analyst | admin
    Column("unit_code", String(8)),                       # the commune of a chair; NULL for the others
    Column("password_hash", String(255), nullable=False),  # argon2id, never the password itself
    Column("must_change_password", Boolean, nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("session_epoch", Integer, nullable=False),
    Column("locked_until", DateTime),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("last_login_at", DateTime),
)

login_failures = Table(
    "login_failures", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("at", DateTime, nullable=False),
)
Index("ix_login_failures_username_at", login_failures.c.username, login_failures.c.at)
Index("ix_login_failures_ip_at", login_failures.c.ip, login_failures.c.at)

audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("actor", String(64), nullable=False),           # username, "cli", "system" or "anonymous"
    Column("action", String(32), nullable=False),          # login_ok, login_failed, lockout, export, user_add, ...
    Column("target", String(200), nullable=False),
    Column("detail", Text, nullable=False),                # JSON text: row counts, filters, reasons
    Column("ip", String(64), nullable=False),
)
Index("ix_audit_log_at", audit_log.c.at)
Index("ix_audit_log_actor_at", audit_log.c.actor, audit_log.c.at)
