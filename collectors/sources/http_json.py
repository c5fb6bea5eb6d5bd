"""HTTP JSON API source: a commune's (or many communes') daily figures from a province's system.

Two shapes of endpoint are supported: a per-commune URL template (`{unit_code}` in `url`) or one
bulk endpoint taking a date range (or one date, `per_day`) and optionally a list of communes.
Pages are followed either by a next link in the body or by a page-number parameter. A province's
adapter is a configuration: URL, parameter templates, where the records are, a field mapping.
`fetch` does the I/O (pages of decoded JSON), `parse` is pure (pages -> Batch).
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from urllib.parse import urljoin

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from collectors.base import Batch, FatalError, FetchRequest, Rejected
from collectors.transport.http import HttpTransport, RetryPolicy
from config.facts import FACT_COLUMNS, KEY_COLUMNS

RAW_COLUMN = "_raw"
REQUIRED_CANONICAL = tuple(c for c in KEY_COLUMNS if c != "source")
MAX_PAGES = 10_000  # a server that never stops paginating is a bug, not data


class HttpJsonConfig(BaseModel):
    """Declaration of one HTTP JSON source; the secret is redacted in every repr and log."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(max_length=32)
    url: str = Field(description="Endpoint; contains {unit_code} for a per-commune API")
    params: dict[str, str] = Field(default_factory=dict, description="Query parameters; values may use "
                                   "{first_day} {last_day} {day} {unit_code} {unit_codes}")
    per_day: bool = Field(False, description="The endpoint takes one date: one request per day")
    records_path: str = Field("items", description="Dotted path to the list of records; empty = the body")
    next_path: str | None = Field(None, description="Dotted path to the next page's URL (link pagination)")
    page_param: str | None = Field(None, description="Page-number parameter (page pagination, from 1)")
    page_size_param: str | None = None
    page_size: int = Field(1000, ge=1)
    field_map: dict[str, str] = Field(default_factory=dict, description="Remote field name -> canonical column")
    auth: Literal["none", "bearer", "header"] = "none"
    auth_header: str = "X-API-Key"
    secret: SecretStr | None = None
    timeout_s: float = Field(10.0, gt=0)
    connect_timeout_s: float = Field(3.0, gt=0)
    retry_attempts: int = Field(3, ge=1, le=10)
    chunk_size: int = Field(200, ge=1, description="Communes per request on a bulk endpoint")
    max_connections: int = Field(32, ge=1)

    @field_validator("field_map")
    @classmethod
    def _known_targets(cls, mapping: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(mapping.values()) - set(FACT_COLUMNS))
        if unknown:
            raise ValueError(f"maps to unknown columns {unknown}; canonical columns are {list(FACT_COLUMNS)}")
        return mapping

    @model_validator(mode="after")
    def _secret_when_auth(self) -> "HttpJsonConfig":
        if self.auth != "none" and not self.secret:
            raise ValueError(f"auth={self.auth!r} needs a secret (API key or token)")
        return self

    @property
    def per_unit(self) -> bool:
        return "{unit_code}" in self.url


def make_config(**values: Any) -> HttpJsonConfig:
    """Validate a source declaration; bad configuration is a FatalError that says what to fix."""
    try:
        return HttpJsonConfig(**values)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in err.errors())
        raise FatalError(f"Invalid HTTP JSON source configuration: {problems}") from None


