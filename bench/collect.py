"""Benchmark: one collection cycle of N communes over HTTP from the reference feed server, then bulk ingest.

    python -m bench.collect --communes 3321 --latency-ms 50            # PostgreSQL (IOC_BENCH_DATABASE_URL)
    python -m bench.collect --communes 3321 --latency-ms 50 --sqlite   # SQLite file in a temp dir

The feed server runs in its own process (a province's system), precomputes the day collected (its
data is at rest) and adds the latency to every answer. Wall time and this process's CPU time cover
the cycle only: HTTP, parsing, validation and the store writes. The last line is
`collect communes=N wall_s=<s> cpu_ms_per_commune=<ms> rows_per_s=<bulk ingest rows/s>`.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from sqlalchemy import text

from collectors.cycle import run_collection
from collectors.sources.feed import feed_source
from geo import registry
from store import writers
from store.db import create_store_engine, migrate

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def start_feed(latency_ms: float, day: dt.date) -> tuple[subprocess.Popen, str]:
    """The feed server in its own process, warmed for `day`; returns (process, base URL)."""
    process = subprocess.Popen([sys.executable, "-m", "collectors.feed_server", "--port", "0", "--latency-ms",
                                str(latency_ms), "--warm-day", day.isoformat()], cwd=ROOT, stdout=subprocess.PIPE,
                               text=True)
    url = process.stdout.readline().split(" on ")[1].split(" ")[0]
    while not httpx.get(f"{url}/healthz").json()["warm"]:
        time.sleep(0.5)
    return process, url


def open_engine(sqlite: bool):
    """A migrated, empty store: a temp SQLite file or a fresh PostgreSQL schema."""
    if sqlite:
        engine = create_store_engine(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
        migrate(engine)
        return engine, lambda: None
    url = os.environ.get("IOC_BENCH_DATABASE_URL", DEFAULT_PG)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_store_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_store_engine(url, schema=schema)
    migrate(engine)

    def drop() -> None:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    return engine, drop


def bulk_ingest(engine, rows: int) -> float:
    """Rows per second of writers.upsert_facts on `rows` synthetic fact rows (fresh keys)."""
    codes = registry.all_units().query("level == 'xa'").code.to_numpy()
    days = pd.date_range("2025-07-01", periods=rows // (len(codes) * 8) + 1).date
    index = np.arange(rows)
    frame = pd.DataFrame({"unit_code": codes[index % len(codes)], "day": days[index // (len(codes) * 8)],
                          "field": np.array(["ho_tich", "chung_thuc", "dat_dai", "dang_ky_kinh_doanh",
                                             "bao_tro_xa_hoi", "xay_dung", "nguoi_co_cong", "khac"])
                          [(index // len(codes)) % 8], "source": "bench"})
    for column in writers.FACT_COLUMNS[4:]:
        frame[column] = index % 17
    started = time.perf_counter()
    written = writers.upsert_facts(engine, frame, dt.datetime.now())
    return written / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--communes", type=int, default=3321)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--chunk", type=int, default=200, help="communes per request")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--ingest-rows", type=int, default=500_000)
    args = parser.parse_args(argv)
    now = dt.datetime.now()
    day = now.date() - dt.timedelta(days=1)
    codes = list(registry.all_units().query("level == 'xa'").code)[: args.communes]
    feed, url = start_feed(args.latency_ms, day)
    engine, cleanup = open_engine(args.sqlite)
    try:
        source = feed_source(url, chunk_size=args.chunk)
        wall, cpu = time.perf_counter(), time.process_time()
        summary = run_collection(engine, source, codes, day, day, now, chunk_size=args.chunk,
                                 concurrency=args.concurrency, deadline_s=60)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"cycle: {summary.status}, {summary.units_ok} units ok, {summary.rows_written:,} fact rows, "
              f"{summary.rows_quarantined} quarantined, {summary.rows_written / wall:,.0f} rows/s end to end "
              f"({engine.dialect.name})")
        rate = bulk_ingest(engine, args.ingest_rows)
        print(f"bulk ingest: {args.ingest_rows:,} rows at {rate:,.0f} rows/s ({engine.dialect.name})")
        print(f"collect communes={len(codes)} wall_s={wall:.2f} cpu_ms_per_commune={cpu * 1000 / len(codes):.2f} "
              f"rows_per_s={rate:.0f}")
    finally:
        feed.terminate()
        feed.wait()
        cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
