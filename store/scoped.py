"""Scoped reads: every dossier and health read of the web app goes through a ScopedReader.

A DataScope says which units of which province a caller may read (`unit_codes` None = the whole
province). ScopedReader mirrors the reader functions the rooms use (store.readers,
store.readers_export, store.health_readers) and ALWAYS adds the scope's filter to the SQL: a
request for some units is intersected with the scope, and naming a unit outside it raises
OutOfScopeError (access maps it to HTTP 403). The readers themselves stay scope-agnostic.

This module knows nothing about users or roles (access.scope.Scope.data_scope() builds the
DataScope); it is the store-level contract that makes "filter in SQL" hard to forget.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

import pandas as pd
from sqlalchemy import Engine, func, select

from store import health_readers, readers, readers_export
from store.health_schema import health_systems
from store.schema import dossier_facts as facts, units as units_table


class OutOfScopeError(PermissionError):
    """A read named units outside the caller's scope (or another province); the web layer answers 403."""


@dataclass(frozen=True)
class DataScope:
    """Which units a reader may see: a province, and optionally only some of its units.

    `province_code` None is reserved for trusted callers without a user (scripts, tests, the
    collector) that read the whole store; web requests always carry a province.
    """

    province_code: str | None
    unit_codes: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.unit_codes is not None and not isinstance(self.unit_codes, frozenset):
            object.__setattr__(self, "unit_codes", frozenset(str(code) for code in self.unit_codes))

    @property
    def whole_province(self) -> bool:
        return self.unit_codes is None

    def describe(self) -> str:
        """A short text for error messages."""
        units = "whole province" if self.unit_codes is None else f"{len(self.unit_codes)} unit(s)"
        return f"scope province {self.province_code or 'any'}, {units}"


def as_reader(source: "Engine | ScopedReader", province_code: str | None = None) -> "ScopedReader":
    """A ScopedReader for `source`: itself (checked against the province), or a trusted engine's whole province."""
    if isinstance(source, ScopedReader):
        if province_code is not None and source.scope.province_code not in (None, province_code):
            raise OutOfScopeError(f"{source.scope.describe()} may not read province {province_code}")
        return source
    return ScopedReader(source, DataScope(province_code))


