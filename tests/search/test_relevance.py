"""Labelled relevance queries on the repository's sample products, run for every backend.

Each case says what a buyer would notice: which product comes first, which ones fill the top k,
which ranks above which, which never appears.
"""

from __future__ import annotations

import unicodedata

import pytest

from marketplace.search import SearchQuery, search_products
from tests.search.conftest import refs_of

NFD = lambda text: unicodedata.normalize("NFD", text)  # noqa: E731

# (label, query fields, kind, expected)
#   first: the first result; top: the set of the first len(expected) results;
#   above: expected[0] ranks above expected[1] (both present); only: exactly these results;
#   none: none of these appear.
CASES = [
    # with and without diacritics
    ("rattan basket, accented", {"text": "làn mây"}, "first", "S-0001"),
    ("rattan basket, unaccented", {"text": "lan may"}, "first", "S-0001"),
    ("mây: rattan before garments", {"text": "mây"}, "top", {"S-0001", "S-0002"}),
    ("mây: rattan lamp above the tailored shirt", {"text": "mây"}, "above", ("S-0002", "S-0006")),
    ("may mặc: garments before rattan", {"text": "may mặc"}, "top", {"S-0006", "S-0032"}),
    ("may mặc never returns the rattan basket", {"text": "may mặc"}, "none", {"S-0001", "S-0002"}),
    ("áo len may mặc: the knitted sweater", {"text": "áo len may mặc"}, "first", "S-0032"),
    ("bánh cuốn above bánh chưng", {"text": "bánh cuốn"}, "first", "S-0033"),
    ("banh cuon unaccented", {"text": "banh cuon"}, "first", "S-0033"),
    ("bánh chưng", {"text": "bánh chưng"}, "first", "S-0011"),
    ("bánh: both cakes first", {"text": "bánh"}, "top", {"S-0011", "S-0033"}),
    ("quạt giấy", {"text": "quạt giấy"}, "first", "S-0030"),
    ("quat giay", {"text": "quat giay"}, "first", "S-0030"),
    ("nón lá", {"text": "nón lá"}, "first", "S-0007"),
    ("non la", {"text": "non la"}, "first", "S-0007"),
    ("miến dong: both vermicelli", {"text": "miến dong"}, "top", {"S-0009", "S-0010"}),
    ("gạo nếp", {"text": "gạo nếp"}, "first", "S-0025"),
    ("mật ong", {"text": "mật ong"}, "first", "S-0015"),
    ("khảm trai above khảm vỏ trứng", {"text": "khảm trai"}, "first", "S-0029"),
    ("sơn mài", {"text": "sơn mài"}, "first", "S-0008"),
    ("lụa tơ tằm", {"text": "lụa tơ tằm"}, "first", "S-0005"),
    # decomposed Unicode and capitals
    ("NFD làn mây", {"text": NFD("làn mây")}, "first", "S-0001"),
    ("NFD bánh cuốn", {"text": NFD("bánh cuốn")}, "first", "S-0033"),
    ("ĐÔNG ANH", {"text": "ĐÔNG ANH"}, "first", "S-0025"),
    ("dong anh", {"text": "dong anh"}, "first", "S-0025"),
    ("BÁT TRÀNG", {"text": "BÁT TRÀNG"}, "top", {"S-0003", "S-0004", "S-0024"}),
    ("old tone placement: hoà lâm", {"text": "Hoà Lâm"}, "first", "S-0006"),
    # English names
    ("rattan basket (en)", {"text": "rattan basket"}, "first", "S-0001"),
    ("silk scarf (en)", {"text": "silk scarf"}, "first", "S-0005"),
    ("green tea (en)", {"text": "green tea"}, "first", "S-0017"),
    ("honey (en)", {"text": "honey"}, "first", "S-0015"),
    ("ceramic (en)", {"text": "ceramic"}, "top", {"S-0003", "S-0004"}),
    ("lotus tea (en)", {"text": "lotus tea"}, "first", "S-0016"),
    # producers and craft villages
    ("producer Minh Long", {"text": "Minh Long"}, "first", "S-0003"),
    ("producer HTX Ong mật Ba Vì", {"text": "HTX Ong mật Ba Vì"}, "first", "S-0015"),
    ("household Nguyễn Văn Tám", {"text": "Nguyễn Văn Tám"}, "first", "S-0004"),
    ("village Vạn Phúc", {"text": "Vạn Phúc"}, "first", "S-0005"),
    ("village làng Chuông", {"text": "làng Chuông"}, "first", "S-0007"),
    ("village Chàng Sơn", {"text": "chang son"}, "first", "S-0030"),
    ("village La Phù", {"text": "La Phù"}, "first", "S-0032"),
    # places
    ("district Ba Vì", {"text": "Ba Vì"}, "top", {"S-0014", "S-0015", "S-0017", "S-0020"}),
    ("district Thanh Trì", {"text": "thanh tri"}, "top", {"S-0011", "S-0033"}),
    ("district Hoài Đức", {"text": "hoai duc"}, "top", {"S-0010", "S-0031", "S-0032"}),
    ("district Tây Hồ", {"text": "Tây Hồ"}, "top", {"S-0016", "S-0021", "S-0022"}),
    # filters
    ("gốm among tourism", {"text": "gốm", "group": "tourism"}, "only", {"S-0024"}),
    ("bưởi with 4★ ignores the expired certificate", {"text": "bưởi", "min_stars": 4}, "none", {"S-0013"}),
    ("district filter, any spelling", {"district": "dong anh"}, "only", {"S-0025"}),
    (
        "certification filter by label",
        {"certification": "VietGAP"},
        "only",
        {"S-0009", "S-0013", "S-0017", "S-0025", "S-0027", "S-0028", "S-0034"},
    ),
    ("certification alias: organic", {"text": "organic"}, "first", "S-0027"),
    ("price band", {"price_band": "500k-2m"}, "only", {"S-0003", "S-0016", "S-0021", "S-0022", "S-0029", "S-0034"}),
    # typos: fuzzy fallback
    ("typo banh cuonn", {"text": "banh cuonn"}, "first", "S-0033"),
    ("typo quat giayy", {"text": "quat giayy"}, "first", "S-0030"),
    ("typo bánh cuốnn", {"text": "bánh cuốnn"}, "first", "S-0033"),
    # synonyms
    ("trà xanh finds chè xanh", {"text": "trà xanh"}, "first", "S-0017"),
    ("chè sen finds trà sen", {"text": "chè sen"}, "first", "S-0016"),
    ("thịt heo finds thịt lợn", {"text": "thịt heo"}, "first", "S-0011"),
    ("trà: the typed word above its synonym", {"text": "trà"}, "above", ("S-0016", "S-0017")),
    # multi-word needs
    ("gà thả vườn Sơn Tây", {"text": "gà thả vườn Sơn Tây"}, "first", "S-0028"),
    ("quà tặng mây tre", {"text": "quà tặng mây tre"}, "first", "S-0001"),
    ("rau hữu cơ giao trong ngày", {"text": "rau hữu cơ giao trong ngày"}, "first", "S-0027"),
    ("đèn tre đan cho nhà hàng", {"text": "đèn tre đan cho nhà hàng"}, "first", "S-0002"),
    ("vit co van dinh", {"text": "vit co van dinh"}, "first", "S-0035"),
    ("words in no product are ignored when others match", {"text": "mật ong giá tốt"}, "first", "S-0015"),
]


