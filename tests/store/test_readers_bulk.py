"""Bulk export reads: the same bucket totals as store.readers_export, chunked by rows, lookback carried over."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from geo.registry import units
from store import readers_bulk, readers_export
from store.writers import upsert_facts, upsert_units
from tests.store.test_readers_export import gappy_facts

D = dt.date


def _sql(engine, start, end, by, **scope) -> pd.DataFrame:
    return pd.concat(readers_export.iter_bucket_totals(engine, start, end, by, **scope), ignore_index=True)


def _bulk(engine, start, end, by, target_rows, **scope) -> list[readers_bulk.BucketFrame]:
    return list(readers_bulk.iter_bucket_frames(engine, start, end, by, rows_per_day=12, target_rows=target_rows,
                                                **scope))


@pytest.mark.parametrize("by, target_rows", [("day", 12), ("day", 100), ("week", 12 * 10), ("month", 12 * 31),
                                             ("month", 12 * 200), ("quarter", 10 ** 6), ("year", 12)])
def test_bucket_frames_equal_the_sql_bucket_totals(engine, by, target_rows):
    upsert_units(engine, units("75"))
    upsert_facts(engine, gappy_facts(), dt.datetime(2025, 9, 11))
    start, end = D(2025, 7, 2), D(2025, 8, 27)
    frames = _bulk(engine, start, end, by, target_rows, province_code="75")
    assert len(frames) == readers_bulk.chunk_count(start, end, by, 12, target_rows)
    bulk = pd.concat([f.output() for f in frames], ignore_index=True)
    pd.testing.assert_frame_equal(bulk, _sql(engine, start, end, by, province_code="75"))


def test_chunks_are_sized_by_rows_and_fall_back_to_sql_for_big_buckets():
    assert [len(c) for c in readers_bulk.plan(D(2025, 1, 1), D(2025, 12, 31), "day", 768, 100_000)] == [130, 130, 105]
    assert readers_bulk.plan(D(2025, 1, 1), D(2025, 12, 31), "month", 26_840, 150_000) is None   # a month of the nation
    assert readers_bulk.chunk_count(D(2025, 1, 1), D(2025, 12, 31), "month", 26_840) == 12


def test_filters_and_an_empty_store(engine):
    upsert_units(engine, units("75"))
    assert all(f.frame.empty for f in _bulk(engine, D(2025, 7, 1), D(2025, 7, 31), "day", 100))
    upsert_facts(engine, gappy_facts(), dt.datetime(2025, 9, 11))
    scope = {"unit_codes": ["25210", "75"], "fields": ["dat_dai"]}
    bulk = pd.concat([f.output() for f in _bulk(engine, D(2025, 7, 1), D(2025, 8, 31), "week", 40, **scope)],
                     ignore_index=True)
    assert set(bulk["field"]) == {"dat_dai"}
    pd.testing.assert_frame_equal(bulk, _sql(engine, D(2025, 7, 1), D(2025, 8, 31), "week", **scope))
