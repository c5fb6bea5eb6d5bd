"""Interface strings of the rankings room (/rankings) and the shared service-index widgets."""
from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {
    "nav_rankings": ("Xếp hạng xã", "Commune rankings"),
    "rankings_title": ("Xếp hạng chỉ số phục vụ các xã, phường, đặc khu",
                       "Service index ranking of communes, wards and special zones"),
    "rankings_search": ("Tìm theo tên hoặc mã", "Search by name or code"),
    "rankings_type": ("Loại đơn vị", "Unit type"),
    "rankings_type_all": ("Tất cả", "All"),
    "rankings_type_xa": ("Xã", "Commune"),
    "rankings_type_phuong": ("Phường", "Ward"),
    "rankings_type_dac_khu": ("Đặc khu", "Special zone"),
    "rankings_col_rank": ("Hạng", "Rank"),
    "rankings_col_change": ("Thay đổi", "Change"),
    "rankings_col_name": ("Đơn vị", "Unit"),
    "rankings_col_type": ("Loại", "Type"),
    "rankings_col_score": ("Điểm (thang 100)", "Score (of 100)"),
    "rankings_col_points": ("Điểm đạt / tối đa", "Points / available"),
    "rankings_col_grade": ("Xếp loại", "Grade"),
    "rankings_sort_hint": ("Bấm tiêu đề cột để sắp xếp", "Click a column heading to sort"),
    "rankings_change_new": ("mới", "new"),
    "rankings_change_up": ("tăng {n} bậc", "up {n}"),
    "rankings_change_down": ("giảm {n} bậc", "down {n}"),
    "rankings_change_same": ("không đổi", "no change"),
    "rankings_summary": ("{ranked}/{total} đơn vị có điểm; {shown} đơn vị đang hiển thị",
                         "{ranked}/{total} units have a score; {shown} shown"),
    "rankings_no_match": ("Không có đơn vị nào khớp điều kiện lọc", "No unit matches the filter"),
    "rankings_method": (
        "Chỉ số mô phỏng theo Quyết định 766/QĐ-TTg, chỉ gồm các thành phần tính được từ số liệu thu thập "
        "(tối đa {max} điểm của thang 100); điểm thang 100 = điểm đạt / điểm tối đa của các thành phần có dữ liệu. "
        "Ngưỡng xếp loại là cấu hình, chưa được xác nhận chính thức.",
        "Index modelled on Decision 766/QĐ-TTg, from the components the collected data supports "
        "(at most {max} of the 100 points); score of 100 = points earned / points available from components "
        "with data. Grade cut-offs are configuration, not officially confirmed."),
    "rankings_not_computable": ("Không tính được (không có dữ liệu): {groups}",
                                "Not computable (no data): {groups}"),
    "rankings_period_shown": ("Kỳ xếp hạng: {start} – {end}; so với kỳ trước: {pstart} – {pend}",
                              "Ranking period: {start} – {end}; compared with: {pstart} – {pend}"),
}