@pytest.mark.parametrize(("label", "fields", "kind", "expected"), CASES, ids=[c[0] for c in CASES])
def test_relevance(catalogue, label, fields, kind, expected):
    result = search_products(SearchQuery(per_page=50, **fields))
    refs = refs_of(result)
    if kind == "first":
        assert refs[:1] == [expected], refs[:5]
    elif kind == "top":
        assert set(refs[: len(expected)]) == expected, refs[:8]
    elif kind == "above":
        high, low = expected
        assert high in refs and low in refs, refs
        assert refs.index(high) < refs.index(low), refs
    elif kind == "only":
        assert set(refs) == expected, refs
        assert result.total == len(expected)
    elif kind == "none":
        assert not set(refs) & expected, refs
    else:  # pragma: no cover
        raise AssertionError(kind)


def test_nfd_equals_nfc(catalogue):
    for text in ("làn mây", "bánh cuốn", "Đông Anh", "hoà"):
        composed = search_products(text=unicodedata.normalize("NFC", text))
        decomposed = search_products(text=unicodedata.normalize("NFD", text))
        assert refs_of(composed) == refs_of(decomposed)
        assert composed.total == decomposed.total


def test_capitals_equal_lower_case_without_diacritics(catalogue):
    assert refs_of(search_products(text="ĐÔNG ANH")) == refs_of(search_products(text="dong anh"))


def test_typo_offers_a_suggestion(catalogue):
    result = search_products(text="banh cuonn")
    assert result.suggestion == "banh cuon"
    accented = search_products(text="bánh cuốnn")
    assert accented.suggestion == "bánh cuốn"
    assert accented.corrected


def test_known_words_offer_no_suggestion(catalogue):
    result = search_products(text="làn mây")
    assert result.suggestion is None
    assert not result.corrected


def test_no_match_at_all_is_empty_with_no_error(catalogue):
    result = search_products(text="xyzxyzxyz qqqqqq")
    assert result.total == 0
    assert result.hits == []


def test_filters_combine_with_valid_stars(catalogue):
    result = search_products(group="handicraft", min_stars=4, per_page=100)
    refs = set(refs_of(result))
    assert refs == {"S-0001", "S-0003", "S-0005", "S-0008", "S-0029", "S-0031"}
    assert result.facets["ocop_group"] == {"handicraft": 6}
    assert set(result.facets["ocop_stars"]) == {"4"}


