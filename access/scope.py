"""Who may see what: the caller's scope, passed to every reader so that filtering happens in SQL.

A Scope is the whole answer to "which units of which province, and may this caller export or
administer". Web requests get theirs from the login guard (dashboards/auth.py puts it on flask.g);
code without a request (CLI, collector, scripts) must pass one explicitly. Deny by default: a
request whose guard set no scope has none, and asking for it raises OutOfScope (HTTP 403).

Readers and loaders go through a store.scoped.ScopedReader built from it::

    reader = current_reader(app.engine)              # or rankings=True for the rankings table only
    frame = reader.period_totals(start, end, unit_codes=requested_units)   # filtered in SQL
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable

from sqlalchemy import false, true

from store.scoped import DataScope, OutOfScopeError, ScopedReader

ROLES = ("leader", "chair", "analyst", "admin")
ROLE_LABELS = {  # (Vietnamese, English)
    "leader": ("Lãnh đạo tỉnh", "Provincial leader"),
    "chair": ("Chủ tịch UBND xã, phường", "Commune chair"),
    "analyst": ("Chuyên viên phân tích", "Analyst"),
    "admin": ("Quản trị hệ thống", "Administrator"),
    "open": ("Không đăng nhập (đăng nhập đã tắt)", "No login (authentication off)"),
    "none": ("Không có quyền", "No access"),
}
DATA_ROLES = ("leader", "chair", "analyst", "open")     # roles that read dossier figures (nav of data rooms)
EXPORT_ROLES = ("leader", "chair", "analyst", "open")   # roles whose scope may export
G_KEY = "ioc_scope"
DEFAULT_SCOPE_KEY = "ioc_default_scope"   # Flask extension key; set only when authentication is off


class OutOfScope(OutOfScopeError):
    """The caller asked for data outside its scope; the web layer answers 403.

    A subclass of the store's OutOfScopeError, so one 403 handler covers refusals raised by
    access checks and by the data layer (store.scoped.ScopedReader) alike.
    """


@dataclass(frozen=True)
class Scope:
    """What one caller may read: a province, optionally only some units, and two capabilities."""

    role: str
    province_code: str | None                  # None = every province (national mode only)
    unit_codes: frozenset[str] | None = None   # None = the whole province
    can_export: bool = False
    can_admin: bool = False
    username: str = ""                         # for the audit log; "" outside a login

    def __post_init__(self) -> None:
        if self.unit_codes is not None and not isinstance(self.unit_codes, frozenset):
            object.__setattr__(self, "unit_codes", frozenset(self.unit_codes))

    @property
    def whole_province(self) -> bool:
        return self.unit_codes is None

    def allows_unit(self, code: str) -> bool:
        """Whether this scope may see the given unit (a unit of the province when unrestricted)."""
        if self.unit_codes is None:
            found = _province_of(code)
            return found is not None and self.province_code in (None, found)
        return code in self.unit_codes

    @property
    def national(self) -> bool:
        """Whether this scope covers every province (a national-mode leader, analyst or open demo)."""
        return self.province_code is None

    def for_province(self, province_code: str | None) -> Scope:
        """This scope looking at one province (None: the nation); OutOfScope for a province it may not see.

        A national scope narrows to any province; a province-bound one only "narrows" to its own,
        and asking it for the nation gives its own province (it has nothing wider to show).
        """
        if province_code is None or province_code == self.province_code:
            return self
        if self.province_code is not None:
            raise OutOfScope(f"{self.describe()} may not read province {province_code}")
        return replace(self, province_code=province_code)

    def restrict(self, unit_codes: Iterable[str] | None = None) -> tuple[str, ...] | None:
        """The requested units, checked: OutOfScope on any unit outside; None asks for all in scope.

        Returns a sorted tuple, or None only when both the request and the scope are the whole
        province (the caller then filters by province_code alone).
        """
        if unit_codes is None:
            return None if self.unit_codes is None else tuple(sorted(self.unit_codes))
        requested = tuple(sorted(set(unit_codes)))
        outside = [code for code in requested if not self.allows_unit(code)]
        if outside:
            raise OutOfScope(f"{self.describe()} may not read unit(s) {', '.join(outside[:5])}")
        return requested

    def reader_filter(self, unit_codes: Iterable[str] | None = None) -> dict[str, Any]:
        """Keyword arguments for store.readers (province_code=, unit_codes=) limited to this scope."""
        return {"province_code": self.province_code, "unit_codes": self.restrict(unit_codes)}

    def unit_clause(self, column):
        """A SQL condition on a unit-code column that keeps only this scope's units of its province."""
        if self.unit_codes is None:
            return true()
        if not self.unit_codes:
            return false()
        return column.in_(sorted(self.unit_codes))

    def require_export(self) -> None:
        """Raise OutOfScope unless this caller may export."""
        if not self.can_export:
            raise OutOfScope(f"{self.describe()} may not export data")

    def require_admin(self) -> None:
        """Raise OutOfScope unless this caller may administer users, sources and probe targets."""
        if not self.can_admin:
            raise OutOfScope(f"{self.describe()} may not administer the system")

    def for_rankings(self) -> Scope:
        """The scope of the province rankings table: every commune's score and rank, nothing more.

        Commune chairs see where their commune stands among all others; only the rankings table
        (scores and ranks) may read with this widened scope, never details, trends or exports.
        """
        if self.role in ("chair", "leader", "analyst", "open"):
            return replace(self, unit_codes=None, can_export=False)
        return self

    def data_scope(self) -> DataScope:
        """The store-level scope the readers filter by (store.scoped.DataScope)."""
        return DataScope(self.province_code, self.unit_codes)

    def describe(self) -> str:
        """A short description for error messages and the audit log."""
        who = self.username or self.role
        units = "whole province" if self.unit_codes is None else f"units {sorted(self.unit_codes)}"
        where = "all provinces" if self.province_code is None else f"province {self.province_code}"
        return f"{who} ({self.role}, {where}, {units})"


