"""Shared test helpers: a fixed clock, a scripted HTTP server on 127.0.0.1:0, store snapshots."""
from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import pandas as pd
from sqlalchemy import select

from store.schema import dossier_facts

NOW = dt.datetime(2026, 3, 10, 12, 0)
DAY = dt.date(2026, 3, 9)
UNITS = ("25195", "25210", "25217")   # three communes of Đồng Nai


class Sleeps(list):
    """An injectable sleep that records instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class StubServer:
    """Answers each GET with `route(path) -> (status, headers, body)`; counts hits per path."""

    def __init__(self, route: Callable[[str], tuple[int, dict, bytes]]):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                stub.paths.append(self.path)
                stub.headers.append(dict(self.headers))
                status, headers, body = route(self.path)
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        self.paths: list[str] = []
        self.headers: list[dict] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def json_reply(body, status: int = 200, headers: dict | None = None) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode()


def record(unit: str = "25195", day: str = "2026-03-09", field: str = "ho_tich", **counts) -> dict:
    """A consistent daily record; override any count."""
    base = dict(unit_code=unit, day=day, field=field, received_online=8, received_direct=2, resolved_early=5,
                resolved_on_time=2, resolved_late=1, pending_on_time=6, pending_overdue=1, nearly_due=2)
    return {**base, **counts}


def facts_snapshot(engine) -> pd.DataFrame:
    """Every fact row without collection times, sorted: what 'the store is identical' compares."""
    with engine.connect() as connection:
        frame = pd.DataFrame(connection.execute(select(dossier_facts)).mappings().all())
    if frame.empty:
        return frame
    frame = frame.drop(columns=["collected_at"])
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame.sort_values(["unit_code", "day", "field", "source"]).reset_index(drop=True)
