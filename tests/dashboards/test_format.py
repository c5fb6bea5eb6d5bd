import datetime as dt
import numpy as np
import pandas as pd
import pytest

from dashboards.format import (NO_DATA, format_change, format_count, format_date, format_datetime, format_percent,
                               format_points, format_value, is_missing, no_data_title, parse_date)


def test_counts_group_thousands_by_language():
    assert format_count(156063) == "156.063"
    assert format_count(156063, "en") == "156,063"
    assert format_count(4_300_000) == "4.300.000"
    assert format_count(0) == "0"
    assert format_count(999) == "999"
    assert format_count(np.int64(1234)) == "1.234"


def test_percentages_use_the_language_decimal_mark():
    assert format_percent(0.98765) == "98,77%"
    assert format_percent(0.98765, "en") == "98.77%"
    assert format_percent(1.0) == "100,00%"
    assert format_percent(0.0) == "0,00%"
    assert format_percent(0.8937, digits=1) == "89,4%"


def test_missing_values_are_a_dash_never_zero():
    for missing in (None, float("nan"), np.nan, pd.NA, pd.NaT):
        assert is_missing(missing)
        assert format_count(missing) == NO_DATA
        assert format_percent(missing, "en") == NO_DATA
        assert format_date(missing) == NO_DATA
    assert not is_missing(0)
    assert no_data_title("vi") == "không có dữ liệu"
    assert no_data_title("en") == "no data"


def test_changes_and_points():
    assert format_points(0.0123) == "+1,23 điểm %"
    assert format_points(-0.005, "en") == "-0.50 pp"
    assert format_change(0.125) == "+12,5%"
    assert format_change(-0.5, "en") == "-50.0%"


def test_value_dispatches_on_unit():
    assert format_value(1234.0, "count") == "1.234"
    assert format_value(0.5, "percent", "en") == "50.00%"
    with pytest.raises(ValueError, match="expected 'count' or 'percent'"):
        format_value(1, "minutes")


def test_dates_are_day_month_year():
    assert format_date(dt.date(2025, 7, 1)) == "01/07/2025"
    assert format_date("2025-08-27", "en") == "27/08/2025"
    assert format_date(pd.Timestamp("2025-08-27 13:00")) == "27/08/2025"
    assert format_datetime(dt.datetime(2025, 8, 27, 9, 5)) == "09:05 27/08/2025"


def test_parse_date_reads_picker_values_and_says_what_is_wrong():
    assert parse_date("2025-07-01") == dt.date(2025, 7, 1)
    assert parse_date("2025-07-01T00:00:00") == dt.date(2025, 7, 1)
    assert parse_date(None, dt.date(2025, 1, 1)) == dt.date(2025, 1, 1)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_date("01/07/2025")


def test_unknown_language_is_rejected():
    with pytest.raises(ValueError, match="Unknown language 'fr'"):
        format_count(1, "fr")