def test_facets_count_all_matches_with_valid_stars(catalogue):
    result = search_products(per_page=5)
    assert result.total == 35
    assert len(result.hits) == 5
    facets = result.facets
    assert sum(facets["ocop_group"].values()) == 35
    assert sum(facets["ocop_stars"].values()) == 35
    # S-0013 (expired) and S-0026 (unrated) count as 0 stars
    assert facets["ocop_stars"]["0"] == 2
    assert facets["district"]["Ba Vì"] == 4
    assert facets["certification"]["vietgap"] == 7
    assert set(facets) == {"ocop_group", "ocop_stars", "district", "certification", "price_band"}


def test_min_stars_counts_only_valid_certificates(catalogue):
    expired = search_products(text="bưởi")
    assert refs_of(expired) == ["S-0013"]
    assert expired.facets["ocop_stars"] == {"0": 1}
    assert search_products(text="bưởi", min_stars=3).total == 0


@pytest.mark.parametrize("sort", ["stars", "price_asc", "price_desc", "newest", "relevance"])
def test_sorts_and_pagination_cover_everything_once(catalogue, sort):
    seen: list[int] = []
    page = 1
    while True:
        result = search_products(sort=sort, page=page, per_page=10)
        seen += result.product_ids
        if page >= result.pages:
            break
        page += 1
    assert len(seen) == len(set(seen)) == 35


def test_sort_by_price(catalogue):
    ascending = search_products(text="gốm", sort="price_asc")
    prices = [_price(r) for r in refs_of(ascending)]
    assert prices == sorted(prices)
    stars = search_products(sort="stars", per_page=100)
    from marketplace.catalog.models import Product
    from marketplace.catalog.stars import effective_stars
    from marketplace.extensions import db

    by_ref = {p.ref: effective_stars(p.certificate) for p in db.session.scalars(db.select(Product))}
    counted = [by_ref[r] for r in refs_of(stars)]
    assert counted == sorted(counted, reverse=True)


def _price(ref: str) -> int:
    from marketplace.catalog.models import Product
    from marketplace.extensions import db

    return db.session.execute(db.select(Product.price_min_vnd).where(Product.ref == ref)).scalar_one()


def test_highlights_mark_the_matched_words(catalogue):
    result = search_products(text="lan may")
    hit = result.hits[0]
    assert "<mark>Làn</mark>" in hit.highlights["name"]
    assert "<mark>mây</mark>" in hit.highlights["name"]
    assert "description" in hit.highlights


def test_highlights_escape_html(catalogue):
    # the text is user data: it is escaped, only <mark> is markup
    from marketplace.search.base import highlight

    marked = highlight("<b>mây</b> & tre", {"may"})
    assert str(marked) == "&lt;b&gt;<mark>mây</mark>&lt;/b&gt; &amp; tre"


def test_autocomplete(catalogue):
    from marketplace.search import suggest

    assert suggest("banh c")[:2] == ["Bánh cuốn Thanh Trì"] or "Bánh cuốn Thanh Trì" in suggest("banh c")
    names = suggest("ban")
    assert "Bánh chưng Tranh Khúc" in names and "Bánh cuốn Thanh Trì" in names
    assert len(suggest("b", limit=8)) <= 8
    assert suggest("mâ")[0] == "Làn mây đan tay"
    assert suggest("") == []
    assert suggest('"*:(') == []


def test_producer_search(catalogue):
    from marketplace.producers.models import Producer
    from marketplace.search import search_producers
    from tests.search.conftest import db

    ids = search_producers("bát tràng")
    names = [db.session.get(Producer, i).name for i in ids]
    assert "Công ty TNHH Gốm Minh Long Bát Tràng" in names
    assert len(ids) == len(set(ids))


def test_results_without_highlights_rank_the_same(catalogue):
    """search_producers asks for ids only: the same hits in the same order, no snippets built."""
    from marketplace.search import SearchQuery, search_products

    with_marks = search_products(SearchQuery(text="gốm bát tràng", per_page=50, with_facets=False))
    bare = search_products(SearchQuery(text="gốm bát tràng", per_page=50, with_facets=False, with_highlights=False))
    assert with_marks.product_ids and bare.product_ids == with_marks.product_ids
    assert all(hit.highlights for hit in with_marks.hits)
    assert not any(hit.highlights for hit in bare.hits)


def test_a_correction_of_every_word_is_only_suggested(catalogue):
    """'shan tuyet' became 'san thuyet' and showed unrelated tours: when every word would change
    and the result is no known phrase, nothing is shown in its place; the suggestion stays."""
    both = search_products(text="banhh cuonn")  # a known phrase: shown
    assert both.corrected and both.total
    unrelated = search_products(text="rungg chongg")  # both in one description, not as a phrase
    assert unrelated.suggestion and not unrelated.corrected
    assert unrelated.total == 0
