"""Vietnamese analysis: tokens, folding, bigrams, synonyms, the query plan; backend selection."""

from __future__ import annotations

import random
import unicodedata

import pytest

from marketplace.core.vn_text import fold_token, has_diacritics, syllables
from marketplace.search.analysis import analyse_field, load_synonyms, plan_query
from marketplace.search.base import SearchQuery, edit_distance, price_band, valid_stars
from tests.search.conftest import _postgres_url


def test_syllables_normalise_everything_people_type():
    assert syllables("Làn MÂY-đan tay") == ["làn", "mây", "đan", "tay"]
    assert syllables(unicodedata.normalize("NFD", "bánh cuốn")) == ["bánh", "cuốn"]
    assert syllables("Hoà") == syllables("Hòa")
    assert syllables("Thuỷ") == syllables("Thủy")
    assert syllables("ÐÔNG ANH") == ["đông", "anh"]  # Icelandic eth typed for Đ


def test_no_stop_words():
    # English stop words are Vietnamese syllables once folded
    for word in ("may", "to", "can", "the", "an", "be", "and", "or", "not"):
        assert syllables(word) == [word]


def test_folding_and_diacritic_detection():
    assert fold_token("đông") == "dong"
    assert fold_token("mây") == "may"
    assert has_diacritics("mây") and has_diacritics("Đ") and not has_diacritics("may")


def test_fields_have_exact_folded_and_bigrams_within_segments():
    field = analyse_field("Phú Vinh", "Phú Nghĩa", "Chương Mỹ")
    assert field.exact == ("phú", "vinh", "phú", "nghĩa", "chương", "mỹ")
    assert field.folded == ("phu", "vinh", "phu", "nghia", "chuong", "my")
    assert "vinh_phu" not in field.folded_bigrams  # no bigram across village and commune
    assert "phu_vinh" in field.folded_bigrams and "nước_mắm" in analyse_field("nước mắm").exact_bigrams


def test_plan_expands_synonyms_both_ways():
    synonyms = load_synonyms()
    plan = plan_query("trà xanh", synonyms)
    assert [a.exact for a in plan.slots[0].alternatives] == [("trà",), ("chè",)]
    assert plan.slots[0].alternatives[1].synonym
    assert plan.accented
    unaccented = plan_query("tra xanh", synonyms)
    assert ("che",) in [a.folded for a in unaccented.slots[0].alternatives]
    multi = plan_query("đậu phộng rang", synonyms)
    assert [a.exact for a in multi.slots[0].alternatives] == [("đậu", "phộng"), ("lạc",)]
    assert plan.folded_bigrams == ("tra_xanh",)


def test_organisers_extend_synonyms(tmp_path):
    extra = tmp_path / "synonyms.txt"
    extra.write_text("# mine\nbưởi, bòng\n\nchỉ một\n", encoding="utf-8")
    plan = plan_query("bưởi", load_synonyms(extra))
    assert ("bòng",) in [a.exact for a in plan.slots[0].alternatives]


def test_the_synonyms_file_parses():
    synonyms = load_synonyms()
    assert ("heo",) in synonyms.by_exact[("lợn",)]
    assert ("bắp",) in synonyms.by_exact[("ngô",)]
    assert ("lon",) in synonyms.by_folded


def test_plan_never_raises_on_random_text():
    rng = random.Random(7)
    alphabet = "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạ ÀÁ\"'():*~[]{}\\/&|!-+^%_\x00\t\n\ud800🙂"
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        plan = plan_query(text, load_synonyms())
        assert len(plan.tokens) <= 12
        assert all(t and "_" not in t for t in plan.tokens)


def test_query_normalisation():
    q = SearchQuery(
        text="  mây ", min_stars="4", page="0", per_page="500", sort="nope", district="ĐÔNG ANH"
    ).normalised()
    assert (q.text, q.min_stars, q.page, q.per_page, q.sort, q.district) == ("mây", 4, 1, 100, "relevance", "dong anh")
    assert SearchQuery(certification="Hữu cơ").normalised().certification == "organic"
    assert SearchQuery(min_stars=0).normalised().min_stars is None


def test_valid_stars_and_bands():
    from datetime import date

    today = date(2026, 12, 1)
    assert valid_stars(4, True, date(2025, 1, 1), date(2028, 1, 1), today) == 4
    assert valid_stars(4, False, date(2025, 1, 1), date(2028, 1, 1), today) == 0
    assert valid_stars(4, True, date(2022, 1, 1), date(2025, 1, 1), today) == 0
    assert valid_stars(4, True, date(2027, 1, 1), date(2030, 1, 1), today) == 0
    assert price_band(120_000, 180_000) == "100k-500k"
    assert price_band(None, None) is None
    assert edit_distance("cuonn", "cuon") == 1 and edit_distance("ab", "ba") == 1


def test_unknown_backend_is_refused(app):
    from marketplace.search import EXTENSION_KEY, get_backend

    app.config["SEARCH_BACKEND"] = "elastic"
    app.extensions[EXTENSION_KEY] = None
    with pytest.raises(RuntimeError):
        get_backend()


def test_postgres_backend_suite():
    if not _postgres_url():
        pytest.skip("the PostgreSQL backend runs only with TEST_DATABASE_URL set to a PostgreSQL database")


def test_postgres_schema_is_idempotent(search_app, backend_name):
    if backend_name != "postgres":
        pytest.skip("PostgreSQL only")
    import sqlalchemy as sa

    from marketplace.extensions import db
    from marketplace.search import get_backend

    backend = get_backend()
    backend.ensure_schema()
    backend.ensure_schema()
    with db.engine.connect() as conn:
        volatility = conn.scalar(sa.text("SELECT provolatile FROM pg_proc WHERE proname = 'vn_unaccent'"))
        assert volatility == "i"
        assert conn.scalar(sa.text("SELECT vn_unaccent(lower('ĐÔNG ANH'))")) == "dong anh"
        indexes = set(conn.scalars(sa.text("SELECT indexname FROM pg_indexes WHERE tablename LIKE 'search_%'")))
    assert {"ix_search_documents_document", "ix_search_documents_name_trgm", "ix_search_words_folded_trgm"} <= indexes


def test_control_characters_never_reach_the_database_as_text():
    from marketplace.core.vn_text import clean_line, nfc, strip_controls

    assert nfc("Miến\x00 dong\x1b[31m\x7f") == "Miến dong[31m"
    assert nfc("dòng 1\r\n\tdòng 2") == "dòng 1\r\n\tdòng 2"  # line breaks and tabs stay
    assert clean_line("Chè\x00\x00 Thái\u0000Nguyên") == "Chè TháiNguyên"
    assert strip_controls("\x00") == ""
