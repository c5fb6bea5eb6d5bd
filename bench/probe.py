"""Benchmark: one probe round over 3,321 communes x 5 targets against local servers with fixed latency.

    python -m bench.probe --targets 16605 --latency-ms 50

The simulated endpoints run in a separate process (asyncio, one request per connection, `latency`
before answering), so the probing side's CPU is measured alone. After the round the results are
written to a temporary SQLite store to measure bytes per stored attempt and per rollup row, and
storage per day at national scale is extrapolated. The last line is machine-readable.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from collectors.base_probe import Target
from collectors.health.loopback import LoopbackServer, Reply
from collectors.health.scheduler import probe_targets, result_row
from collectors.health.targets import build_recipes
from config.health import load_health_config

KINDS = ("mot_cua_xa", "cong_ttdt_xa", "tthc_xa", "qlvb_xa", "hop_xa")
NATIONAL_TARGETS = 3321 * 5


class _Latency:
    """Answer every request after a fixed delay (picklable for the server process)."""

    def __init__(self, delay_s: float) -> None:
        self.reply = Reply(body=b'{"status": "ok"}', delay_s=delay_s, content_type="application/json")

    def __call__(self, path: str) -> Reply:
        return self.reply


def _serve(delay_s: float, connection) -> None:
    with LoopbackServer(_Latency(delay_s)) as server:
        connection.send(server.port)
        connection.recv()  # block until told to stop
        connection.send(time.process_time())


def make_targets(count: int, port: int) -> list[Target]:
    """`count` commune targets (5 kinds per commune of the official registry) on the local server."""
    from geo.registry import communes
    codes = communes()["code"].tolist()
    targets = [Target(key=f"{kind}:{code}", system=kind, name=kind, unit_code=code,
                      url=f"http://127.0.0.1:{port}/xa/{code}/{kind}")
               for code in codes for kind in KINDS]
    if count > len(targets):
        raise SystemExit(f"--targets {count} exceeds the {len(targets)} targets of {len(codes)} communes x 5")
    return targets[:count]


def storage_per_attempt(rows: list[dict]) -> tuple[float, float]:
    """Bytes per stored attempt and per hourly rollup row, measured on a temporary SQLite store."""
    from store.db import create_store_engine, migrate
    from store.health_writers import record_results, rollup_hours, sync_targets
    import store.health_schema  # noqa: F401  (registers the health tables)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        engine = create_store_engine(f"sqlite:///{path}")
        migrate(engine)
        ids = sync_targets(engine, [dict(key=f"t{i}", system="s", name="t", url="http://x/", recipe="http_2xx",
                                         interval_s=60) for i in range(len(rows))])
        base = _size(engine, path)
        at = dt.datetime(2026, 1, 1, 10)
        for minute in range(3):  # three rounds so indexes reach their steady shape
            record_results(engine, [{**r, "target_id": ids[f"t{i}"], "at": at + dt.timedelta(minutes=minute)}
                                    for i, r in enumerate(rows)])
        raw_size = _size(engine, path)
        rollup_hours(engine, at, at + dt.timedelta(hours=1))
        rollup_size = _size(engine, path)
        engine.dispose()
    return (raw_size - base) / (3 * len(rows)), (rollup_size - raw_size) / len(rows)


def _size(engine, path: Path) -> int:
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return os.path.getsize(path)


def main() -> None:
    """Run one round and print the figures; the last line is machine-readable."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", type=int, default=NATIONAL_TARGETS)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=1000)
    parser.add_argument("--no-storage", action="store_true", help="skip the storage measurement")
    args = parser.parse_args()

    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(args.latency_ms / 1000, child), daemon=True)
    server.start()
    try:
        port = parent.recv()
        targets = make_targets(args.targets, port)
        recipes = build_recipes(load_health_config())
        cpu, wall = time.process_time(), time.perf_counter()
        results = asyncio.run(probe_targets(targets, recipes, args.concurrency))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        parent.send("stop")
        server_cpu = parent.recv() if parent.poll(10) else float("nan")
        server.join(10)
    outcomes = Counter(r.failure_reason or "ok" for r in results)
    latencies = sorted(r.duration_s * 1000 for r in results)
    print(f"outcomes: {dict(outcomes)}; server process CPU {server_cpu:.2f} s")
    print(f"latency ms: p50={latencies[len(latencies) // 2]:.1f} p95={latencies[int(len(latencies) * 0.95)]:.1f} "
          f"max={latencies[-1]:.1f} (concurrency {args.concurrency})")
    if not args.no_storage:
        rows = [result_row(0, dt.datetime(2026, 1, 1), r) for r in results]
        raw_bytes, rollup_bytes = storage_per_attempt(rows)
        per_day_raw = NATIONAL_TARGETS * 1440 * raw_bytes
        per_day_rollup = NATIONAL_TARGETS * 24 * rollup_bytes
        print(f"storage (SQLite): {raw_bytes:.0f} B per attempt, {rollup_bytes:.0f} B per hourly rollup row")
        print(f"national scale ({NATIONAL_TARGETS} targets, 60 s interval): raw {per_day_raw / 1e9:.2f} GB/day "
              f"(x14 days = {14 * per_day_raw / 1e9:.1f} GB), rollups {per_day_rollup / 1e6:.0f} MB/day "
              f"(x730 days = {730 * per_day_rollup / 1e9:.1f} GB)")
    print(f"probe targets={len(targets)} wall_s={wall:.2f} cpu_ms_per_probe={cpu * 1000 / len(targets):.3f}")


if __name__ == "__main__":
    main()
