"""Interface strings in Vietnamese (default) and English; the language travels in the URL as ?lang=en."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

DEFAULT_LANGUAGE = "vi"
LANGUAGES = ("vi", "en")

# key -> (Vietnamese, English). Placeholders in braces are filled by t(..., **values).
STRINGS: dict[str, tuple[str, str]] = {
    "app_title": ("Trung tâm điều hành thông minh", "Intelligent Operations Centre"),
    "app_subtitle": ("Giải quyết thủ tục hành chính cấp xã — {province}",
                     "Commune-level administrative procedures — {province}"),
    "switch_language": ("English", "Tiếng Việt"),
    "switch_language_title": ("Chuyển sang tiếng Anh", "Switch to Vietnamese"),
    "nav_overview": ("Tổng quan", "Overview"),
    "page_overview": ("Tổng quan toàn tỉnh", "Province overview"),
    "period": ("Kỳ báo cáo", "Period"),
    "period_start": ("Từ ngày", "From"),
    "period_end": ("Đến ngày", "To"),
    "preset_7d": ("7 ngày qua", "Last 7 days"),
    "preset_30d": ("30 ngày qua", "Last 30 days"),
    "preset_month": ("Tháng này", "This month"),
    "preset_all": ("Toàn bộ", "All history"),
    "last_updated": ("Cập nhật lần cuối: {time}", "Last updated: {time}"),
    "never_collected": ("chưa có lần thu thập nào", "no collection yet"),
    "stale": ("dữ liệu đã cũ", "data is stale"),
    "period_shown": ("Số liệu từ {start} đến {end}", "Figures from {start} to {end}"),
    "scope_province": ("Toàn tỉnh (gồm cấp tỉnh và cấp xã)", "Whole province (province and commune level)"),
    "vs_previous": ("so với kỳ trước", "vs previous period"),
    "no_data": ("không có dữ liệu", "no data"),
    "no_data_period": ("Không có dữ liệu trong kỳ này", "No data in this period"),
    "map_title": ("Bản đồ xã, phường, đặc khu", "Communes, wards and special zones"),
    "map_kpi": ("Chỉ tiêu trên bản đồ và bảng xếp hạng", "Indicator for the map and rankings"),
    "map_approximate": ("Ranh giới gần đúng (ô Voronoi từ tâm xã)",
                        "Approximate boundaries (Voronoi cells from commune centres)"),
    "map_unavailable": ("Chưa có dữ liệu ranh giới để vẽ bản đồ", "No boundary data to draw the map"),
    "map_no_data_legend": ("Màu xám: không có dữ liệu", "Grey: no data"),
    "trend_title": ("Diễn biến theo ngày", "Daily trend"),
    "received_online": ("Tiếp nhận trực tuyến", "Received online"),
    "received_direct": ("Tiếp nhận trực tiếp, bưu chính", "Received in person or by post"),
    "on_time_line": ("Tỷ lệ đúng hạn (Biểu 06)", "On-time rate (Form 06)"),
    "dossiers": ("Số hồ sơ", "Dossiers"),
    "day": ("Ngày", "Day"),
    "best_title": ("5 đơn vị dẫn đầu", "Top 5 communes"),
    "worst_title": ("5 đơn vị thấp nhất", "Bottom 5 communes"),
    "rank": ("Hạng", "Rank"),
    "unit": ("Đơn vị", "Unit"),
    "value": ("Giá trị", "Value"),
    "ranked_by": ("Xếp hạng theo: {kpi}", "Ranked by: {kpi}"),
    "footer": ("Số liệu tổng hợp từ hệ thống giải quyết TTHC của các xã, phường",
               "Figures aggregated from the communes' administrative procedure systems"),
}


def _room_strings() -> None:
    """Merge each room's strings (dashboards/strings/<room>.py, a STRINGS dict) into the shared table."""
    import importlib
    import pkgutil

    from dashboards import strings

    for module in pkgutil.iter_modules(strings.__path__):
        room = importlib.import_module(f"dashboards.strings.{module.name}").STRINGS
        clashes = set(room) & set(STRINGS)
        if clashes:
            raise RuntimeError(f"dashboards/strings/{module.name}.py redefines interface strings {sorted(clashes)}")
        STRINGS.update(room)


_room_strings()


def normalise_lang(value) -> str:
    """Return a supported language code, falling back to Vietnamese for anything else."""
    if isinstance(value, (list, tuple)):  # ?lang=en&lang=vi arrives as a list
        value = value[-1] if value else None
    text = str(value or "").strip().lower()
    return text if text in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, lang: str = DEFAULT_LANGUAGE, **values) -> str:
    """Look up an interface string in the given language and fill its placeholders."""
    try:
        pair = STRINGS[key]
    except KeyError:
        raise KeyError(f"No interface string {key!r}; add it to dashboards.i18n.STRINGS") from None
    text = pair[LANGUAGES.index(normalise_lang(lang))]
    return text.format(**values) if values else text


def label(item, lang: str = DEFAULT_LANGUAGE) -> str:
    """Pick the label_vi / label_en attribute of a definition (e.g. a KPI) for the language."""
    return getattr(item, f"label_{normalise_lang(lang)}")


def description(item, lang: str = DEFAULT_LANGUAGE) -> str:
    """Pick the description_vi / description_en attribute of a definition for the language."""
    return getattr(item, f"description_{normalise_lang(lang)}", "")


def lang_from_search(search: str | None) -> str:
    """Read the language from a URL query string such as '?lang=en'."""
    pairs = dict(parse_qsl((search or "").lstrip("?")))
    return normalise_lang(pairs.get("lang"))


def switch_href(pathname: str | None, search: str | None) -> str:
    """The same page and query in the other language (Vietnamese drops the lang parameter)."""
    pairs = [(k, v) for k, v in parse_qsl((search or "").lstrip("?")) if k != "lang"]
    if lang_from_search(search) == "vi":
        pairs.append(("lang", "en"))
    query = urlencode(pairs)
    return (pathname or "/") + (f"?{query}" if query else "")


def with_lang(href: str, lang: str) -> str:
    """Add the language to an internal link so navigation keeps it."""
    if normalise_lang(lang) == DEFAULT_LANGUAGE:
        return href
    return f"{href}{'&' if '?' in href else '?'}lang=en"
