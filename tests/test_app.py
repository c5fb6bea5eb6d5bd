"""The composition root: command line, wiring of store + collector + web app, gunicorn entry point."""
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import app as ioc
from config.settings import load_settings
from store import readers

ROOT = Path(__file__).resolve().parents[1]


def test_help_explains_each_command():
    result = subprocess.run([sys.executable, "app.py", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    for name in ("demo", "serve", "collect"):
        assert name in result.stdout


def test_embedded_wiring_backfills_and_serves(tmp_path):
    settings = load_settings(environ={"IOC_DATA_DIR": str(tmp_path), "IOC_HISTORY_START": "2026-11-01", "IOC_AUTH_ENABLED": "false"})
    engine = ioc.open_store(settings)
    coordinator = ioc.build_coordinator(settings, engine)
    now = dt.datetime(2026, 11, 10, 15, 0)
    assert coordinator.pending_unit_days(now.date()) == 95
    ioc.backfill(coordinator, now)
    first, last = readers.data_extent(engine, "75")
    assert (first, last) == (dt.date(2026, 11, 1), dt.date(2026, 11, 10))
    assert readers.last_collection(engine) == now
    web = ioc.create_web_app(settings, engine)
    response = web.server.test_client().get("/")
    assert response.status_code == 200 and "Trung tâm điều hành" in response.get_data(as_text=True)



def test_national_coordinator_covers_every_commune_in_large_chunks(tmp_path):
    settings = load_settings(environ={"IOC_DATA_DIR": str(tmp_path), "IOC_MODE": "national",
                                      "IOC_NATIONAL_BACKFILL_DAYS": "31"})
    coordinator = ioc.build_coordinator(settings, engine=None)
    assert len(coordinator.unit_codes) == 3321 and coordinator.backfill_days == 31
    assert coordinator.chunk_size == ioc.NATIONAL_CHUNK == 200   # 17 writes a tick, not 166

def test_gunicorn_entry_point_builds_the_server(tmp_path, monkeypatch):
    monkeypatch.setenv("IOC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("IOC_PROVINCE_CODE", "24")
    monkeypatch.setenv("IOC_AUTH_ENABLED", "false")
    server = ioc.server
    assert server.test_client().get("/").status_code == 200
    assert (tmp_path / "ioc.db").exists()
    warmer = ioc.worker_started()              # gunicorn.conf.py's post_worker_init, in each worker
    assert warmer.server is server and warmer._thread.is_alive()
    warmer.stop()


def test_configured_sources_are_built_or_refused_clearly(tmp_path):
    import pytest

    from collectors.sources.http_json import HttpJsonSource
    from config.settings import ConfigError

    http = {"type": "http_json", "name": "dvc", "url": "https://dvc.example/api/{unit_code}/facts",
            "auth": "bearer", "secret": "s3cret"}
    source = ioc.build_source(load_settings(environ={}, source=http))
    assert isinstance(source, HttpJsonSource) and "s3cret" not in repr(source)
    with pytest.raises(ConfigError, match="unknown type 'ftp'; allowed: simulator, http_json, sql"):
        ioc.build_source(load_settings(environ={}, source={"type": "ftp"}))
    with pytest.raises(ConfigError, match="http_json"):
        ioc.build_source(load_settings(environ={}, source={"type": "http_json", "url": "x"}))


def test_account_commands_start_without_the_web_app_or_the_feed_server(tmp_path):
    # Start-up time of `python app.py users ...`: only the chosen command's arguments (and imports) are declared.
    script = ("import sys, app; code = app.main(['users', 'list']); "
              "print(code, sorted(m for m in ('dash', 'plotly', 'geopandas', 'collectors.feed_server', "
              "'dashboards.exports.cli') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "IOC_DATA_DIR": str(tmp_path)})
    assert result.stdout.strip().splitlines()[-1] == "0 []", result.stderr
    help_text = subprocess.run([sys.executable, "app.py", "feed-server", "--help"], cwd=ROOT, capture_output=True,
                               text=True, timeout=120).stdout
    assert "--latency-ms" in help_text
