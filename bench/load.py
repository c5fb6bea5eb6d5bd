"""Load test: 50 signed-in users browsing the rooms on gunicorn for 60 s, from a second process on 127.0.0.1.

    python -m bench.load                       # PostgreSQL (IOC_BENCH_DATABASE_URL), fresh schema, 3 workers,
                                               # loader cache shared in Redis (IOC_BENCH_REDIS_URL), as in production
    python -m bench.load --sqlite --cache local   # SQLite file; one loader cache per worker

The store is one province (75) filled by the app's own wiring: app.open_store, then the collector
coordinator over the simulator for the last --days days. Accounts are real (access.users, argon2):
leaders, analysts and commune chairs with known passwords; each user signs in through /login
with its CSRF token, then browses as the browser does: the first visit loads the page, Dash's
layout and dependencies and the map geometry; every later step navigates inside the app (the
page router and header callbacks, then the room's data callbacks, up to 6 in flight like a
browser) or changes the period of the room it is on. The callback bodies are the ones the
renderer sends: built from app.callback_map and each room's layout (bench.dashboard helpers), on
an in-process copy of the app over the same store. Users think 5-15 s between steps (--think) and
sign in over the first 10 s. gunicorn runs gunicorn.conf.py (gthread, app preloaded) with --workers;
this process is the client. Each worker's cache warmer (dashboards.warm) warms the default views at
start; browsing starts once the log says so (with Redis one worker warms for all), as a wall screen
would find the server some time after a collection run. Sign-in (GET /login + POST /login, argon2)
happens during the ramp and is reported apart: the browsing window opens when every user has
signed in; every request of the browsing window counts: an error is an exception or an HTTP
status >= 400.

Last line: `load users=<n> errors=<n> p95_ms=<ms>`.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
PROVINCE = "75"
PASSWORD = "bench-Passw0rd-2025"
ROLE_MIX = (("leader", 25), ("analyst", 15), ("chair", 10))   # users per role out of 50, scaled to --users
ROOMS_BY_ROLE = {"leader": ("overview", "rankings", "commune", "systems", "export"),
                 "analyst": ("overview", "rankings", "commune", "export"),
                 "chair": ("overview", "rankings", "commune", "export")}
PATHS = {"overview": "/", "rankings": "/rankings", "commune": "/commune/{code}", "systems": "/systems",
         "export": "/export"}
ROUTER_INPUTS = {"_pages_location", "app-url"}
BROWSER_PARALLEL = 6
THINK_S = (5.0, 15.0)   # seconds a user reads a room before the next click (--think)
RAMP_S = 10.0   # users sign in over this long, before the measured browsing starts
KEEPALIVE_S = 4.0   # client-side idle connection expiry, below gunicorn.conf.py's keepalive = 5


# --- server ---------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def open_store_url(sqlite: bool, work: Path) -> tuple[str, callable]:
    """(URL the app and gunicorn use, cleanup): a SQLite file, or a fresh PostgreSQL schema named in the URL."""
    if sqlite:
        return f"sqlite:///{work / 'load.db'}", lambda: None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = os.environ.get("IOC_BENCH_DATABASE_URL", DEFAULT_PG)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    # libpq's options travel in the URL, so every gunicorn worker lands in the schema too.
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return url.render_as_string(hide_password=False), drop


def server_environ(url: str, data_dir: Path, port: int, redis_url: str = "", **extra: str) -> dict[str, str]:
    """The environment gunicorn gets: the app's settings as IOC_* variables, nothing else of ours."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    environ.update(IOC_DATABASE_URL=url, IOC_DATA_DIR=str(data_dir), IOC_PROVINCE_CODE=PROVINCE,
                   IOC_HOST="127.0.0.1", IOC_PORT=str(port), IOC_REDIS_URL=redis_url,
                   IOC_SECRET_KEY="bench-" + "k" * 40, **extra)
    return environ


