"""Benchmark: every room's callbacks, called as the browser calls them, on two years of facts.

    python -m bench.dashboard --scale province   # SQLite file: one province (~100 units) x 2 years x 8 fields
    python -m bench.dashboard --scale national   # PostgreSQL (IOC_BENCH_DATABASE_URL): 3,321 communes + 34
                                                 # province units x 2 years x 8 fields, app on province 75

Facts are generated with numpy straight into the store (executemany on SQLite, COPY on PostgreSQL),
then store.rollups.recompute_rollups runs once. The app is dashboards.app.create_app (auth off); each
room's layout is rendered and every callback whose outputs it holds is POSTed to
/_dash-update-component with the layout's values as inputs and states, as the browser's first load
does. Cold calls clear every loader cache and use a new period each time; warm calls repeat one
payload. A room's p95 is the worst p95 of its callbacks. Also measured: the map payloads (GeoJSON
once, the figure of a value update) and the national Biểu 06 (one year, by unit and field).
The last line is `dashboard scale=<scale> p95_ms=<worst room's cold p95>`.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from config.fields import PROCEDURE_FIELDS
from geo import registry
from store import bulk, rollups, writers

DAYS = 730
LAST_DAY = dt.date(2026, 6, 30)
NOW = dt.datetime(2026, 7, 1, 9, 0)
FIELD_CODES = [f.code for f in PROCEDURE_FIELDS]
UNITS_PER_CHUNK = 150


def fact_chunks(codes: list[str], seed: int = 7):
    """Fact frames for `codes` x DAYS days x every field, a chunk of units at a time (plausible volumes)."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(end=LAST_DAY, periods=DAYS).date
    shares = np.array([f.share for f in PROCEDURE_FIELDS])
    for first in range(0, len(codes), UNITS_PER_CHUNK):
        chunk = np.array(codes[first:first + UNITS_PER_CHUNK])
        n = len(chunk) * DAYS * len(FIELD_CODES)
        unit = np.repeat(chunk, DAYS * len(FIELD_CODES))
        day = np.tile(np.repeat(days, len(FIELD_CODES)), len(chunk))
        field = np.tile(np.array(FIELD_CODES), len(chunk) * DAYS)
        scale = np.tile(shares / shares.sum() * 60, len(chunk) * DAYS) * rng.uniform(0.3, 2.0, n).round(2)
        received = rng.poisson(scale)
        frame = pd.DataFrame({"unit_code": unit, "day": day, "field": field, "source": "bench"})
        frame["received_online"] = rng.binomial(received, 0.85)
        frame["received_direct"] = received - frame["received_online"]
        resolved = rng.binomial(received, 0.95)
        frame["resolved_early"] = rng.binomial(resolved, 0.6)
        frame["resolved_on_time"] = rng.binomial(resolved - frame["resolved_early"], 0.97)
        frame["resolved_late"] = resolved - frame["resolved_early"] - frame["resolved_on_time"]
        frame["pending_on_time"] = rng.poisson(scale * 3)
        frame["pending_overdue"] = rng.poisson(scale * 0.05)
        frame["nearly_due"] = rng.binomial(frame["pending_on_time"], 0.2)
        frame["fully_online"] = rng.binomial(received, 0.4)
        frame["paid_online"] = rng.binomial(received, 0.3)
        frame["fee_bearing"] = rng.binomial(received, 0.5)
        frame["digitised"] = rng.binomial(received, 0.7)
        frame["e_result"] = rng.binomial(received, 0.6)
        frame["dissatisfied"] = rng.binomial(received, 0.01)
        yield frame