@dataclass(frozen=True)
class ScopedReader:
    """The store's readers, limited to one DataScope. Hashable: loaders' caches key on it (and so on the scope)."""

    engine: Engine
    scope: DataScope

    # --- the scope filter -----------------------------------------------------------------------

    def units_filter(self, requested: Iterable[str] | None = None) -> tuple[str, ...] | None:
        """The unit codes to pass to a reader: the request intersected with the scope (None = whole province).

        Raises OutOfScopeError when the request names a unit outside the scope, so a crafted request
        is refused rather than silently answered with less.
        """
        if requested is None:
            return None if self.scope.unit_codes is None else tuple(sorted(self.scope.unit_codes))
        codes = tuple(sorted({str(code) for code in requested}))
        allowed = self.scope.unit_codes if self.scope.unit_codes is not None else self._province_codes(codes)
        outside = [code for code in codes if code not in allowed]
        if outside:
            shown = ", ".join(outside[:5]) + (" …" if len(outside) > 5 else "")
            raise OutOfScopeError(f"{self.scope.describe()} may not read unit(s) {shown}")
        return codes

    def _filter(self, requested: Iterable[str] | None) -> dict:
        return {"province_code": self.scope.province_code, "unit_codes": self.units_filter(requested)}

    def _province_codes(self, codes: Sequence[str]) -> frozenset[str]:
        if self.scope.province_code is None or not codes:
            return frozenset(codes)
        query = select(units_table.c.code).where(units_table.c.province_code == self.scope.province_code,
                                                 units_table.c.code.in_(list(codes)))
        with self.engine.connect() as connection:
            return frozenset(connection.execute(query).scalars())

    def allows(self, unit_code: str) -> bool:
        """Whether a single unit is inside the scope."""
        try:
            self.units_filter([unit_code])
        except OutOfScopeError:
            return False
        return True

    # --- store.readers ------------------------------------------------------------------------------

    def units(self) -> pd.DataFrame:
        """The province's units as stored: the official registry (codes, names, places), public, no dossier data.

        The rankings table names every commune; dossier figures are what the scope limits.
        """
        return readers.load_units(self.engine, self.scope.province_code)

    def period_totals(self, start: dt.date, end: dt.date, *, unit_codes: Sequence[str] | None = None,
                      fields: Sequence[str] | None = None, group_by: Sequence[str] = ("unit_code",)) -> pd.DataFrame:
        """store.readers.period_totals limited to the scope."""
        return readers.period_totals(self.engine, start, end, fields=fields, group_by=group_by,
                                     **self._filter(unit_codes))

    def unit_periods_totals(self, periods: Sequence[tuple[dt.date, dt.date]], *,
                            unit_codes: Sequence[str] | None = None,
                            fields: Sequence[str] | None = None) -> pd.DataFrame:
        """store.readers.unit_periods_totals limited to the scope."""
        return readers.unit_periods_totals(self.engine, periods, fields=fields, **self._filter(unit_codes))

    def daily_totals(self, start: dt.date, end: dt.date, *, unit_codes: Sequence[str] | None = None,
                     fields: Sequence[str] | None = None, by_unit: bool = False) -> pd.DataFrame:
        """store.readers.daily_totals limited to the scope."""
        return readers.daily_totals(self.engine, start, end, fields=fields, by_unit=by_unit, **self._filter(unit_codes))

    def unit_freshness(self) -> pd.DataFrame:
        """store.readers.unit_freshness of the province, only the scope's units."""
        units = None if self.scope.unit_codes is None else sorted(self.scope.unit_codes)
        return readers.unit_freshness(self.engine, self.scope.province_code, units)

    def data_extent(self) -> tuple[dt.date | None, dt.date | None]:
        """First and last day with facts in the scope."""
        if self.scope.unit_codes is None:
            return readers.data_extent(self.engine, self.scope.province_code)
        query = select(func.min(facts.c.day), func.max(facts.c.day)).where(
            facts.c.unit_code.in_(sorted(self.scope.unit_codes)))
        with self.engine.connect() as connection:
            first, last = connection.execute(query).one()
        return readers._as_date(first), readers._as_date(last)  # noqa: SLF001 - same date coercion as readers

    def last_collection(self) -> dt.datetime | None:
        """When the newest collection run finished (a store-wide time, no unit data)."""
        return readers.last_collection(self.engine)

    # --- store.readers_export -----------------------------------------------------------------------

    def bucket_totals(self, buckets: Sequence[readers_export.Bucket], *, unit_codes: Sequence[str] | None = None,
                      fields: Sequence[str] | None = None) -> pd.DataFrame:
        """store.readers_export.bucket_totals limited to the scope."""
        return readers_export.bucket_totals(self.engine, buckets, fields=fields, **self._filter(unit_codes))

    def iter_bucket_totals(self, start: dt.date, end: dt.date, by: str, *, unit_codes: Sequence[str] | None = None,
                           fields: Sequence[str] | None = None,
                           chunk_days: int = readers_export.CHUNK_DAYS) -> Iterator[pd.DataFrame]:
        """store.readers_export.iter_bucket_totals limited to the scope (checked before the first chunk)."""
        scoped = self._filter(unit_codes)
        return readers_export.iter_bucket_totals(self.engine, start, end, by, fields=fields, chunk_days=chunk_days,
                                                 **scoped)

    # --- store.health_readers -----------------------------------------------------------------------
    # Provincial targets (no unit) are always visible; commune targets only of the scope's units.

    def health_stamp(self) -> dt.datetime | None:
        """When the last probe round was recorded (None before the first)."""
        with self.engine.connect() as connection:
            stamp = connection.execute(select(func.max(health_systems.c.updated_at))).scalar()
        return None if stamp is None else pd.Timestamp(stamp).to_pydatetime()

    def system_catalog(self) -> pd.DataFrame:
        """Monitored systems (code, name, level): names only, no unit data."""
        query = select(health_systems.c.code, health_systems.c.name, health_systems.c.level).order_by(
            health_systems.c.code)
        with self.engine.connect() as connection:
            return pd.read_sql(query, connection)

    def target_status(self, now: dt.datetime, *, slow_ms: float = 3000.0, cert_warn_days: float = 14.0,
                      systems: Sequence[str] | None = None, unit_codes: Sequence[str] | None = None) -> pd.DataFrame:
        """store.health_readers.target_status limited to the scope."""
        return health_readers.target_status(self.engine, now, slow_ms=slow_ms, cert_warn_days=cert_warn_days,
                                            systems=systems, unit_codes=self.units_filter(unit_codes))

    def current_status(self, now: dt.datetime, *, slow_ms: float = 3000.0, cert_warn_days: float = 14.0,
                       systems: Sequence[str] | None = None, unit_codes: Sequence[str] | None = None) -> pd.DataFrame:
        """store.health_readers.current_status limited to the scope."""
        return health_readers.current_status(self.engine, now, slow_ms=slow_ms, cert_warn_days=cert_warn_days,
                                             systems=systems, unit_codes=self.units_filter(unit_codes))

    def uptime_table(self, now: dt.datetime, *, by: str = "system", systems: Sequence[str] | None = None,
                     unit_codes: Sequence[str] | None = None) -> pd.DataFrame:
        """store.health_readers.uptime_table limited to the scope."""
        return health_readers.uptime_table(self.engine, now, by=by, systems=systems,
                                           unit_codes=self.units_filter(unit_codes))

    def latency_series(self, start: dt.datetime, end: dt.datetime, *, systems: Sequence[str] | None = None,
                       unit_codes: Sequence[str] | None = None) -> pd.DataFrame:
        """store.health_readers.latency_series limited to the scope."""
        return health_readers.latency_series(self.engine, start, end, systems=systems,
                                             unit_codes=self.units_filter(unit_codes))

    def incidents(self, start: dt.datetime, end: dt.datetime, *, systems: Sequence[str] | None = None,
                  now: dt.datetime | None = None) -> pd.DataFrame:
        """System incidents (system-level, shown to every role that sees the systems)."""
        return health_readers.incidents(self.engine, start, end, systems=systems, now=now)

    def maintenance_windows_frame(self) -> pd.DataFrame:
        """Every maintenance window (system-level)."""
        return health_readers.maintenance_windows_frame(self.engine)

    def gauge_series(self, start: dt.datetime, end: dt.datetime, *, systems: Sequence[str] | None = None,
                     names: Sequence[str] | None = None) -> pd.DataFrame:
        """System gauges such as concurrent users (system-level)."""
        return health_readers.gauge_series(self.engine, start, end, systems=systems, names=names)
