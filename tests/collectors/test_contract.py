"""One contract suite over every source: fetch does I/O, parse is pure, clean input validates whole."""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from collectors.base import FatalError, FetchRequest, Source
from collectors.feed_server import FeedConfig, FeedServer
from collectors.sources.daily_file import DailyFileSource
from collectors.sources.dossier_file import DossierFileSource
from collectors.sources.feed import feed_source
from collectors.sources.simulator import SimulatorSource
from collectors.sources.sql import SqlSource
from collectors.validation import validate_batch
from config.facts import FACT_COLUMNS
from tests.collectors.helpers import NOW, record

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WINDOW = FetchRequest(("25195", "25210"), dt.date(2026, 3, 1), dt.date(2026, 3, 9), NOW)
SQL_TABLE = """CREATE TABLE tthc_daily (ma_don_vi VARCHAR(8), ngay DATE, linh_vuc VARCHAR(32), tiep_nhan_truc_tuyen INT,
    tiep_nhan_truc_tiep INT, truoc_han INT, dung_han INT, qua_han INT, dang_trong_han INT, dang_qua_han INT,
    sap_den_han INT)"""
SQL_MAP = {"ma_don_vi": "unit_code", "ngay": "day", "linh_vuc": "field", "tiep_nhan_truc_tuyen": "received_online",
           "tiep_nhan_truc_tiep": "received_direct", "truoc_han": "resolved_early", "dung_han": "resolved_on_time",
           "qua_han": "resolved_late", "dang_trong_han": "pending_on_time", "dang_qua_han": "pending_overdue",
           "sap_den_han": "nearly_due"}


@contextmanager
def simulator(engine):
    yield SimulatorSource(2025)


@contextmanager
def http_feed(engine):
    with FeedServer(FeedConfig(clock=lambda: NOW)) as server:
        yield feed_source(server.url)


@contextmanager
def daily_file(engine):
    yield DailyFileSource(FIXTURES / "daily_dongnai.csv")


@contextmanager
def dossier_file(engine):
    yield DossierFileSource(FIXTURES / "dossiers_dongnai.csv")


@contextmanager
def sql(engine):
    with engine.begin() as connection:
        connection.execute(text(SQL_TABLE))
        for day in (8, 9):
            values = {**record(day=f"2026-03-0{day}"), "day": dt.date(2026, 3, day)}
            if day == 9:
                values.update(pending_on_time=6 + 10 - 8, nearly_due=2)
            connection.execute(text("INSERT INTO tthc_daily VALUES (:unit_code, :day, :field, :received_online, "
                                    ":received_direct, :resolved_early, :resolved_on_time, :resolved_late, "
                                    ":pending_on_time, :pending_overdue, :nearly_due)"), values)
    query = ("SELECT * FROM tthc_daily WHERE ngay BETWEEN :first_day AND :last_day AND ma_don_vi IN :unit_codes "
             "ORDER BY ma_don_vi, ngay")
    yield SqlSource("tthc_db", "", query, SQL_MAP, engine=engine)


SOURCES = {"simulator": simulator, "http_json": http_feed, "daily_file": daily_file, "dossier_file": dossier_file,
           "sql": sql}
CLEAN = {"simulator", "http_json", "sql"}   # the file fixtures carry deliberately bad rows


@pytest.fixture(params=sorted(SOURCES))
def source(request, engine):
    with SOURCES[request.param](engine) as adapter:
        yield request.param, adapter


def test_source_contract(source):
    kind, adapter = source
    assert isinstance(adapter, Source) and adapter.name and len(adapter.name) <= 32
    payload = adapter.fetch(WINDOW)
    first, second = adapter.parse(payload, WINDOW), adapter.parse(payload, WINDOW)
    pd.testing.assert_frame_equal(first.facts.reset_index(drop=True), second.facts.reset_index(drop=True))  # pure
    batch = validate_batch(first, WINDOW)
    assert list(batch.facts.columns) == list(FACT_COLUMNS)
    assert len(batch.facts) > 0 and set(batch.facts.source) == {adapter.name}
    assert set(batch.facts.unit_code) <= set(WINDOW.unit_codes)
    assert batch.facts.day.between(WINDOW.first_day, WINDOW.last_day).all()
    assert not batch.facts.duplicated(["unit_code", "day", "field", "source"]).any()
    if kind in CLEAN:
        assert batch.rejected == []
    else:
        assert all(r.reason and r.raw for r in batch.rejected)


def test_sql_source_refuses_anything_but_one_select(engine):
    for query in ("DELETE FROM units", "SELECT 1; DROP TABLE units"):
        with pytest.raises(FatalError, match="one SELECT"):
            SqlSource("x", "", query, engine=engine)
