"""The source contract: what every adapter provides and the errors it may raise.

A leaf module (imports nothing of ours but config). Errors are named for what the caller should
do: retry later, stop and fix configuration, or quarantine one record and go on.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import pandas as pd


class SourceError(Exception):
    """Base of every error a source raises."""


class RetriableError(SourceError):
    """Worth trying again: timeout, connection reset, 429, 5xx. `retry_after` in seconds if the peer said."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class FatalError(SourceError):
    """Retrying will not help until someone changes something: 401/403, schema drift, bad configuration."""


class SkippableError(SourceError):
    """One record is bad; quarantine it and keep the rest."""


@dataclass(frozen=True)
class FetchRequest:
    """What a collection run asks a source for."""
    unit_codes: tuple[str, ...]
    first_day: dt.date
    last_day: dt.date
    now: dt.datetime


@dataclass
class Rejected:
    """A record that failed validation, kept with its reason and raw payload."""
    reason: str
    raw: Any
    unit_code: str | None = None
    day: dt.date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "raw": self.raw, "unit_code": self.unit_code, "day": self.day}


@dataclass
class Batch:
    """Facts of config.facts.FACT_COLUMNS shape plus the records rejected on the way."""
    facts: pd.DataFrame
    rejected: list[Rejected] = field(default_factory=list)


@runtime_checkable
class Source(Protocol):
    """A data source: `fetch` does I/O only, `parse` is pure (payload -> Batch)."""

    name: str

    def fetch(self, request: FetchRequest) -> Any: ...

    def parse(self, payload: Any, request: FetchRequest) -> Batch: ...
