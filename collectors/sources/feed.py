"""The reference feed (collectors/feed_server) as an HTTP JSON source: a declaration, nothing more."""
from __future__ import annotations

import datetime as dt

from collectors.sources.http_json import HttpJsonConfig, HttpJsonSource, make_config
from collectors.transport.http import RetryPolicy

FEED_NAME = "simulator"   # facts keep the simulator's source name whether served in-process or over HTTP


def feed_config(base_url: str, name: str = FEED_NAME, per_unit: bool = False, chunk_size: int = 200,
                token: str | None = None, timeout_s: float = 10.0, retry_attempts: int = 3) -> HttpJsonConfig:
    """Declaration of the feed: bulk endpoint (or the per-unit one), link pagination, optional bearer token."""
    path = "/v1/units/{unit_code}/daily-facts" if per_unit else "/v1/daily-facts"
    params = {"from": "{first_day}", "to": "{last_day}"} | ({} if per_unit else {"units": "{unit_codes}"})
    auth = {"auth": "bearer", "secret": token} if token else {}
    return make_config(name=name, url=base_url.rstrip("/") + path, params=params, records_path="items",
                       next_path="next", chunk_size=chunk_size, timeout_s=timeout_s,
                       retry_attempts=retry_attempts, **auth)


def feed_source(base_url: str, retry: RetryPolicy | None = None, **options) -> HttpJsonSource:
    """An HttpJsonSource reading the reference feed at `base_url`."""
    return HttpJsonSource(feed_config(base_url, **options), retry=retry)


def start_embedded_feed(seed: int, history_start: dt.date, province_code: str | None = None):
    """The feed server on 127.0.0.1:<free port> in a background thread (the embedded demo's commune systems)."""
    from collectors.feed_server import FeedConfig, FeedServer

    return FeedServer(FeedConfig(seed=seed, history_start=history_start, province_code=province_code)).start()