class HttpJsonSource:
    """Source adapter over an HTTP JSON API described by an HttpJsonConfig."""

    def __init__(self, config: HttpJsonConfig, retry: RetryPolicy | None = None):
        self.config = config
        self.name = config.name
        self.max_chunk = 1 if config.per_unit else config.chunk_size  # units per fetch
        retry = retry or RetryPolicy(attempts=config.retry_attempts)
        self.transport = HttpTransport(timeout_s=config.timeout_s, connect_timeout_s=config.connect_timeout_s,
                                       headers=_auth_headers(config), retry=retry,
                                       max_connections=config.max_connections)

    def __repr__(self) -> str:
        return f"HttpJsonSource(name={self.name!r}, url={self.config.url!r})"

    def fetch(self, request: FetchRequest) -> list[Any]:
        """Every page of every request needed for the units and days asked for."""
        pages: list[Any] = []
        for url, params in self._requests(request):
            pages.extend(self._pages(url, params))
        return pages

    def parse(self, payload: list[Any], request: FetchRequest) -> Batch:
        """Records of every page -> canonical fact rows (validation happens later, in one place)."""
        records, rejected = [], []
        for page in payload:
            found = _dig(page, self.config.records_path)
            if not isinstance(found, list):
                raise FatalError(f"{self.name}: no list of records at {self.config.records_path!r} in the response; "
                                 "check records_path")
            for record in found:
                (records if isinstance(record, dict) else rejected).append(record)
        rejected = [Rejected("record is not a JSON object", r) for r in rejected]
        return Batch(self._frame(records), rejected)

    def close(self) -> None:
        """Release pooled connections."""
        self.transport.close()

    def _requests(self, request: FetchRequest):
        days = _days(request) if self.config.per_day else [None]
        units = request.unit_codes if self.config.per_unit else [None]
        for day in days:
            for unit in units:
                values = {"first_day": request.first_day.isoformat(), "last_day": request.last_day.isoformat(),
                          "day": day.isoformat() if day else "", "unit_code": unit or "",
                          "unit_codes": ",".join(request.unit_codes)}
                url = self.config.url.format(**values)
                yield url, {k: v.format(**values) for k, v in self.config.params.items()}

    def _pages(self, url: str, params: dict[str, str]):
        page_number = 1
        for _ in range(MAX_PAGES):
            query = dict(params)
            if self.config.page_param:
                query[self.config.page_param] = str(page_number)
                if self.config.page_size_param:
                    query[self.config.page_size_param] = str(self.config.page_size)
            body = self.transport.get_json(url, query)
            yield body
            next_url = _dig(body, self.config.next_path) if self.config.next_path else None
            if next_url:
                url, params = urljoin(url, str(next_url)), {}
            elif self.config.page_param and len(_dig(body, self.config.records_path) or []) >= self.config.page_size:
                page_number += 1
            else:
                return
        raise FatalError(f"{self.name}: more than {MAX_PAGES} pages; check the pagination settings")

    def _frame(self, records: list[dict]) -> pd.DataFrame:
        if not records:
            return pd.DataFrame(columns=list(FACT_COLUMNS))
        frame = pd.DataFrame.from_records(records)
        self._check_mapping(frame.columns)
        frame = frame.rename(columns=self.config.field_map)
        frame = frame.loc[:, ~frame.columns.duplicated()]
        frame["source"] = self.name
        frame[RAW_COLUMN] = pd.Series(records, dtype=object, index=frame.index)
        return frame.reindex(columns=list(FACT_COLUMNS) + [RAW_COLUMN])

    def _check_mapping(self, remote: pd.Index) -> None:
        """Schema drift is fatal: a mapped or required field absent from every record."""
        present = set(remote)
        missing = [r for r in self.config.field_map if r not in present]
        reachable = present | {self.config.field_map.get(r, r) for r in present}
        missing += [c for c in REQUIRED_CANONICAL if c not in reachable and c not in self.config.field_map.values()]
        if missing:
            raise FatalError(f"{self.name}: field mapping refers to fields the API does not send: {missing}; "
                             f"fields received: {sorted(present)}. Update field_map.")


def _auth_headers(config: HttpJsonConfig) -> dict[str, str]:
    if config.auth == "bearer":
        return {"Authorization": f"Bearer {config.secret.get_secret_value()}"}
    if config.auth == "header":
        return {config.auth_header: config.secret.get_secret_value()}
    return {}


def _dig(body: Any, path: str | None) -> Any:
    if not path:
        return body
    for part in path.split("."):
        if not isinstance(body, dict):
            return None
        body = body.get(part)
    return body


def _days(request: FetchRequest) -> list[dt.date]:
    count = (request.last_day - request.first_day).days + 1
    return [request.first_day + dt.timedelta(days=i) for i in range(max(count, 0))]