def fill(engine, unit_frame: pd.DataFrame) -> tuple[int, float]:
    """Write the units and their facts (raw, no per-batch rollup work), then rebuild the rollups once."""
    started = time.perf_counter()
    writers.upsert_units(engine, unit_frame)
    rows = 0
    for frame in fact_chunks(list(unit_frame["code"])):
        frame["collected_at"] = NOW
        rows += _write_raw(engine, frame)
        print(f"  {rows:,} fact rows written ({time.perf_counter() - started:.0f} s)", flush=True)
    rollup_started = time.perf_counter()
    rollups.recompute_rollups(engine)
    print(f"  rollups rebuilt in {time.perf_counter() - rollup_started:.1f} s", flush=True)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    run = writers.start_run(engine, "bench", "manual", NOW - dt.timedelta(minutes=5), LAST_DAY, LAST_DAY)
    writers.finish_run(engine, run, NOW - dt.timedelta(minutes=1), len(unit_frame), {}, rows)
    writers.record_unit_outcomes(engine, "bench", NOW - dt.timedelta(minutes=1),
                                 {code: LAST_DAY for code in unit_frame["code"]}, {})
    return rows, time.perf_counter() - started


def _write_raw(engine, frame: pd.DataFrame) -> int:
    """Append generated facts as they are (COPY on PostgreSQL, executemany on SQLite); rollups come after."""
    columns = list(writers.FACT_WRITE_COLUMNS)
    frame = frame.assign(day=bulk.iso_days(frame["day"]),
                         collected_at=pd.Timestamp(NOW).strftime("%Y-%m-%d %H:%M:%S.%f"))[columns]
    with engine.begin() as connection:
        bulk.load(connection, "dossier_facts", frame)
    return len(frame)


ROOMS = {"overview": "/", "rankings": "/rankings", "commune": "/commune/{code}", "systems": "/systems",
         "export": "/export"}
DATA_INPUTS = {"n_intervals", "start_date", "end_date", "value", "data"}
PERIOD_LENGTHS = (7, 30, 31, 90, 365, 730)


def build_app(engine, province_code: str, data_dir: Path):
    """The real app (auth off) on the store, its clock just after the generated data."""
    from config.settings import load_settings
    from dashboards.app import create_app
    from geo.maps import build_map_geometry
    settings = load_settings(auth_enabled=False, province_code=province_code, data_dir=data_dir)
    geometry = build_map_geometry(province_code, settings.data_dir)
    return create_app(settings, engine, geometry, now=lambda: NOW), geometry


def layout_values(app, room: str, path: str) -> dict[tuple[str, str], object]:
    """(id, property) -> value of every component the room's layout renders (the browser's first state)."""
    import dash
    page = next(p for p in dash.page_registry.values() if p["module"].endswith(f".{room}"))
    query = {"code": path.rsplit("/", 1)[-1]} if room == "commune" else {}
    with app.server.test_request_context(path):
        tree = page["layout"](**query)
    values, stack = {}, [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (list, tuple)):
            stack.extend(node)
            continue
        if not hasattr(node, "_prop_names"):
            continue
        ident = getattr(node, "id", None)
        for prop in node._prop_names:
            value = getattr(node, prop, None)
            if isinstance(ident, str):
                values[(ident, prop)] = value
            if prop == "children" or hasattr(value, "_prop_names") or isinstance(value, (list, tuple)):
                stack.append(value)
    return values


def room_callbacks(app, room: str, values: dict) -> list[dict]:
    """The data callbacks of a room: outputs in the room, triggered by its interval or controls."""
    chosen = []
    for key, spec in app.callback_map.items():
        outputs = _outputs(key)
        ids = [o["id"] for o in outputs]
        inputs = spec["inputs"]
        if not all(i.startswith(f"{room}-") for i in ids) or any(o["property"] == "search" for o in outputs):
            continue
        if any(i["id"].startswith("{") or i["property"] not in DATA_INPUTS for i in inputs) or "poll" in key:
            continue
        if not all((i["id"], i["property"]) in values for i in inputs):
            continue
        chosen.append({"key": key, "outputs": outputs, "inputs": inputs, "state": spec.get("state", [])})
    return chosen


def _outputs(key: str) -> list[dict]:
    parts = key[2:-2].split("...") if key.startswith("..") else [key]
    return [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in parts]


def payload(callback: dict, values: dict, period: tuple[dt.date, dt.date] | None) -> dict:
    """The JSON the Dash renderer POSTs for this callback."""
    def value(item):
        if period is not None and item["property"] in ("start_date", "end_date"):
            return period[0 if item["property"] == "start_date" else 1].isoformat()
        found = values.get((item["id"], item["property"]))
        return found.isoformat() if isinstance(found, dt.date) else found
    outputs = callback["outputs"]
    return {"output": callback["key"], "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": [dict(i, value=value(i)) for i in callback["inputs"]],
            "state": [dict(s, value=value(s)) for s in callback["state"]],
            "changedPropIds": [f"{callback['inputs'][0]['id']}.{callback['inputs'][0]['property']}"]}


