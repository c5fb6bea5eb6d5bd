"""Reference feed server: the simulator served over HTTP on 127.0.0.1, with latency and faults.

It is what a province's system would implement (see openapi.py), and what the demo, the tests
and the benchmark collect from, so the real HTTP path is exercised. Complete days are cached as
encoded JSON; today's partial figures are computed per request from the server's clock.

Faults are injected per unit (a queue consumed one request at a time) or at random with a seeded
rate: timeout (hold the request), drop (close without answering), 500, 503, 429 (Retry-After),
malformed (invalid JSON), truncated (body cut short), slow:<ms>.
"""
from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import orjson

from collectors.feed_server.openapi import openapi_document
from collectors.sources.simulator import SimulatorSource
from config.facts import FACT_COLUMNS
from geo import registry

FAULTS = ("timeout", "drop", "500", "503", "429", "malformed", "truncated")
MAX_RANGE_DAYS = 1000
DEFAULT_PAGE_SIZE = 100_000
RECORD_COLUMNS = [c for c in FACT_COLUMNS if c != "source"]


@dataclass
class FeedConfig:
    """How the feed server behaves."""
    seed: int = 2025
    history_start: dt.date = dt.date(2025, 7, 1)
    province_code: str | None = None            # units listed when a request names none; None = all
    latency_ms: float = 0.0
    token: str | None = None                    # require "Authorization: Bearer <token>"
    faults: dict[str, list[str]] = field(default_factory=dict)  # unit code (or "*") -> queued faults
    fail_rate: float = 0.0                      # random faults (from `random_faults`) per request
    random_faults: tuple[str, ...] = ("503",)
    fault_seed: int = 0
    hang_s: float = 30.0                        # how long "timeout" holds a request
    retry_after_s: int = 1
    clock: Callable[[], dt.datetime] = dt.datetime.now


class FeedData:
    """Simulated facts as encoded JSON records, cached per (unit, complete day)."""

    def __init__(self, config: FeedConfig):
        self.config = config
        self.simulator = SimulatorSource(config.seed, config.history_start)
        self.known = set(registry.all_units().code)
        self._cache: dict[tuple[str, dt.date], list[bytes]] = {}
        self._lock = threading.Lock()

    def default_units(self) -> list[str]:
        """Units served when a request names none."""
        units = registry.all_units() if self.config.province_code is None else registry.units(self.config.province_code)
        return list(units.code)

    def records(self, code: str, first: dt.date, last: dt.date, now: dt.datetime) -> list[bytes]:
        """Encoded records of one unit for [first, last], nothing after now."""
        last = min(last, now.date())
        days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
        complete = [d for d in days if d < now.date()]
        if any((code, d) not in self._cache for d in complete):
            self._fill(code, complete[0], complete[-1], now)
        out = [r for d in complete for r in self._cache.get((code, d), [])]
        if days and days[-1] == now.date():
            out += _encode(self.simulator.unit_facts(code, now.date(), now.date(), now))[now.date()]
        return out

    def warm(self, codes: list[str], first: dt.date, last: dt.date, now: dt.datetime) -> None:
        """Compute and cache complete days ahead of requests (a province's data is at rest)."""
        for code in codes:
            self._fill(code, first, min(last, now.date() - dt.timedelta(days=1)), now)

    def _fill(self, code: str, first: dt.date, last: dt.date, now: dt.datetime) -> None:
        if first > last:
            return
        encoded = _encode(self.simulator.unit_facts(code, first, last, now))
        with self._lock:
            for i in range((last - first).days + 1):
                day = first + dt.timedelta(days=i)
                self._cache[(code, day)] = encoded.get(day, [])


def _encode(frame) -> dict[dt.date, list[bytes]]:
    """Records grouped by day, each encoded once as compact JSON."""
    frame = frame[RECORD_COLUMNS].copy()
    days = frame["day"].tolist()
    frame["day"] = [d.isoformat() for d in days]
    out: dict[dt.date, list[bytes]] = {}
    for day, record in zip(days, frame.to_dict("records")):
        out.setdefault(day, []).append(orjson.dumps(record))
    return out


class FaultPlan:
    """Decides, per request, which fault (if any) to inject."""

    def __init__(self, config: FeedConfig):
        self.config = config
        self.queues = {code: deque(faults) for code, faults in config.faults.items()}
        self.random = random.Random(config.fault_seed)
        self.lock = threading.Lock()

    def next_fault(self, codes: list[str]) -> str | None:
        """The fault for a request touching `codes`: a queued one first, else a random draw."""
        with self.lock:
            for code in [*codes, "*"]:
                queue = self.queues.get(code)
                if queue:
                    return queue.popleft()
            if self.config.fail_rate and self.random.random() < self.config.fail_rate:
                return self.random.choice(self.config.random_faults)
        return None


class BadRequest(Exception):
    """A request the feed cannot answer; the message goes back to the caller."""


class FeedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "FeedHTTPServer"

    def log_message(self, *args) -> None:  # the feed is quiet; the collector logs what matters
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        feed = self.server.feed
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/openapi.json":
            return self._send(200, json.dumps(openapi_document(), ensure_ascii=False).encode())
        if parts.path == "/healthz":
            return self._send(200, json.dumps({"status": "ok", "warm": feed.warm_done.is_set()}).encode())
        if feed.config.token and self.headers.get("Authorization") != f"Bearer {feed.config.token}":
            return self._send(401, b'{"error":"missing or wrong bearer token"}')
        try:
            codes = self._units(parts.path, query)
            fault = feed.faults.next_fault(codes)
            if fault and self._inject(fault):
                return None
            body = self._page(parts.path, query, codes)
        except BadRequest as err:
            return self._send(400, json.dumps({"error": str(err)}, ensure_ascii=False).encode())
        if feed.config.latency_ms:
            time.sleep(feed.config.latency_ms / 1000)
        return self._send(200, body)

    def _units(self, path: str, query: dict[str, str]) -> list[str]:
        segments = path.strip("/").split("/")
        if segments[:2] == ["v1", "units"] and len(segments) == 4 and segments[3] == "daily-facts":
            return [segments[2]]
        if path.rstrip("/") != "/v1/daily-facts":
            raise BadRequest(f"unknown path {path}; see /openapi.json")
        return [c for c in query.get("units", "").split(",") if c] or self.server.feed.data.default_units()

    def _page(self, path: str, query: dict[str, str], codes: list[str]) -> bytes:
        feed = self.server.feed
        first, last = _date(query, "from"), _date(query, "to")
        if last < first or (last - first).days > MAX_RANGE_DAYS:
            raise BadRequest(f"from..to must be a range of at most {MAX_RANGE_DAYS} days")
        page, size = _int(query, "page", 1), _int(query, "page_size", DEFAULT_PAGE_SIZE)
        now = feed.config.clock()
        unknown = [c for c in codes if c not in feed.data.known]
        records = [r for c in codes if c in feed.data.known for r in feed.data.records(c, first, last, now)]
        chunk = records[(page - 1) * size: page * size]
        next_link = None
        if page * size < len(records):
            next_link = f"{path}?{urlencode({**query, 'page': page + 1, 'page_size': size})}"
        tail = json.dumps({"next": next_link, "unknown_units": unknown}).encode()
        return b'{"items":[' + b",".join(chunk) + b"]," + tail[1:]

    def _inject(self, fault: str) -> bool:
        """Carry out a fault; True when the request is finished with."""
        config = self.server.feed.config
        if fault.startswith("slow:"):
            time.sleep(float(fault[5:]) / 1000)
            return False
        if fault == "timeout":
            time.sleep(config.hang_s)
            self.close_connection = True
            return True
        if fault == "drop":
            self.close_connection = True
            return True
        if fault in ("500", "503"):
            self._send(int(fault), b'{"error":"injected fault"}')
        elif fault == "429":
            self._send(429, b'{"error":"slow down"}', {"Retry-After": str(config.retry_after_s)})
        elif fault == "malformed":
            self._send(200, b'{"items": [{"unit_code": "26734", "day": ')
        elif fault == "truncated":
            self._send(200, b'{"items": [', declared_length=4096)
            self.close_connection = True
        else:
            raise BadRequest(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}, slow:<ms>")
        return True

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None,
              declared_length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(declared_length or len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _date(query: dict[str, str], name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(query[name])
    except (KeyError, ValueError):
        raise BadRequest(f"parameter {name!r} must be a date YYYY-MM-DD") from None


def _int(query: dict[str, str], name: str, default: int) -> int:
    try:
        value = int(query.get(name, default))
    except ValueError:
        raise BadRequest(f"parameter {name!r} must be a whole number") from None
    if value < 1:
        raise BadRequest(f"parameter {name!r} must be >= 1")
    return value


class FeedHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


class FeedServer:
    """The feed on 127.0.0.1 in a background thread: `with FeedServer(config) as feed: feed.url`."""

    def __init__(self, config: FeedConfig | None = None, host: str = "127.0.0.1", port: int = 0):
        self.config = config or FeedConfig()
        self.data = FeedData(self.config)
        self.faults = FaultPlan(self.config)
        self.warm_done = threading.Event()
        self.httpd = FeedHTTPServer((host, port), FeedHandler)
        self.httpd.feed = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self, warm: tuple[list[str], dt.date, dt.date] | None = None) -> "FeedServer":
        """Serve in a daemon thread; optionally warm a range of days in another one first."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="feed-server", daemon=True)
        self._thread.start()
        if warm:
            threading.Thread(target=self._warm, args=warm, name="feed-warm", daemon=True).start()
        else:
            self.warm_done.set()
        return self

    def _warm(self, codes: list[str], first: dt.date, last: dt.date) -> None:
        self.data.warm(codes, first, last, self.config.clock())
        self.warm_done.set()

    def stop(self) -> None:
        """Stop serving and release the port."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "FeedServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
