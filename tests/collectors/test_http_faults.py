"""Fault matrix of the HTTP path against real servers on 127.0.0.1: network, status and payload faults."""
from __future__ import annotations

import datetime as dt
import logging
import socket

import pytest
from sqlalchemy import func, select

from collectors.base import FatalError, FetchRequest, RetriableError
from collectors.cycle import run_collection
from collectors.feed_server import FeedConfig, FeedServer
from collectors.sources.feed import feed_source
from collectors.sources.http_json import HttpJsonSource, make_config
from collectors.transport.http import RetryPolicy, SourceUnavailable
from store.schema import quarantine, unit_status
from tests.collectors.helpers import DAY, NOW, UNITS, Sleeps, StubServer, facts_snapshot, json_reply, record

REQUEST = FetchRequest(UNITS, DAY, DAY, NOW)


def policy(sleeps: Sleeps, attempts: int = 3) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, base_s=0.5, cap_s=10, sleep=sleeps, jitter=lambda: 1.0)


def feed(hang_s: float = 1.5, **faults) -> FeedServer:
    return FeedServer(FeedConfig(clock=lambda: NOW, faults=faults, hang_s=hang_s, province_code="75"))


def test_503_then_success_is_retried_with_backoff():
    sleeps = Sleeps()
    with feed(**{"*": ["503", "503"]}) as server:
        pages = feed_source(server.url, retry=policy(sleeps)).fetch(REQUEST)
    assert sleeps == [0.5, 1.0]                       # base * 2^n, jitter pinned to 1
    assert len(pages[0]["items"]) == 3 * 8


def test_429_honours_retry_after():
    sleeps = Sleeps()
    with feed(**{"*": ["429"]}) as server:
        feed_source(server.url, retry=policy(sleeps)).fetch(REQUEST)
    assert sleeps == [1.0]                            # the server's Retry-After: 1


def test_500_gives_up_after_bounded_attempts():
    sleeps = Sleeps()
    with feed(**{"*": ["500"] * 5}) as server:
        with pytest.raises(RetriableError, match="HTTP 500"):
            feed_source(server.url, retry=policy(sleeps)).fetch(REQUEST)
    assert len(sleeps) == 2                           # 3 attempts, 2 waits


def test_timeout_is_retriable():
    with feed(**{"*": ["timeout"]}) as server:
        source = feed_source(server.url, retry=policy(Sleeps(), attempts=1), timeout_s=0.3)
        with pytest.raises(RetriableError, match="timed out"):
            source.fetch(REQUEST)


def test_refused_connection_is_unavailable():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(SourceUnavailable, match="cannot connect"):
        feed_source(f"http://127.0.0.1:{port}", retry=policy(Sleeps(), attempts=1)).fetch(REQUEST)


@pytest.mark.parametrize("fault, message", [("malformed", "not valid JSON"), ("truncated", "broke off"),
                                            ("drop", "broke off")])
def test_broken_bodies_are_retriable(fault, message):
    with feed(**{"*": [fault] * 3}) as server:
        with pytest.raises(RetriableError, match=message):
            feed_source(server.url, retry=policy(Sleeps())).fetch(REQUEST)


def test_401_is_fatal_and_the_token_is_never_shown(caplog):
    with FeedServer(FeedConfig(clock=lambda: NOW, token="right-token")) as server:
        source = feed_source(server.url, token="s3cret-wrong")
        assert "s3cret" not in repr(source) + repr(source.config)
        with caplog.at_level(logging.DEBUG), pytest.raises(FatalError, match="401") as err:
            source.fetch(REQUEST)
        assert "s3cret" not in str(err.value) + caplog.text
        assert len(feed_source(server.url, token="right-token").fetch(REQUEST)[0]["items"]) == 24


def test_one_failing_commune_never_breaks_the_others(engine):
    with feed(**{"25210": ["500"] * 20}) as server:
        summary = run_collection(engine, feed_source(server.url, retry=policy(Sleeps())), UNITS, DAY, DAY, NOW)
    assert summary.status == "partial" and summary.units_ok == 2
    assert set(summary.failures) == {"25210"} and "HTTP 500" in summary.failures["25210"]
    facts = facts_snapshot(engine)
    assert sorted(facts.unit_code.unique()) == ["25195", "25217"] and len(facts) == 16
    with engine.connect() as connection:
        status = dict(connection.execute(select(unit_status.c.unit_code, unit_status.c.consecutive_failures)).all())
    assert status == {"25195": 0, "25210": 1, "25217": 0}


