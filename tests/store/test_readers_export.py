"""Bucketed export readers: calendar buckets, and each bucket row equal to period totals for its range."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from config.facts import FACT_COLUMNS, FLOW_COLUMNS, OPTIONAL_COLUMNS, PERIOD_COLUMNS, STOCK_COLUMNS
from geo.registry import units
from kpis.bieu06 import period_totals_from_facts
from store import readers, readers_export
from store.readers_export import Bucket, bucket_chunks, iter_bucket_totals, period_buckets
from store.writers import upsert_facts, upsert_units

D = dt.date
UNITS = ["25195", "25210", "75"]
COUNTS = [c for c in PERIOD_COLUMNS if c not in OPTIONAL_COLUMNS] + ["days_with_data"]


def test_week_buckets_are_iso_and_clipped_to_the_range():
    # 2025-07-01 is a Tuesday; its ISO week 27 starts on Monday 2025-06-30.
    buckets = period_buckets(D(2025, 7, 1), D(2025, 7, 14), "week")
    assert buckets == [Bucket("2025-W27", D(2025, 7, 1), D(2025, 7, 6)),
                       Bucket("2025-W28", D(2025, 7, 7), D(2025, 7, 13)),
                       Bucket("2025-W29", D(2025, 7, 14), D(2025, 7, 14))]
    # ISO week 1 of 2026 starts on Monday 2025-12-29.
    assert period_buckets(D(2025, 12, 30), D(2025, 12, 31), "week")[0].label == "2026-W01"


def test_month_quarter_year_and_day_buckets():
    assert [b.label for b in period_buckets(D(2025, 7, 15), D(2025, 10, 2), "month")] == [
        "2025-07", "2025-08", "2025-09", "2025-10"]
    quarters = period_buckets(D(2025, 8, 1), D(2026, 1, 5), "quarter")
    assert quarters == [Bucket("2025-Q3", D(2025, 8, 1), D(2025, 9, 30)), Bucket("2025-Q4", D(2025, 10, 1), D(2025, 12, 31)),
                        Bucket("2026-Q1", D(2026, 1, 1), D(2026, 1, 5))]
    assert [b.label for b in period_buckets(D(2024, 12, 31), D(2025, 1, 1), "year")] == ["2024", "2025"]
    assert [b.label for b in period_buckets(D(2025, 2, 27), D(2025, 3, 1), "day")] == [
        "2025-02-27", "2025-02-28", "2025-03-01"]


def test_bad_grain_and_reversed_range_are_refused_clearly():
    with pytest.raises(ValueError, match="Unknown period grain 'fortnight'; use one of day, week"):
        period_buckets(D(2025, 7, 1), D(2025, 7, 2), "fortnight")
    with pytest.raises(ValueError, match="start 2025-07-02 is after its end 2025-07-01"):
        period_buckets(D(2025, 7, 2), D(2025, 7, 1), "day")


def test_chunks_hold_about_a_month_of_days():
    days = period_buckets(D(2025, 7, 1), D(2025, 8, 31), "day")
    assert [len(c) for c in bucket_chunks(days)] == [31, 31]
    months = period_buckets(D(2025, 7, 1), D(2025, 9, 30), "month")
    assert [len(c) for c in bucket_chunks(months)] == [1, 1, 1]
    assert readers_export.chunk_count(D(2025, 7, 1), D(2025, 8, 31), "week") == 3


def gappy_facts() -> pd.DataFrame:
    """Seeded facts with missing days, two sources, and a unit that stops reporting mid-July."""
    rng = np.random.default_rng(7)
    records = []
    for day in pd.date_range("2025-05-20", "2025-09-10").date:
        for unit in UNITS:
            for field in ("ho_tich", "dat_dai"):
                for source in ("a", "b"):
                    if rng.random() < 0.3 or (unit == "25210" and day > D(2025, 7, 15)):
                        continue
                    values = dict(zip(FLOW_COLUMNS + STOCK_COLUMNS, rng.integers(0, 50, 8).tolist()))
                    optional = {c: (None if source == "a" else int(rng.integers(0, 9))) for c in OPTIONAL_COLUMNS}
                    records.append(dict(unit_code=unit, day=day, field=field, source=source, **values, **optional))
    return pd.DataFrame(records).reindex(columns=list(FACT_COLUMNS))


@pytest.mark.parametrize("by", ["day", "week", "month", "quarter", "year"])
def test_each_bucket_row_equals_period_totals_for_its_range(engine, by):
    facts = gappy_facts()
    upsert_units(engine, units("75"))
    upsert_facts(engine, facts, dt.datetime(2025, 9, 11))
    start, end = D(2025, 7, 2), D(2025, 8, 27)
    frames = list(iter_bucket_totals(engine, start, end, by, province_code="75"))
    assert len(frames) == readers_export.chunk_count(start, end, by)
    exported = pd.concat(frames, ignore_index=True)
    buckets = period_buckets(start, end, by)
    assert exported["period"].drop_duplicates().tolist() == [b.label for b in buckets]
    for bucket in buckets:
        rows = exported[exported["period"] == bucket.label].drop(columns=["period", "period_start", "period_end"])
        rows = rows.sort_values(["unit_code", "field"]).reset_index(drop=True)
        assert (exported.loc[exported["period"] == bucket.label, "period_start"] == bucket.start).all()
        stored = readers.period_totals(engine, bucket.start, bucket.end, province_code="75",
                                       group_by=("unit_code", "field")).sort_values(["unit_code", "field"])
        pure = period_totals_from_facts(facts, bucket.start, bucket.end, group_by=("unit_code", "field"))
        for reference in (stored.reset_index(drop=True), pure):
            pd.testing.assert_frame_equal(rows[["unit_code", "field"] + COUNTS], reference[["unit_code", "field"] + COUNTS],
                                          check_dtype=False)
            pd.testing.assert_frame_equal(rows[list(OPTIONAL_COLUMNS)], reference[list(OPTIONAL_COLUMNS)].astype("float64"),
                                          check_dtype=False)


def test_a_unit_that_stopped_reporting_drops_out_after_the_lookback(engine):
    upsert_units(engine, units("75"))
    upsert_facts(engine, gappy_facts(), dt.datetime(2025, 9, 11))
    frame = pd.concat(iter_bucket_totals(engine, D(2025, 7, 14), D(2025, 8, 24), "week", unit_codes=["25210"]))
    # Last report on 15/07: weeks ending up to 10/08 still see that stock (31-day lookback), later ones do not.
    assert frame["period"].drop_duplicates().tolist() == ["2025-W29", "2025-W30", "2025-W31", "2025-W32"]
    silent = frame[frame["period"] != "2025-W29"]
    assert (silent[list(FLOW_COLUMNS)] == 0).all().all() and (silent["days_with_data"] == 0).all()
    assert (silent["carried_over"] > 0).all()


def test_filters_by_unit_and_field_and_empty_store(engine):
    upsert_units(engine, units("75"))
    assert pd.concat(iter_bucket_totals(engine, D(2025, 7, 1), D(2025, 7, 31), "week")).empty
    upsert_facts(engine, gappy_facts(), dt.datetime(2025, 9, 11))
    frame = pd.concat(iter_bucket_totals(engine, D(2025, 7, 1), D(2025, 7, 31), "week", unit_codes=["75"],
                                         fields=["dat_dai"]))
    assert set(frame["unit_code"]) == {"75"} and set(frame["field"]) == {"dat_dai"}
    assert list(frame.columns) == readers_export.OUTPUT_COLUMNS
