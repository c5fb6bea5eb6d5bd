"""Interface strings of national mode (all 34 provinces): key -> (Vietnamese, English)."""

STRINGS: dict[str, tuple[str, str]] = {
    "national_title": ("Toàn quốc", "Nation"),
    "national_overview_title": ("Tổng quan toàn quốc", "Nation overview"),
    "national_breadcrumb": ("Đường dẫn", "Breadcrumb"),
    "national_scope_provinces": ("Cấp xã của {count} tỉnh, thành phố (không gồm hồ sơ cấp tỉnh)",
                                 "Commune level of {count} provinces and cities (province-level dossiers apart)"),
    "national_map_title": ("Bản đồ 34 tỉnh, thành phố", "Map of the 34 provinces and cities"),
    "national_map_legend": ("Bấm vào một tỉnh để xem các xã của tỉnh đó. Màu xám: chưa có dữ liệu trong kỳ.",
                            "Click a province to see its communes. Grey: no data in this period."),
    "national_map_approximate": ("Ranh giới tỉnh gần đúng (hợp các ô Voronoi từ tâm xã), không phải ranh giới chính thức",
                                 "Approximate province outlines (union of Voronoi cells around commune centres), "
                                 "not official boundaries"),
    "national_best_title": ("5 tỉnh dẫn đầu", "Top 5 provinces"),
    "national_worst_title": ("5 tỉnh cuối bảng", "Bottom 5 provinces"),
    "national_trend_title": ("Diễn biến hằng ngày cả nước (cấp xã)", "Daily trend, whole country (commune level)"),
    "national_field_note": ("Lọc theo lĩnh vực áp dụng khi xem một tỉnh.",
                            "The procedure-field filter applies when viewing one province."),
    "national_rankings_title": ("Xếp hạng tỉnh, thành phố", "Province ranking"),
    "national_rankings_note": ("Xếp theo chỉ số phục vụ (766, thang 100) của cấp xã từng tỉnh; bấm tên tỉnh để xem "
                               "xếp hạng các xã của tỉnh.",
                               "Ranked by the service index (766, out of 100) of each province's communes; click a "
                               "province to rank its communes."),
    "national_col_rank": ("Hạng", "Rank"),
    "national_col_province": ("Tỉnh, thành phố", "Province"),
    "national_col_communes": ("Số xã", "Communes"),
    "national_col_index": ("Chỉ số phục vụ", "Service index"),
    "national_col_received": ("Hồ sơ tiếp nhận", "Received"),
    "national_col_on_time": ("Đúng hạn (766)", "On time (766)"),
    "national_col_online": ("Tỷ lệ trực tuyến", "Online share"),
    "national_no_data": ("Chưa có dữ liệu", "No data yet"),
    "national_export_nation": ("Phạm vi: toàn quốc (mọi tỉnh, thành phố)", "Scope: the whole country (every province)"),
}