def start_gunicorn(environ: dict[str, str], workers: int, log_path: Path) -> subprocess.Popen:
    """gunicorn app:server with the repository's gunicorn.conf.py, in its own process group."""
    log = open(log_path, "wb")
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--workers", str(workers),
               "--access-logfile", "/dev/null", "app:server"]
    return subprocess.Popen(command, cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def wait_ready(base: str, process: subprocess.Popen, workers: int, timeout_s: float = 180.0) -> None:
    """Wait until every worker has booted (its 'Booting worker' line) and the server answers /login."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}; see its log")
        try:
            if httpx.get(base + "/login", timeout=5).status_code == 200 and len(worker_pids(process.pid)) >= workers:
                time.sleep(2.0)  # the last worker to bind may still be building its app
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"gunicorn did not answer within {timeout_s:.0f} s")


def wait_warmed(log_path: Path, lines: int, timeout_s: float = 300.0) -> str:
    """Wait for the workers' "cache warmed" log lines (dashboards.warm); return the last one's tail."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        warmed = [line for line in log_path.read_text(errors="replace").splitlines() if "cache warmed" in line]
        if len(warmed) >= lines:
            return warmed[-1].split("cache warmed: ", 1)[-1]
        time.sleep(0.5)
    return f"no 'cache warmed' line after {timeout_s:.0f} s"


def worker_pids(master_pid: int) -> list[int]:
    """The worker processes of a gunicorn master."""
    import psutil

    try:
        return [child.pid for child in psutil.Process(master_pid).children()]
    except psutil.NoSuchProcess:
        return []


def stop_gunicorn(process: subprocess.Popen) -> None:
    """SIGTERM the master (graceful shutdown of its workers), then wait."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --- data and accounts ----------------------------------------------------------------------------

def fill(url: str, data_dir: Path, days: int, now: dt.datetime):
    """Migrate and fill the store with the app's wiring: units, then the simulator through the coordinator."""
    import app as ioc
    from config.settings import load_settings

    settings = load_settings(environ={}, database_url=url, data_dir=data_dir, province_code=PROVINCE,
                             history_start=now.date() - dt.timedelta(days=days - 1), auth_enabled=False)
    engine = ioc.open_store(settings)
    started = time.perf_counter()
    summaries = ioc.build_coordinator(settings, engine).run_once(now, trigger="backfill")
    rows = sum(s.rows_written for s in summaries)
    print(f"fill: {rows:,} fact rows ({days} days, province {PROVINCE}) in {time.perf_counter() - started:.1f} s "
          f"({engine.dialect.name})", flush=True)
    return settings, engine


def create_accounts(engine, now: dt.datetime, users: int) -> list[tuple[str, str, str | None]]:
    """(username, role, commune) for each simulated user; accounts are shared by a few users each, like offices."""
    from access.users import add_user
    from geo.registry import communes

    codes = sorted(communes(PROVINCE)["code"])
    people = []
    total = sum(n for _, n in ROLE_MIX)
    for role, share in ROLE_MIX:
        count = max(1, round(users * share / total))
        accounts = max(1, count // 2)  # two people per account: sessions of one account coexist
        for index in range(accounts):
            unit = codes[index % len(codes)] if role == "chair" else None
            name = f"{role}{index:02d}"
            add_user(engine, now, PROVINCE, name, role, unit_code=unit, password=PASSWORD, actor="bench")
        people += [(f"{role}{i % accounts:02d}", role, codes[(i % accounts) % len(codes)] if role == "chair" else None)
                   for i in range(count)]
    return people[:users]


# --- what the browser sends -------------------------------------------------------------------------

@dataclass
class RoomPlan:
    path: str
    callbacks: list[dict]                          # bodies on the layout's own values
    period_variants: list[list[dict]] = field(default_factory=list)   # the date callbacks on other periods


def build_plans(settings, engine, commune_codes: list[str], today: dt.date) -> tuple[dict, list[dict], str | None]:
    """Callback bodies per room (per commune for the commune room), the router/header bodies, the geometry URL."""
    from bench.dashboard import layout_values, payload, room_callbacks
    from dashboards import context
    from dashboards.app import create_app
    from geo.maps import build_map_geometry

    geometry = build_map_geometry(PROVINCE, settings.data_dir)
    app = create_app(settings, engine, geometry)
    periods = [(today - dt.timedelta(days=n - 1), today) for n in (7, 30, 90)]
    plans = {}
    for room, template in PATHS.items():
        for code in (commune_codes if room == "commune" else [None]):
            path = template.format(code=code)
            values = layout_values(app, room, path)
            callbacks = room_callbacks(app, room, values)
            dated = [c for c in callbacks if any(i["property"] in ("start_date", "end_date")
                                                 for i in c["inputs"] + c["state"])]
            plans[path] = RoomPlan(path, [_jsonable(payload(c, values, None)) for c in callbacks],
                                   [[_jsonable(payload(c, values, p)) for c in dated] for p in periods])
    return plans, router_callbacks(app), context.of(app.server).geojson_url


def router_callbacks(app) -> list[dict]:
    """The callbacks every navigation fires: page router and header, fed with pathname and search."""
    from bench.dashboard import _outputs

    chosen = []
    for key, spec in app.callback_map.items():
        inputs = spec["inputs"]
        if inputs and all(i["id"] in ROUTER_INPUTS and i["property"] in ("pathname", "search") for i in inputs) \
                and not spec.get("state"):
            outputs = _outputs(key)
            chosen.append({"output": key, "outputs": outputs if len(outputs) > 1 else outputs[0], "inputs": inputs,
                           "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"]})
    return chosen


def router_bodies(router: list[dict], path: str) -> list[dict]:
    """The router/header bodies for one path."""
    return [dict(c, inputs=[dict(i, value=path if i["property"] == "pathname" else "") for i in c["inputs"]])
            for c in router]


def _jsonable(body: dict) -> dict:
    return json.loads(json.dumps(body, default=str))


# --- the users ------------------------------------------------------------------------------------

@dataclass
class Stats:
    latencies: list[tuple[str, float]] = field(default_factory=list)
    started: list[float] = field(default_factory=list)     # time.monotonic() at each request's start
    errors: list[str] = field(default_factory=list)

    def add(self, kind: str, ms: float) -> None:
        self.latencies.append((kind, ms))
        self.started.append(time.monotonic() - ms / 1000)

    def after(self, moment: float) -> "Stats":
        """The requests that started at or after `moment` (time.monotonic())."""
        kept = [i for i, t in enumerate(self.started) if t >= moment]
        return Stats(latencies=[self.latencies[i] for i in kept], started=[self.started[i] for i in kept])


async def request(client, stats: Stats, kind: str, method: str, url: str, **kwargs):
    """One timed request; an exception or a status >= 400 is an error (and still timed)."""
    started = time.perf_counter()
    try:
        response = await client.request(method, url, **kwargs)
        await response.aread()
    except Exception as err:  # noqa: BLE001 - every failure is counted, whatever its kind
        stats.add(kind, (time.perf_counter() - started) * 1000)
        stats.errors.append(f"{kind}: {type(err).__name__}: {err}")
        return None
    stats.add(kind, (time.perf_counter() - started) * 1000)
    if response.status_code >= 400:
        stats.errors.append(f"{kind} {url}: HTTP {response.status_code} {response.text[:200]}")
    return response


async def sign_in(client, stats: Stats, username: str) -> bool:
    """GET the login form for its CSRF token, POST the credentials; True when the app let us in."""
    form = await request(client, stats, "login", "GET", "/login")
    if form is None or form.status_code != 200:
        return False
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    done = await request(client, stats, "login", "POST", "/login",
                         data={"csrf_token": token.group(1) if token else "", "username": username,
                               "password": PASSWORD, "next": "/"})
    return done is not None and done.status_code in (302, 303)


async def post_callbacks(client, stats: Stats, bodies: list[dict], kind: str) -> None:
    """POST callback bodies with at most BROWSER_PARALLEL in flight, as a browser does."""
    gate = asyncio.Semaphore(BROWSER_PARALLEL)

    async def one(body):
        async with gate:
            await request(client, stats, kind, "POST", "/_dash-update-component", json=body)
    await asyncio.gather(*(one(body) for body in bodies))


@dataclass
class Window:
    """The measured browsing window: it opens once every user has signed in (argon2 hashing of 50 sign-ins on
    two shared cores can outlast the ramp; it is measured apart), never before the ramp ends."""

    users: int
    duration_s: float
    earliest: float
    arrived: int = 0
    start_at: float = 0.0
    stop_at: float = 0.0
    opened: asyncio.Event = field(default_factory=asyncio.Event)

    def arrive(self) -> None:
        """A user is signed in (or gave up): the last one opens the window."""
        self.arrived += 1
        if self.arrived == self.users:
            self.start_at = max(self.earliest, time.monotonic() + 1.0)
            self.stop_at = self.start_at + self.duration_s
            self.opened.set()


async def user(index: int, person, base: str, plans: dict, router: list[dict], geojson: str | None,
               window: Window, stats: Stats, logins: Stats, seed: int,
               think: tuple[float, float] = THINK_S) -> None:
    """One user: sign in during the ramp, then once the window opens a full page load, navigations and period
    changes until it closes."""
    import httpx

    username, role, own_commune = person
    rng = random.Random(seed + index)
    await asyncio.sleep(rng.uniform(0, RAMP_S))
    # Idle connections are dropped before gunicorn's keepalive (5 s) closes them: reusing one the server is
    # closing at that moment fails with a ReadError (a browser retries such a request silently; httpx does not).
    limits = httpx.Limits(max_connections=BROWSER_PARALLEL, max_keepalive_connections=BROWSER_PARALLEL,
                          keepalive_expiry=KEEPALIVE_S)
    async with httpx.AsyncClient(base_url=base, timeout=30.0, limits=limits,
                                 headers={"Origin": base, "Accept-Encoding": "gzip"}) as client:
        signed = await sign_in(client, logins, username)
        window.arrive()
        if not signed:
            stats.errors.append(f"sign-in of {username} failed")
            return
        await window.opened.wait()
        await asyncio.sleep(max(0.0, window.start_at - time.monotonic()) + rng.uniform(0, think[0]))
        stop_at = window.stop_at
        communes = [own_commune] if own_commune else sorted(p.rsplit("/", 1)[-1] for p in plans if "/commune/" in p)
        rooms = ROOMS_BY_ROLE[role]
        path = _path(rng.choice(rooms), rng, communes)
        for kind, url in (("page", path), ("page", "/_dash-layout"), ("page", "/_dash-dependencies")):
            await request(client, stats, kind, "GET", url)
        if geojson:
            await request(client, stats, "geometry", "GET", geojson)
        await _navigate(client, stats, plans[path], router)
        while time.monotonic() < stop_at:
            await asyncio.sleep(rng.uniform(*think))
            if time.monotonic() >= stop_at:
                break
            if rng.random() < 0.3 and plans[path].period_variants:
                await post_callbacks(client, stats, rng.choice(plans[path].period_variants), "period")
            else:
                path = _path(rng.choice(rooms), rng, communes)
                await _navigate(client, stats, plans[path], router)


def _path(room: str, rng: random.Random, communes: list[str]) -> str:
    return PATHS[room].format(code=rng.choice(communes)) if room == "commune" else PATHS[room]


async def _navigate(client, stats: Stats, plan: RoomPlan, router: list[dict]) -> None:
    await post_callbacks(client, stats, router_bodies(router, plan.path), "router")
    await post_callbacks(client, stats, plan.callbacks, "callback")


async def run_users(base: str, people: list, plans: dict, router: list[dict], geojson: str | None,
                    duration_s: float, seed: int, think: tuple[float, float] = THINK_S) -> tuple[Stats, Stats, float]:
    """Sign every user in over the ramp, then let them all browse for duration_s.

    Returns (browsing, sign-in) stats and the moment browsing started (time.monotonic()).
    """
    stats, logins = Stats(), Stats()
    window = Window(len(people), duration_s, earliest=time.monotonic() + RAMP_S + 2.0)
    await asyncio.gather(*(user(i, person, base, plans, router, geojson, window, stats, logins, seed,
                                think) for i, person in enumerate(people)))
    return stats, logins, window.start_at


def report(stats: Stats, users: int) -> float:
    """Print latency by kind and the first errors; return the overall p95 in ms."""
    frame = {}
    for kind, ms in stats.latencies:
        frame.setdefault(kind, []).append(ms)
    for kind, values in sorted(frame.items()):
        print(f"  {kind:9s} n={len(values):6d}  p50 {np.percentile(values, 50):7.0f} ms  "
              f"p95 {np.percentile(values, 95):7.0f} ms  max {max(values):7.0f} ms")
    for line in stats.errors[:10]:
        print("  error:", line)
    every = [ms for _, ms in stats.latencies]
    p95 = float(np.percentile(every, 95)) if every else float("nan")
    print(f"requests: {len(every):,}; errors: {len(stats.errors)}")
    return p95


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of browsing after the ramp")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--days", type=int, default=120, help="days of history the simulator fills")
    parser.add_argument("--sqlite", action="store_true", help="SQLite file instead of a PostgreSQL schema")
    parser.add_argument("--cache", choices=("redis", "local"), default="redis",
                        help="loader cache: shared in Redis (IOC_BENCH_REDIS_URL; the default, as in production) "
                             "or one per worker")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--think", type=float, nargs=2, default=THINK_S, metavar=("MIN_S", "MAX_S"),
                        help="think time between a user's steps (default 5 15)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    work = Path(tempfile.mkdtemp(prefix="ioc-load-"))
    url, cleanup = open_store_url(args.sqlite, work)
    process = None
    try:
        now = dt.datetime.now().replace(microsecond=0)
        settings, engine = fill(url, work, args.days, now)
        people = create_accounts(engine, now, args.users)
        communes = sorted({c for _, _, c in people if c} | set(_sample_communes(8)))
        plans, router, geojson_path = build_plans(settings, engine, communes, now.date())
        engine.dispose()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        redis_url = os.environ.get("IOC_BENCH_REDIS_URL", DEFAULT_REDIS) if args.cache == "redis" else ""
        process = start_gunicorn(server_environ(url, work, port, redis_url), args.workers, work / "gunicorn.log")
        wait_ready(base, process, args.workers)
        print(f"cache warm: {wait_warmed(work / 'gunicorn.log', 1 if redis_url else args.workers)}", flush=True)
        geojson = geojson_path  # relative: the client's base_url applies
        print(f"gunicorn: {args.workers} workers x 4 threads on {base}; {args.users} users "
              f"({', '.join(f'{r}={sum(1 for p in people if p[1] == r)}' for r, _ in ROLE_MIX)}), "
              f"think {args.think[0]:g}-{args.think[1]:g} s, ramp {RAMP_S:.0f} s, {args.duration:.0f} s; "
              f"cache {'Redis' if redis_url else 'per worker'}", flush=True)
        load_before = os.getloadavg()[0]
        stats, logins, start_at = asyncio.run(run_users(base, people, plans, router, geojson, args.duration, args.seed,
                                              tuple(args.think)))
        print(f"sign-in ({args.users} users over {RAMP_S:.0f} s, argon2, not in the p95 below):")
        report(logins, args.users)
        print(f"browsing {args.duration:.0f} s: {len(stats.latencies) / args.duration:.1f} requests/s")
        p95 = report(stats, args.users)
        # Every user's first page load falls in the first think[0] seconds of browsing (a burst of ~600
        # requests); after think[1] seconds the clicks are spread as a day's use would be.
        steady = stats.after(start_at + args.think[1])
        steady_ms = [ms for _, ms in steady.latencies]
        if steady_ms:
            print(f"after the first {args.think[1]:g} s (first page loads over): {len(steady_ms):,} requests, "
                  f"p50 {np.percentile(steady_ms, 50):.0f} ms, p95 {np.percentile(steady_ms, 95):.0f} ms")
        print(f"load average (1 min) before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f}")
        print(f"load users={args.users} errors={len(stats.errors)} p95_ms={p95:.0f}")
        return 0
    finally:
        if process is not None:
            stop_gunicorn(process)
        cleanup()
        shutil.rmtree(work, ignore_errors=True)


def _sample_communes(count: int) -> list[str]:
    from geo.registry import communes

    return list(communes(PROVINCE)["code"].sort_values().iloc[::12][:count])


if __name__ == "__main__":
    sys.exit(main())