def scope_for(role: str, province_code: str | None, unit_code: str | None = None, username: str = "") -> Scope:
    """The scope a role grants (the one place the role policy lives).

    `province_code` None is national mode: a leader or analyst sees every province, or one province
    when bound to that province's own unit (its two-digit code, e.g. --unit 75); a chair sees the
    province of its commune.
    """
    if role in ("leader", "analyst"):   # everything in the province (or the nation), read and export
        if province_code is None and unit_code:
            province_code = _province_of(unit_code)
            if province_code is None or province_code != unit_code:
                raise ValueError(f"a {role} is bound to a province by its two-digit code, not {unit_code!r}")
        return Scope(role, province_code, None, can_export=True, username=username)
    if role == "chair":     # full detail, trends and exports of the own commune only
        if not unit_code:
            raise ValueError("a commune chair must be bound to one commune (unit_code)")
        return Scope(role, province_code or _province_of(unit_code), frozenset({unit_code}), can_export=True,
                     username=username)
    if role == "admin":     # users, sources, probe targets, maintenance; no dossier data (deny by default)
        return Scope(role, province_code, frozenset(), can_export=False, can_admin=True, username=username)
    raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")


def configured_province(settings) -> str | None:
    """The province every scope starts from: settings.province_code, or None (all) in national mode."""
    return None if getattr(settings, "national", False) else settings.province_code


def open_scope(province_code: str | None) -> Scope:
    """The scope of every request when authentication is switched off (tests, closed demos)."""
    return Scope("open", province_code, None, can_export=True, can_admin=False)


def empty_scope(province_code: str | None) -> Scope:
    """A scope that sees no unit and may do nothing: for building page skeletons that no user owns."""
    return Scope("none", province_code, frozenset(), can_export=False, can_admin=False)


def current_scope() -> Scope:
    """The scope of the current web request, set by the login guard; OutOfScope if none was set.

    An app built with authentication off registers an app-wide default (open_scope), so that
    direct calls inside `test_request_context()` work too; with authentication on there is none.
    """
    from flask import current_app, g, has_request_context

    if not has_request_context():
        raise RuntimeError("current_scope() needs a web request; outside one (CLI, collector) pass a Scope explicitly")
    scope = g.get(G_KEY) or current_app.extensions.get(DEFAULT_SCOPE_KEY)
    if scope is None:
        raise OutOfScope("this request carries no access scope (not logged in)")
    return scope


def current_reader(engine, *, rankings: bool = False) -> ScopedReader:
    """A ScopedReader over `engine` for the current request's scope (the rankings table's widened one if asked)."""
    scope = current_scope()
    return ScopedReader(engine, (scope.for_rankings() if rankings else scope).data_scope())


def set_current_scope(scope: Scope) -> None:
    """Attach the scope to the current request (the login guard's job)."""
    from flask import g

    setattr(g, G_KEY, scope)


def _province_of(code: str) -> str | None:
    from geo.registry import UnknownUnitError, province_of

    try:
        return province_of(code)
    except UnknownUnitError:
        return None
