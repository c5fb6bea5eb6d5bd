"""Benchmark: a 1,000,000-row CSV export streams from gunicorn while the worker's memory stays flat.

    python -m bench.export_stream              # PostgreSQL (IOC_BENCH_DATABASE_URL), fresh schema
    python -m bench.export_stream --sqlite     # temporary SQLite file
    python -m bench.export_stream --format xlsx   # the same rows as XLSX (built in a spooled file, then sent)

The app serves one province, so the million rows are that province's: its 96 units (95 communes
and the province level) x 1,380 days x 8 procedure fields = 1,059,840 fact rows, generated with
numpy (bench.dashboard.fact_chunks' volumes) and written with COPY (executemany on SQLite). The
export is the real route, /export/download?by=day&format=csv over the whole range: one CSV row per
unit, field and day. gunicorn runs gunicorn.conf.py with one worker; this process is the client: it
signs in as an analyst, streams the download (counting rows, keeping none) and samples the worker's
RSS with psutil every 50 ms. "Flat" = the peak during the stream minus the RSS just before it,
against the size of the CSV.

Last line: `export rows=<n> mb=<csv MB> seconds=<s> baseline_rss_mb=<..> peak_rss_mb=<..> growth_mb=<..>`.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.load import (
    PASSWORD, PROVINCE, free_port, open_store_url, server_environ, start_gunicorn, stop_gunicorn, wait_ready,
    worker_pids,
)

DAYS = 1380
LAST_DAY = dt.date(2026, 6, 30)
SAMPLE_S = 0.05


def fill(engine, days: int) -> int:
    """Units of the province and days x 8 fields of facts for each; return the fact rows written."""
    from bench import dashboard
    from geo import registry
    from store import writers

    units = registry.units(PROVINCE)
    writers.upsert_units(engine, registry.all_units())
    dashboard.DAYS, dashboard.LAST_DAY = days, LAST_DAY  # fact_chunks reads these module constants
    rows, started = 0, time.perf_counter()
    for frame in dashboard.fact_chunks(list(units["code"])):
        frame["collected_at"] = dt.datetime(2026, 7, 1, 9, 0)
        rows += _write(engine, frame)
        print(f"  {rows:,} fact rows ({time.perf_counter() - started:.0f} s)", flush=True)
    now = dt.datetime(2026, 7, 1, 9, 0)
    run = writers.start_run(engine, "bench", "manual", now - dt.timedelta(minutes=5), LAST_DAY, LAST_DAY)
    writers.finish_run(engine, run, now, len(units), {}, rows)
    return rows


def _write(engine, frame: pd.DataFrame) -> int:
    from store.writers import FACT_WRITE_COLUMNS

    columns = list(FACT_WRITE_COLUMNS)
    frame = frame[columns]
    if engine.dialect.name == "postgresql":
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, header=False)
        with engine.begin() as connection:
            cursor = connection.connection.cursor()
            with cursor.copy(f"COPY dossier_facts ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(buffer.getvalue())
        return len(frame)
    frame = frame.copy()
    frame["day"] = pd.to_datetime(frame["day"]).dt.strftime("%Y-%m-%d")
    frame["collected_at"] = pd.to_datetime(frame["collected_at"]).dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    values = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"INSERT INTO dossier_facts ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", list(values))
    return len(frame)


class RssSampler:
    """Sample a process's resident set size in a thread until stopped."""

    def __init__(self, pid: int, every_s: float = SAMPLE_S):
        import psutil

        self.process = psutil.Process(pid)
        self.every_s = every_s
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        started = time.perf_counter()
        while not self._stop.is_set():
            self.samples.append((time.perf_counter() - started, self.process.memory_info().rss))
            self._stop.wait(self.every_s)

    @property
    def peak_mb(self) -> float:
        return max(rss for _, rss in self.samples) / 2**20


