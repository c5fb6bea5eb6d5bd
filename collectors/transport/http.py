"""HTTP for sources: the one place where statuses and network failures become error families.

Retriable failures (timeout, connection reset, 429, 5xx, truncated body) are retried a bounded
number of times with exponential backoff and full jitter, honouring Retry-After; the next
scheduled run is the outer retry. `sleep` and `jitter` are injectable so tests pass time in.
Secrets travel in headers only and never appear in messages (URLs are shown without query).
"""
from __future__ import annotations

import email.utils
import datetime as dt
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import httpx
import orjson

from collectors.base import FatalError, RetriableError, SourceError

# httpx logs every request at INFO; a collector makes thousands a minute. Failures are logged by the
# coordinator, once per transition.
logging.getLogger("httpx").setLevel(logging.WARNING)

RETRIABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
FATAL_STATUS = frozenset({400, 401, 403, 404, 405, 410, 422})


class SourceUnavailable(RetriableError):
    """The whole endpoint cannot be reached (refused, DNS): splitting the request will not help."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: `attempts` tries in all, waits base*2^n capped, jittered, or the peer's Retry-After."""
    attempts: int = 3
    base_s: float = 0.5
    cap_s: float = 10.0
    max_retry_after_s: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    jitter: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before try number `attempt + 1` (attempt counts from 0)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after_s)
        return min(self.cap_s, self.base_s * 2 ** attempt) * self.jitter()


def with_retries(call: Callable[[], Any], policy: RetryPolicy) -> Any:
    """Run `call`, retrying RetriableError as the policy says; other errors pass straight through."""
    for attempt in range(policy.attempts):
        try:
            return call()
        except RetriableError as err:
            if attempt + 1 >= policy.attempts:
                raise
            policy.sleep(policy.delay(attempt, err.retry_after))
    raise AssertionError("unreachable")  # pragma: no cover


def shown_url(url: httpx.URL | str) -> str:
    """The URL without its query string: query parameters may carry keys."""
    url = httpx.URL(str(url))
    return str(url.copy_with(query=None))


def classify_status(response: httpx.Response) -> None:
    """Raise the error family for a non-2xx response; return quietly for 2xx."""
    status = response.status_code
    if 200 <= status < 300:
        return
    where = f"{response.request.method} {shown_url(response.request.url)}"
    if status in RETRIABLE_STATUS or status >= 500:
        raise RetriableError(f"HTTP {status} from {where}", retry_after=parse_retry_after(response.headers))
    if status in (401, 403):
        raise FatalError(f"HTTP {status} from {where}: the API key or token was refused; check the source's secret")
    raise FatalError(f"HTTP {status} from {where}: check the source's URL and parameters")


def parse_retry_after(headers: Mapping[str, str], now: dt.datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), or None."""
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or dt.datetime.now(dt.timezone.utc)
    return max(0.0, (when - now).total_seconds())


@dataclass
class HttpTransport:
    """A pooled HTTP client for one source: GET JSON with timeouts, classification and retries."""
    timeout_s: float = 10.0
    connect_timeout_s: float = 3.0
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_connections: int = 32
    _client: httpx.Client | None = field(default=None, init=False, repr=False)

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            timeout = httpx.Timeout(self.timeout_s, connect=self.connect_timeout_s)
            limits = httpx.Limits(max_connections=self.max_connections, max_keepalive_connections=self.max_connections)
            self._client = httpx.Client(timeout=timeout, headers=dict(self.headers), limits=limits, trust_env=False)
        return self._client

    def get_json(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET `url` and decode its JSON body, retrying retriable failures."""
        return with_retries(lambda: self._get_json_once(url, params), self.retry)

    def _get_json_once(self, url: str, params: Mapping[str, Any] | None) -> Any:
        where = shown_url(url)
        try:
            response = self.client.get(url, params=params)
        except httpx.TimeoutException as err:
            raise RetriableError(f"timed out after {self.timeout_s:g} s waiting for {where}") from err
        except httpx.ConnectError as err:
            raise SourceUnavailable(f"cannot connect to {where}: {_reason(err)}") from err
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as err:
            raise RetriableError(f"connection to {where} broke off: {_reason(err)}") from err
        except httpx.HTTPError as err:
            raise RetriableError(f"HTTP error talking to {where}: {_reason(err)}") from err
        classify_status(response)
        return decode_json(response.content, where)

    def close(self) -> None:
        """Close pooled connections."""
        if self._client is not None:
            self._client.close()
            self._client = None


def decode_json(body: bytes, where: str) -> Any:
    """Parse a JSON body; a malformed one is retriable (often a body cut short by a proxy)."""
    try:
        return orjson.loads(body)
    except (orjson.JSONDecodeError, ValueError, UnicodeDecodeError) as err:
        raise RetriableError(f"response from {where} is not valid JSON ({err}); first bytes: {body[:80]!r}") from err


def _reason(err: Exception) -> str:
    return str(err) or type(err).__name__


__all__ = ["HttpTransport", "RetryPolicy", "SourceUnavailable", "SourceError", "classify_status",
           "decode_json", "parse_retry_after", "shown_url", "with_retries"]
