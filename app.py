"""Composition root and the one command line of the provincial IOC.

    python app.py             embedded demo: web app + in-process collector (SQLite under ./data)
    python app.py serve       web app only (production: gunicorn app:server)
    python app.py collect     collector only, in its own process
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import sys
from typing import Callable

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from config.settings import ConfigError, Settings, load_settings

log = logging.getLogger("ioc")
COMMANDS: dict[str, tuple[str, Callable[[argparse.Namespace], int], Callable[[argparse.ArgumentParser], None] | None]] = {}


def command(name: str, help_text: str, arguments: Callable[[argparse.ArgumentParser], None] | None = None):
    """Register a sub-command: its help line, its handler and (optionally) its extra arguments."""
    def register(handler):
        COMMANDS[name] = (help_text, handler, arguments)
        return handler
    return register


# --- wiring -----------------------------------------------------------------------------------

def open_store(settings: Settings, units: bool = True):
    """Engine on the configured database, migrated, with the registry's units loaded (unless units=False:
    commands that never read the units table skip loading the registry, ~0.5 s)."""
    from store.db import create_store_engine, migrate

    engine = create_store_engine(settings.effective_database_url)
    migrate(engine)
    if units:
        from geo import registry
        from store.writers import upsert_units

        upsert_units(engine, registry.all_units())
    return engine


def build_map_geometry(settings: Settings):
    from geo.maps import build_map_geometry as build

    return build(settings.province_code, settings.data_dir, settings.boundaries_path,
                 settings.boundaries_code_column, settings.boundaries_attribution)


SOURCE_TYPES = ("simulator", "http_json", "sql")
NATIONAL_CHUNK = 200


def build_source(settings: Settings):
    """The configured source of daily figures (settings.source); ConfigError says what is wrong."""
    from collectors.base import FatalError

    options = dict(settings.source)
    kind = options.pop("type", "simulator")
    try:
        if kind == "simulator":
            from collectors.sources.simulator import SimulatorSource
            return SimulatorSource(settings.simulator_seed, settings.history_start)
        if kind == "http_json":
            from collectors.sources.http_json import HttpJsonSource, make_config
            return HttpJsonSource(make_config(**options))
        if kind == "sql":
            from collectors.sources.sql import SqlSource
            return SqlSource(**options)
    except (FatalError, TypeError) as err:
        raise ConfigError(f"Setting source / IOC_SOURCE ({kind}): {err}") from None
    raise ConfigError(f"Setting source / IOC_SOURCE: unknown type {kind!r}; allowed: {', '.join(SOURCE_TYPES)}")


def build_coordinator(settings: Settings, engine, on_run=None):
    from collectors.scheduler import Coordinator
    from geo import registry

    if settings.national:   # every commune; a first start backfills a shorter window (3,321 communes)
        codes = list(registry.communes().code)
        # Ticks fetch and write 200 communes at a time (the feed's bulk request; sources cap it): a write's
        # fixed cost paid 17 times a tick instead of 166 (a national tick over the feed: 92 s, not 200 s).
        return Coordinator(engine, build_source(settings), codes, settings.history_start, on_run=on_run,
                           backfill_days=settings.national_backfill_days, chunk_size=NATIONAL_CHUNK)
    codes = list(registry.communes(settings.province_code).code)
    return Coordinator(engine, build_source(settings), codes, settings.history_start, on_run=on_run)


def backfill(coordinator, now: dt.datetime | None = None) -> None:
    """Collect everything the store is missing, with a progress bar in the terminal."""
    from tqdm import tqdm

    now = now or dt.datetime.now()
    units = coordinator.pending_unit_days(now.date())
    since = max(coordinator.history_start, now.date() - dt.timedelta(days=coordinator.backfill_days)).strftime("%d/%m/%Y")
    with tqdm(total=units, desc=f"Nạp dữ liệu từ {since} (backfill)", unit=" xã", file=sys.stderr) as bar:
        summaries = coordinator.run_once(now, trigger="backfill", progress=bar.update)
    rows = sum(s.rows_written for s in summaries)
    failed = sum(len(s.failures) for s in summaries)
    log.info("backfill done: %s fact rows written, %s units failed", f"{rows:,}", failed)


def start_health_probes(settings: Settings, engine, scheduler, stack, demo: bool) -> None:
    """Probe the configured systems and communes; the demo probes simulated endpoints on 127.0.0.1."""
    from collectors.health.demo import demo_system_servers
    from collectors.health.scheduler import ProbeScheduler
    from collectors.health.targets import build_targets
    from geo import registry

    health = settings.health
    if demo and not health.systems and not health.communes:
        health = stack.enter_context(demo_system_servers(settings.simulator_seed))
    targets = build_targets(health, registry.communes(settings.province_code))
    if not targets:
        log.info("no systems or commune probe targets configured (settings.health); health probes are off")
        return
    ProbeScheduler(engine, health, targets).add_job(scheduler)
    log.info("probing %s system and commune targets", len(targets))


def create_web_app(settings: Settings, engine):
    from dashboards.app import create_app

    # National mode builds its maps itself (dashboards.national_geo): the nation now, each province on first use.
    return create_app(settings, engine, None if settings.national else build_map_geometry(settings))


def _startup(args: argparse.Namespace) -> Settings:
    from geo.registry import check_province

    settings = load_settings(args.config)
    check_province(settings.province_code)
    return settings


# --- commands ---------------------------------------------------------------------------------

@command("demo", "Embedded demo (the default): backfill, collect every few minutes and serve the web app")
def run_demo(args: argparse.Namespace) -> int:
    from access.scope import configured_province
    from access.users import ensure_demo_accounts
    from dashboards.warm import Warmer

    settings = _startup(args)
    engine = open_store(settings)
    print_demo_accounts(ensure_demo_accounts(engine, configured_province(settings), dt.datetime.now()))
    web = create_web_app(settings, engine)
    warmer = Warmer(web.server)
    with contextlib.ExitStack() as stack:
        # Same process as the web app: each finished run clears the loader caches and re-warms the default views.
        start_collection(settings, engine, stack, demo=True, on_run=warmer.on_run)
        return _serve(settings, web, warmer)


def start_collection(settings: Settings, engine, stack: contextlib.ExitStack, demo: bool, on_run=None) -> None:
    """Backfill what is missing, then collect and probe on schedule until the stack closes.

    The history is backfilled in process (the fastest path); the demo's live collection then goes
    over real HTTP to the embedded reference feed server, like a province's own system would.
    """
    from collectors.scheduler import start_scheduler
    from access.scope import configured_province
    from collectors.sources.feed import feed_source, start_embedded_feed

    coordinator = build_coordinator(settings, engine, on_run=on_run)
    backfill(coordinator)
    if demo and settings.source.get("type", "simulator") == "simulator":
        feed = start_embedded_feed(settings.simulator_seed, settings.history_start, configured_province(settings))
        stack.callback(feed.stop)
        coordinator.source = feed_source(feed.url)
        log.info("live figures come from the commune feed at %s", feed.url)
    scheduler = start_scheduler(coordinator, settings.collection_interval_s)
    stack.callback(scheduler.shutdown, wait=False)
    start_health_probes(settings, engine, scheduler, stack, demo=demo)


def print_demo_accounts(created: dict[str, str], out=None) -> None:
    """Print the demo accounts' one-time passwords once (they are stored only as hashes)."""
    if not created:
        return
    out = out or sys.stdout
    line = "=" * 72
    print(line, file=out)
    print("Tài khoản demo / Demo accounts — mật khẩu dùng một lần, chỉ hiện lần này, phải đổi khi đăng nhập lần đầu",
          file=out)
    print("(one-time passwords, shown only now; each must be changed at first sign-in)", file=out)
    for username, secret in created.items():
        print(f"  {username:<10} {secret}", file=out)
    print(line, file=out)