def stream_export(base: str, start: dt.date, end: dt.date, username: str,
                  fmt: str = "csv") -> tuple[int, int, float, list]:
    """Sign in, stream the export; return (data rows (CSV: counted; XLSX: -1), bytes, seconds, [(seconds, rows|bytes)])."""
    import httpx

    from bench.load import Stats, sign_in

    async def run():
        async with httpx.AsyncClient(base_url=base, timeout=600, headers={"Origin": base}) as client:
            if not await sign_in(client, Stats(), username):
                raise RuntimeError(f"sign-in as {username} failed")
            rows, size, progress, started = -1, 0, [], time.perf_counter()
            params = {"from": start.isoformat(), "to": end.isoformat(), "by": "day", "format": fmt}
            async with client.stream("GET", "/export/download", params=params) as response:
                if response.status_code != 200:
                    raise RuntimeError(f"export answered HTTP {response.status_code}: {(await response.aread())[:300]}")
                async for piece in response.aiter_bytes():
                    rows += piece.count(b"\n") if fmt == "csv" else 0
                    size += len(piece)
                    progress.append((time.perf_counter() - started, rows if fmt == "csv" else size))
            if fmt != "csv":
                rows = -1
            return rows, size, time.perf_counter() - started, progress
    import asyncio

    return asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--days", type=int, default=DAYS)
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    args = parser.parse_args(argv)
    from access.users import add_user
    from store.db import create_store_engine, migrate

    work = Path(tempfile.mkdtemp(prefix="ioc-export-"))
    url, cleanup = open_store_url(args.sqlite, work)
    process = None
    try:
        engine = create_store_engine(url)
        migrate(engine)
        started = time.perf_counter()
        rows = fill(engine, args.days)
        print(f"fill: {rows:,} fact rows in {time.perf_counter() - started:.0f} s ({engine.dialect.name})", flush=True)
        add_user(engine, dt.datetime.now(), PROVINCE, "analyst01", "analyst", password=PASSWORD, actor="bench")
        engine.dispose()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        process = start_gunicorn(server_environ(url, work, port), 1, work / "gunicorn.log")
        wait_ready(base, process, 1)
        worker = worker_pids(process.pid)[0]
        first = LAST_DAY - dt.timedelta(days=args.days - 1)
        load_before = os.getloadavg()[0]
        with RssSampler(worker) as sampler:
            time.sleep(1.0)
            baseline = sampler.samples[-1][1] / 2**20
            data_rows, size, seconds, progress = stream_export(base, first, LAST_DAY, "analyst01", args.format)
            time.sleep(0.5)
        _print_curve(sampler, progress, data_rows if data_rows >= 0 else size)
        data_rows = rows if data_rows < 0 else data_rows   # XLSX: one row per fact row, as the CSV shows
        peak = sampler.peak_mb
        print(f"load average (1 min) before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f}")
        print(f"export: {data_rows:,} {args.format.upper()} rows, {size / 2**20:.0f} MB in {seconds:.1f} s "
              f"({data_rows / seconds:,.0f} rows/s); worker RSS before {baseline:.0f} MB, peak {peak:.0f} MB")
        print(f"export format={args.format} rows={data_rows} mb={size / 2**20:.0f} seconds={seconds:.1f} baseline_rss_mb={baseline:.0f} "
              f"peak_rss_mb={peak:.0f} growth_mb={peak - baseline:.0f}")
        return 0
    finally:
        if process is not None:
            stop_gunicorn(process)
        cleanup()
        shutil.rmtree(work, ignore_errors=True)


def _print_curve(sampler: RssSampler, progress: list, total: int) -> None:
    """Worker RSS at each tenth of the stream: flat memory shows as a flat column."""
    if not progress or not sampler.samples:
        return
    times = np.array([t for t, _ in sampler.samples])
    rss = np.array([r for _, r in sampler.samples]) / 2**20
    offset = sampler.samples[-1][0] - (progress[-1][0] + 0.5)  # the sampler started before the request
    for share in np.linspace(0.1, 1.0, 10):
        moment = next(t for t, rows in progress if rows >= share * total)
        index = min(int(np.searchsorted(times, moment + offset)), len(rss) - 1)
        print(f"  {share:4.0%} of rows after {moment:6.1f} s: worker RSS {rss[index]:6.0f} MB")


if __name__ == "__main__":
    sys.exit(main())
