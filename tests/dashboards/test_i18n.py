import pytest

from dashboards.i18n import STRINGS, label, lang_from_search, normalise_lang, switch_href, t, with_lang
from kpis.definitions import KPI_BY_KEY


def test_every_string_exists_in_both_languages():
    for key, (vi, en) in STRINGS.items():
        assert vi.strip() and en.strip(), key
        # Placeholders must match, or one language would fail to format.
        assert sorted(_fields(vi)) == sorted(_fields(en)), key


def _fields(text):
    import string
    return [name for _, name, _, _ in string.Formatter().parse(text) if name]


def test_vietnamese_is_the_default_and_english_on_request():
    assert t("received_online") == "Tiếp nhận trực tuyến"
    assert t("received_online", "en") == "Received online"
    assert t("last_updated", "vi", time="09:30 27/08/2025") == "Cập nhật lần cuối: 09:30 27/08/2025"
    assert t("map_approximate") == "Ranh giới gần đúng (ô Voronoi từ tâm xã)"


def test_unknown_key_says_where_to_add_it():
    with pytest.raises(KeyError, match="add it to dashboards.i18n.STRINGS"):
        t("nope")


def test_language_normalisation():
    assert normalise_lang("en") == "en"
    assert normalise_lang("EN ") == "en"
    assert normalise_lang(None) == "vi"
    assert normalise_lang("fr") == "vi"
    assert normalise_lang(["vi", "en"]) == "en"


def test_language_lives_in_the_url_query():
    assert lang_from_search("?lang=en") == "en"
    assert lang_from_search("") == "vi"
    assert lang_from_search("?x=1&lang=en") == "en"
    assert switch_href("/", "") == "/?lang=en"
    assert switch_href("/", "?lang=en") == "/"
    assert switch_href("/rank", "?unit=25195&lang=en") == "/rank?unit=25195"
    assert switch_href("/rank", "?unit=25195") == "/rank?unit=25195&lang=en"
    assert with_lang("/rank", "en") == "/rank?lang=en"
    assert with_lang("/rank?a=1", "en") == "/rank?a=1&lang=en"
    assert with_lang("/rank", "vi") == "/rank"


def test_kpi_labels_follow_the_language():
    assert label(KPI_BY_KEY["received"], "vi") == "Hồ sơ tiếp nhận"
    assert label(KPI_BY_KEY["received"], "en") == "Dossiers received"