def clear_caches() -> None:
    """Empty every loader cache, as after a new collection run."""
    from dashboards import (
        loaders, loaders_export, loaders_national, loaders_overview, loaders_rankings, loaders_systems,
    )
    for module in (loaders, loaders_export, loaders_overview, loaders_rankings, loaders_systems, loaders_national):
        module.clear()


READ_MS = [0.0]  # time spent in store.readers during the current call


def instrument_readers() -> None:
    """Count the time callbacks spend in store.readers' aggregate reads (the data layer's share)."""
    from store import readers
    for name in ("period_totals", "unit_periods_totals", "daily_totals", "unit_freshness", "load_units",
                 "last_collection"):
        original = getattr(readers, name)

        def timed(*args, _original=original, **kwargs):
            started = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                READ_MS[0] += (time.perf_counter() - started) * 1000
        setattr(readers, name, timed)


def call(client, body: dict) -> tuple[float, int]:
    """POST one callback; return (milliseconds, response bytes)."""
    READ_MS[0] = 0.0
    started = time.perf_counter()
    response = client.post("/_dash-update-component", json=body)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code not in (200, 204):
        raise RuntimeError(f"{body['output']}: HTTP {response.status_code}: {response.get_data(as_text=True)[:500]}")
    return elapsed, len(response.get_data())


# National mode's nation-level views: id prefix -> (page module, path); no ?tinh = the nation.
NATION_ROOMS = {"nation": ("overview", "/"), "nrank": ("rankings", "/rankings")}


def measure_rooms(app, commune_code: str, iterations: int, seed: int = 11, rooms=None) -> dict[str, dict]:
    """Per room and callback: cold p95 (caches cleared, new period each call), warm p95, response bytes."""
    rng = np.random.default_rng(seed)
    client = app.server.test_client()
    results = {}
    for room, (page, path) in (rooms or {room: (room, path) for room, path in ROOMS.items()}).items():
        path = path.format(code=commune_code)
        values = layout_values(app, page, path)
        for callback in room_callbacks(app, room, values):
            cold, reads, warm, size = [], [], [], 0
            for _ in range(iterations):
                clear_caches()
                elapsed, size = call(client, payload(callback, values, _random_period(rng)))
                cold.append(elapsed)
                reads.append(READ_MS[0])
            body = payload(callback, values, None)
            call(client, body)
            for _ in range(iterations):
                warm.append(call(client, body)[0])
            results.setdefault(room, {})[callback["key"]] = dict(
                cold_p95=float(np.percentile(cold, 95)), cold_p50=float(np.percentile(cold, 50)),
                reads_p50=float(np.percentile(reads, 50)),
                warm_p95=float(np.percentile(warm, 95)), bytes=size)
    return results


def _random_period(rng) -> tuple[dt.date, dt.date]:
    length = int(rng.choice(PERIOD_LENGTHS))
    latest = (LAST_DAY - dt.date(LAST_DAY.year - 2, LAST_DAY.month, LAST_DAY.day)).days - length
    end = LAST_DAY - dt.timedelta(days=int(rng.integers(0, max(latest, 1))))
    return end - dt.timedelta(days=length - 1), end


def measure_nation(engine, data_dir: Path, commune: str, iterations: int) -> float:
    """National mode (IOC_MODE=national): the nation's overview and province ranking; returns the worst cold p95."""
    from config.settings import load_settings
    from dashboards.app import create_app
    settings = load_settings(auth_enabled=False, mode="national", data_dir=data_dir / "national")
    app = create_app(settings, engine, None, now=lambda: NOW)
    geometry = app.server.extensions["ioc_dashboard"].map_for(None)[0]
    print(f"national map geometry (sent once): {Path(geometry.path).stat().st_size / 1024:.0f} KB, "
          f"{geometry.feature_count} provinces")
    return report(measure_rooms(app, commune, iterations, rooms=NATION_ROOMS), "national")