@command("serve", "Web app only; the collector runs elsewhere (python app.py collect)")
def run_serve(args: argparse.Namespace) -> int:
    from dashboards.warm import Warmer

    settings = _startup(args)
    web = create_web_app(settings, open_store(settings))
    return _serve(settings, web, Warmer(web.server))   # it polls the data stamp the collector process writes


def _serve(settings: Settings, web, warmer) -> int:
    warmer.start()
    log.info("IOC web app on http://%s:%s", settings.host, settings.port)
    web.run(host=settings.host, port=settings.port, debug=False)
    return 0


@command("collect", "Collector only: backfill what is missing, then collect on the configured interval")
def run_collect(args: argparse.Namespace) -> int:
    import time

    settings = _startup(args)
    engine = open_store(settings)
    with contextlib.ExitStack() as stack:
        start_collection(settings, engine, stack, demo=False)
        log.info("collecting every %s s; Ctrl+C to stop", settings.collection_interval_s)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


def _feed_server_arguments(parser: argparse.ArgumentParser) -> None:
    from collectors.feed_server import add_arguments

    add_arguments(parser)


@command("feed-server", "Reference feed server: the simulator over HTTP on 127.0.0.1 (OpenAPI at /openapi.json)",
         _feed_server_arguments)
def run_feed_server(args: argparse.Namespace) -> int:
    from collectors.feed_server import serve

    return serve(args)


def _import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="CSV or XLSX file")
    parser.add_argument("--kind", choices=("dossier", "daily"), help="dossier-level or daily grain (guessed if absent)")
    parser.add_argument("--source", help="source name stored with the facts (default import_<kind>)")
    parser.add_argument("--sheet", help="XLSX sheet (default: the first with the expected headers)")
    parser.add_argument("--encoding", help="CSV encoding (default: BOM, UTF-8, then cp1258)")