def test_a_slow_commune_is_cut_off_by_its_request_timeout(engine):
    with feed(hang_s=8, **{"25217": ["timeout"] * 10}) as server:
        source = feed_source(server.url, retry=policy(Sleeps(), attempts=1), timeout_s=2, chunk_size=1)
        summary = run_collection(engine, source, UNITS, DAY, DAY, NOW, concurrency=3)
    assert set(summary.failures) == {"25217"} and "timed out" in summary.failures["25217"]
    assert summary.units_ok == 2


def stub_source(url: str, **extra) -> HttpJsonSource:
    config = make_config(name="stub", url=url + "/facts", params={"from": "{first_day}", "to": "{last_day}"}, **extra)
    return HttpJsonSource(config, retry=policy(Sleeps(), attempts=1))


def quarantined(engine) -> list[tuple]:
    with engine.connect() as connection:
        return connection.execute(select(quarantine.c.unit_code, quarantine.c.reason, quarantine.c.raw)
                                  .order_by(quarantine.c.id)).all()


def test_bad_records_are_quarantined_with_reason_and_raw_payload(engine):
    items = [record("25195"),
             record("25210", received_online="eight"),                       # wrong type
             record("25217", resolved_late=-1),                              # negative count
             record("99999"),                                                # unknown commune
             record("25195", field="chung_thuc"), record("25195", field="chung_thuc", received_online=9),  # duplicate
             record("25217", day="2026-01-01"),                              # outside the window
             "not an object"]
    with StubServer(lambda path: json_reply({"items": items})) as server:
        summary = run_collection(engine, stub_source(server.url), UNITS, DAY, DAY, NOW)
    rows = quarantined(engine)
    reasons = {unit: reason for unit, reason, _ in rows}
    assert summary.rows_written == 2 and summary.rows_quarantined == 6 == len(rows)
    assert reasons["25210"] == "received_online is not a number"
    assert reasons["25217"].startswith("resolved_late must be a whole number >= 0") or "day outside" in reasons["25217"]
    assert reasons["99999"] == "unit code not requested or unknown"
    assert any("duplicate" in r for _, r, _ in rows) and any(r == "record is not a JSON object" for _, r, _ in rows)
    assert '"received_online": "eight"' in next(raw for unit, _, raw in rows if unit == "25210")
    facts = facts_snapshot(engine)
    assert facts.loc[facts.field == "chung_thuc", "received_online"].tolist() == [9]   # the later duplicate wins


def test_rerunning_the_same_payload_changes_nothing(engine):
    items = [record("25195"), record("25210", resolved_late=-1)]
    with StubServer(lambda path: json_reply({"items": items})) as server:
        run_collection(engine, stub_source(server.url), UNITS, DAY, DAY, NOW)
        first = facts_snapshot(engine)
        run_collection(engine, stub_source(server.url), UNITS, DAY, DAY, NOW)
    assert facts_snapshot(engine).equals(first)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(quarantine)).scalar() == 1


def test_field_mapping_and_page_pagination():
    remote = [{"MaDonVi": "25195", "Ngay": "2026-03-09", "LinhVuc": "ho_tich", **{k: v for k, v in record().items()
                                                                                 if k not in ("unit_code", "day", "field")}}]
    pages = {1: remote, 2: []}
    with StubServer(lambda path: json_reply({"data": pages[int(path.split("page=")[1].split("&")[0])]})) as server:
        source = stub_source(server.url, records_path="data", page_param="page", page_size=1,
                             field_map={"MaDonVi": "unit_code", "Ngay": "day", "LinhVuc": "field"})
        batch = source.parse(source.fetch(REQUEST), REQUEST)
        assert len(server.paths) == 2
    assert batch.facts.loc[0, "unit_code"] == "25195" and batch.facts.loc[0, "received_online"] == 8


def test_unknown_field_mapping_is_fatal():
    with StubServer(lambda path: json_reply({"items": [record()]})) as server:
        source = stub_source(server.url, field_map={"MaDonVi": "unit_code"})
        with pytest.raises(FatalError, match="MaDonVi"):
            source.parse(source.fetch(REQUEST), REQUEST)


def test_bad_configuration_is_fatal_with_a_clear_message():
    with pytest.raises(FatalError, match="unknown columns"):
        make_config(name="x", url="http://127.0.0.1/", field_map={"a": "not_a_column"})
    with pytest.raises(FatalError, match="needs a secret"):
        make_config(name="x", url="http://127.0.0.1/", auth="bearer")