def national_bieu06(engine, unit_frame: pd.DataFrame, out: Path) -> tuple[float, int]:
    """Seconds to read and write the Biểu 06 of the whole nation for the last full year; data rows."""
    from dashboards.exports.bieu06_xlsx import bieu06_report, write_bieu06_xlsx
    from store import readers
    start, end = dt.date(LAST_DAY.year - 1, 7, 1), LAST_DAY
    started = time.perf_counter()
    totals = readers.period_totals(engine, start, end, group_by=("unit_code", "field"))
    report = bieu06_report(totals, dict(zip(unit_frame["code"], unit_frame["level"])), ("tinh", "xa"))
    write_bieu06_xlsx(report, out, reporter="bench", start=start, end=end, scope_text="Toàn quốc",
                      generated_at=NOW)
    return time.perf_counter() - started, len(totals)


def open_store(scale: str, keep: str | None, schema: str | None):
    """(engine, cleanup): a SQLite file for a province, a fresh PostgreSQL schema for the nation, or a kept store."""
    from bench.collect import open_engine
    from sqlalchemy import text
    from store.db import create_store_engine, migrate
    if keep:
        if schema:
            with create_store_engine(keep).begin() as connection:
                connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        engine = create_store_engine(keep, schema=schema)
        migrate(engine)
        return engine, lambda: None
    return open_engine(scale == "province")


def _has_facts(engine) -> bool:
    with engine.connect() as connection:
        return connection.exec_driver_sql("SELECT 1 FROM dossier_facts LIMIT 1").first() is not None


def report(results: dict, scale: str) -> float:
    """Print the table of callbacks; return the worst room's cold p95."""
    worst_room = 0.0
    for room, callbacks in results.items():
        room_p95 = max(c["cold_p95"] for c in callbacks.values())
        worst_room = max(worst_room, room_p95)
        print(f"{room}: cold p95 {room_p95:.0f} ms, warm p95 {max(c['warm_p95'] for c in callbacks.values()):.0f} ms")
        for key, c in callbacks.items():
            print(f"    {key[:60]:60s} cold p50 {c['cold_p50']:5.0f} (reads {c['reads_p50']:4.0f})  p95 {c['cold_p95']:5.0f}  "
                  f"warm p95 {c['warm_p95']:5.0f} ms  {c['bytes'] / 1024:7.1f} KB")
    return worst_room


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=("province", "national"), default="province")
    parser.add_argument("--province", default="75")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--store", help="keep the store at this URL (filled if empty, reused if not)")
    parser.add_argument("--schema", help="with --store on PostgreSQL: the schema to keep the data in")
    args = parser.parse_args(argv)
    unit_frame = registry.units(args.province) if args.scale == "province" else registry.all_units()
    engine, cleanup = open_store(args.scale, args.store, args.schema)
    try:
        if not args.store or not _has_facts(engine):
            rows, seconds = fill(engine, unit_frame)
            print(f"fill: {rows:,} fact rows ({len(unit_frame):,} units x {DAYS} days x {len(FIELD_CODES)} fields) "
                  f"in {seconds:.0f} s incl. rollups ({engine.dialect.name})")
        data_dir = Path(tempfile.mkdtemp())
        app, geometry = build_app(engine, args.province, data_dir)
        print(f"map geometry (sent once): {Path(geometry.path).stat().st_size / 1024:.0f} KB, "
              f"{geometry.feature_count} features")
        commune = registry.communes(args.province)["code"].iloc[0]
        instrument_readers()
        results = measure_rooms(app, commune, args.iterations)
        worst = report(results, args.scale)
        if args.scale == "national":
            worst = max(worst, measure_nation(engine, data_dir, commune, args.iterations))
            seconds, rows = national_bieu06(engine, unit_frame, data_dir / "bieu06.xlsx")
            print(f"Biểu 06, whole nation, one year: {seconds:.2f} s ({rows:,} unit x field rows)")
        print(f"dashboard scale={args.scale} p95_ms={worst:.0f}")
    finally:
        cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