@command("import", "Import a CSV/XLSX file (dossier-level or daily) and print a summary", _import_arguments)
def run_import(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from collectors.base import FatalError
    from collectors.importer import import_file

    settings = _startup(args)
    engine = open_store(settings)
    with tqdm(total=0, desc=f"Nhập {args.file}", unit=" dòng", file=sys.stderr) as bar:
        def total(count: int) -> None:
            bar.total = count
            bar.refresh()
        try:
            summary = import_file(engine, args.file, args.kind, args.source, args.sheet, args.encoding,
                                  first_day=settings.history_start, progress=bar.update, total=total)
        except FatalError as err:
            print(f"Cannot import {args.file}: {err}", file=sys.stderr)
            return 2
    print("\n".join(summary.lines()))
    return 0


def _quarantine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, default=50, help="how many of the newest records")
    parser.add_argument("--source", help="only this source")


@command("quarantine", "List the newest quarantined records with their reason and raw payload", _quarantine_arguments)
def run_quarantine(args: argparse.Namespace) -> int:
    from collectors.importer import list_quarantine

    settings = _startup(args)
    records = list_quarantine(open_store(settings), args.limit, args.source)
    if records.empty:
        print("Quarantine is empty.")
    for row in records.itertuples():
        print(f"#{row.id} {row.received_at:%Y-%m-%d %H:%M} {row.source} {row.unit_code or '-'} {row.day or '-'}: "
              f"{row.reason}\n    raw: {str(row.raw)[:300]}")
    return 0


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    from dashboards.exports.cli import add_arguments

    add_arguments(parser)


@command("export", "Write Biểu 06 (bieu06-xlsx) or on-time statistics (csv, xlsx) for a period to --out FILE; "
         "never overwrites an existing FILE unless --force", _export_arguments)
def run_export(args: argparse.Namespace) -> int:
    from dashboards.exports.cli import run

    settings = _startup(args)
    return run(args, settings, open_store(settings))


def _users_arguments(parser: argparse.ArgumentParser) -> None:
    from access.cli import add_arguments

    add_arguments(parser)


@command("users", "Manage accounts: users add NAME --role leader|chair|analyst|admin [--unit CODE] | list | "
         "disable NAME | enable NAME | reset-password NAME (one-time passwords are printed once)", _users_arguments)
def run_users(args: argparse.Namespace) -> int:
    from access.cli import run

    settings = _startup(args)
    from access.scope import configured_province

    # Accounts check codes in geo.registry; national mode binds leaders to a province with --unit NN.
    return run(args, open_store(settings, units=False), configured_province(settings))


# --- entry point ------------------------------------------------------------------------------

def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line; with `only`, just that command's own arguments are declared (the others' imports,
    e.g. the feed server's simulator or the export room, cost a second or more of start-up)."""
    parser = argparse.ArgumentParser(
        prog="python app.py",
        description="Provincial IOC: commune dossier KPIs, maps and collectors. Without a command, runs the embedded demo.",
        epilog="Configuration: defaults, then the config file (--config or IOC_CONFIG), then IOC_* variables, "
               "e.g. IOC_PROVINCE_CODE=24 IOC_DATABASE_URL=postgresql+psycopg://user@host/db.",
    )
    parser.add_argument("--config", help="YAML or TOML settings file (overridden by IOC_* variables)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, _handler, arguments) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--config", help=argparse.SUPPRESS, default=argparse.SUPPRESS)
        if arguments and only in (None, name):
            arguments(sub)
    return parser


def _command_in(argv: list[str]) -> str:
    """The sub-command named on the command line (the demo when none is)."""
    return next((word for word in argv if word in COMMANDS), "demo")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it logs every job run; ours log transitions
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(only=_command_in(argv)).parse_args(argv)
    _help, handler, _arguments = COMMANDS[args.command or "demo"]
    try:
        return handler(args)
    except ConfigError as err:
        print(f"Cannot start: {err}", file=sys.stderr)
        return 2
    except OperationalError as err:
        print(f"Cannot reach the database: {err.orig}. Check IOC_DATABASE_URL and that the server is running.",
              file=sys.stderr)
        return 3
    except SQLAlchemyError as err:
        print(f"Database error: {err}", file=sys.stderr)
        return 3


_served = None   # the app `app:server` built last in this process (gunicorn: in the master, see worker_started)


def __getattr__(name: str):
    """`gunicorn app:server`: build the web app on access, from settings alone.

    With gunicorn.conf.py (preload_app) this runs once, in the master: the store is migrated, the
    units loaded and the map geometry built once, and the workers fork with the app ready. The
    pool is emptied before the fork so that no connection is shared between processes.
    """
    if name == "server":
        global _served
        settings = load_settings()
        engine = open_store(settings)
        _served = create_web_app(settings, engine)
        engine.dispose()
        return _served.server
    raise AttributeError(name)


def worker_started():
    """gunicorn's post_worker_init: drop any pooled connection inherited from the master; start the cache warmer."""
    if _served is None:
        return None
    from dashboards import context
    from dashboards.warm import Warmer

    context.of(_served.server).engine.dispose(close=False)   # the master's, if any: never use, never close here
    return Warmer(_served.server).start()


if __name__ == "__main__":
    sys.exit(main())
