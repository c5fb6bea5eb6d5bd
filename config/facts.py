"""The canonical dossier-fact grain, shared by the store, the KPIs and the collectors.

One fact row = (unit, day, procedure field, source). Flows count what happened during the day;
stocks are counted at the end of the day. Carried-over for a range is the stock at the end of the
day before it, so any period's Biểu 06 row can be computed from these rows alone.
"""
KEY_COLUMNS = ("unit_code", "day", "field", "source")

FLOW_COLUMNS = (
    "received_online",   # KenhThucHien = 2
    "received_direct",   # KenhThucHien = 1 (direct) or 3 (postal); null counts as direct
    "resolved_early",    # trước hạn: NgayKetThucXuLy < NgayHenTra
    "resolved_on_time",  # đúng hạn: NgayKetThucXuLy = NgayHenTra
    "resolved_late",     # quá hạn: NgayKetThucXuLy > NgayHenTra
)
STOCK_COLUMNS = (
    "pending_on_time",   # open at end of day, NgayHenTra >= that day
    "pending_overdue",   # open at end of day, NgayHenTra < that day
    "nearly_due",        # open, within deadline, due within the next 24 h (subset of pending_on_time)
)
# Flows some sources have and others do not: NULL means "not reported", never zero.
OPTIONAL_COLUMNS = (
    "fully_online",      # toàn trình
    "paid_online",
    "fee_bearing",
    "digitised",
    "e_result",
    "dissatisfied",
)
COUNT_COLUMNS = FLOW_COLUMNS + STOCK_COLUMNS + OPTIONAL_COLUMNS
FACT_COLUMNS = KEY_COLUMNS + COUNT_COLUMNS

# Period totals as returned by store readers and consumed by kpis: flows summed over the
# period, `carried_over` = stock at the end of the day before it, stocks as at its last day.
PERIOD_COLUMNS = ("carried_over",) + FLOW_COLUMNS + STOCK_COLUMNS + OPTIONAL_COLUMNS
