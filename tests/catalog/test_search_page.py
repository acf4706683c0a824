"""The search page (/products?q=…) and the autocomplete endpoint (/goi-y)."""

from __future__ import annotations

import html as html_lib
import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest

from marketplace.extensions import db
from tests.helpers import make_producer, make_product, make_sales_point


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def hit_refs(page: str) -> list[str]:
    return re.findall(r'data-search-hit data-ref="([^"]+)"', page)


def facet_links(page: str, param: str) -> dict[str, tuple[str, str]]:
    """value -> (href, text) of the facet links for `param`."""
    found = {}
    pattern = rf'<a href="([^"]+)" class="facet-link[^"]*"\s+data-facet="{param}" data-value="([^"]+)"[^>]*>(.*?)</a>'
    for href, value, text in re.findall(pattern, page, flags=re.S):
        found[html_lib.unescape(value)] = (html_lib.unescape(href), re.sub(r"\s+", " ", re.sub("<[^>]+>", "", text)))
    return found


def query_of(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


@pytest.fixture
def catalogue(app):
    rattan = make_producer(name="HTX Mây tre đan Phú Vinh", district="Chương Mỹ", craft_village="Phú Vinh")
    tea = make_producer(name="HTX Chè Ba Vì", district="Ba Vì", commune="Ba Trại")
    make_product(
        rattan,
        ref="LAN-4",
        name="Làn mây đan tay",
        stars=4,
        description="Làn mây đan thủ công bền đẹp, dùng đi chợ hoặc trang trí.",
        price_min_vnd=250_000,
        certifications="vietgap",
        ocop_group="handicraft",
    )
    make_product(rattan, ref="LAN-3", name="Làn mây mini", stars=3, price_min_vnd=80_000, ocop_group="handicraft")
    make_product(
        rattan,
        ref="LAN-X",
        name="Làn mây hết hạn",
        stars=5,
        issued_on=date(2022, 1, 10),
        price_min_vnd=900_000,
        ocop_group="handicraft",
    )
    make_product(rattan, ref="LAN-U", name="Làn mây chờ xác minh", stars=5, verified=False, ocop_group="handicraft")
    make_product(tea, ref="CHE-5", name="Chè búp Ba Vì", stars=5, price_min_vnd=300_000, ocop_group="beverage")
    make_product(tea, ref="CHE-D", name="Chè nháp", stars=4, status="draft", ocop_group="beverage")
    make_sales_point(name="Điểm bán OCOP Phú Vinh", district="Chương Mỹ", ref="SP-PV")
    make_sales_point(name="Cửa hàng mây tre chờ duyệt", status="pending", ref="SP-PEND")
    db.session.commit()  # the search outbox is applied after commit
    return app


def test_finds_products_typed_without_diacritics(client, catalogue):
    page = html(client.get("/products?q=lan may"))
    assert set(hit_refs(page)) == {"LAN-4", "LAN-3", "LAN-X", "LAN-U"}
    assert "<mark>Làn</mark> <mark>mây</mark>" in page  # highlighted words
    assert "Kết quả cho “lan may”" in page
    assert 'value="relevance" selected' in page  # relevance is the default sort with q
    assert "CHE-D" not in page  # drafts never appear


def test_snippet_highlights_the_description(client, catalogue):
    page = html(client.get("/products?q=di cho"))
    assert hit_refs(page) == ["LAN-4"]
    assert re.search(r'class="search-snippet">[^<]*<mark>đi</mark> <mark>chợ</mark>', page)


def test_facet_counts_are_shown(client, catalogue):
    page = html(client.get("/products?q=lan may"))
    groups = facet_links(page, "group")
    assert "(4)" in groups["handicraft"][1]
    districts = facet_links(page, "district")
    assert "Chương Mỹ" in districts and "(4)" in districts["Chương Mỹ"][1]
    certs = facet_links(page, "certification")
    assert "(1)" in certs["vietgap"][1]
    bands = facet_links(page, "price_band")
    assert set(bands) == {"lt100k", "100k-500k", "500k-2m"}
    assert all("(1)" in text for _, text in bands.values())


def test_stars_facet_counts_only_valid_certificates(client, catalogue):
    page = html(client.get("/products?q=lan may"))
    stars = facet_links(page, "min_stars")
    # Valid: one 4★ and one 3★; the expired and the unverified 5★ count 0 stars.
    assert "5" not in stars
    assert "(1)" in stars["4"][1] and "(2)" in stars["3"][1]
    filtered = html(client.get(stars["4"][0]))
    assert hit_refs(filtered) == ["LAN-4"]


def test_facet_links_combine_filters(client, catalogue):
    page = html(client.get("/products?q=lan may&certification=vietgap&sort=price_asc"))
    assert hit_refs(page) == ["LAN-4"]
    href = facet_links(page, "min_stars")["4"][0]
    args = query_of(href)
    assert args["q"] == ["lan may"] and args["certification"] == ["vietgap"] and args["min_stars"] == ["4"]
    assert args["sort"] == ["price_asc"]
    combined = html(client.get(href))
    assert hit_refs(combined) == ["LAN-4"]
    # The active facet is checked; its link removes it and keeps the others.
    active = facet_links(combined, "min_stars")["4"][0]
    assert 'aria-checked="true"' in combined
    assert "min_stars" not in query_of(active) and query_of(active)["certification"] == ["vietgap"]
    # The summary of active filters has a remove link per filter.
    assert "Bỏ bộ lọc VietGAP" in combined and "Bỏ bộ lọc 4 sao" not in combined
    assert "Bỏ bộ lọc Từ 4 sao trở lên" in combined
    band = html(client.get("/products?q=lan may&price_band=lt100k"))
    assert hit_refs(band) == ["LAN-3"]
    assert 'name="price_band" value="lt100k"' in band  # the sidebar form keeps it


def test_sort_by_price(client, catalogue):
    page = html(client.get("/products?q=lan may&sort=price_desc"))
    assert hit_refs(page)[:3] == ["LAN-X", "LAN-4", "LAN-3"]


def test_spelling_suggestion_link(client, catalogue):
    page = html(client.get("/products?q=lam mayy"))
    match = re.search(r'<a href="([^"]+)" data-suggestion><strong>([^<]+)</strong>', page)
    assert match, page
    suggestion = html_lib.unescape(match.group(2))
    assert "mây" in suggestion or "may" in suggestion
    assert query_of(html_lib.unescape(match.group(1)))["q"] == [suggestion]
    assert "Có phải bạn muốn tìm" in page or "Đang hiển thị kết quả cho" in page


def test_empty_state_with_suggestions(client, catalogue):
    page = html(client.get("/products?q=xyzzyqwv"))
    assert "Không có sản phẩm nào phù hợp" in page and "Xem theo nhóm" in page
    assert hit_refs(page) == []


def test_producers_and_sales_points_sections(client, catalogue):
    page = html(client.get("/products?q=phu vinh"))
    assert "HTX Mây tre đan Phú Vinh" in page and "/producers/" in page
    assert "Điểm bán OCOP Phú Vinh" in page and "/diem-ban/SP-PV" in page
    other = html(client.get("/products?q=may tre"))
    assert "chờ duyệt" not in other  # only approved sales points


@pytest.mark.parametrize(
    "q",
    [
        '"làn mây',
        "name:(",
        "*",
        "lan~ AND OR (",
        "\\",
        "x" * 3000,
        "'; DROP TABLE products; --",
        "1' OR '1'='1",
        "%_%",
        "<script>alert(1)</script>",
    ],
)
def test_odd_queries_answer_200(client, catalogue, q):
    response = client.get("/products", query_string={"q": q, "page": "2"})
    page = html(response)
    assert "<script>alert(1)</script>" not in page
    suggest = client.get("/goi-y", query_string={"q": q})
    assert suggest.status_code == 200 and suggest.is_json
    assert len(suggest.get_json()["suggestions"]) <= 8


def test_suggest_endpoint(client, catalogue):
    for n in range(12):
        make_product(name=f"Làn mây mẫu {n:02d}", ocop_group="handicraft")
    db.session.commit()
    data = client.get("/goi-y?q=lan ma").get_json()
    assert 1 <= len(data["suggestions"]) <= 8
    assert all("Làn mây" in s for s in data["suggestions"])
    assert client.get("/goi-y").get_json() == {"suggestions": []}
    assert client.get("/goi-y?q=%20%20").get_json() == {"suggestions": []}


def test_empty_q_keeps_the_sql_listing(client, catalogue):
    page = html(client.get("/products?q="))
    assert "data-search-hit" not in page and 'class="card product-card"' in page
    assert "Sản phẩm OCOP Hà Nội" in page and "facet-link" not in page
    assert 'value="newest" selected' in page
    stars = html(client.get("/products?min_stars=4"))
    assert "Làn mây đan tay" in stars and "Làn mây hết hạn" not in stars


def test_header_box_is_a_combobox_source(client, catalogue):
    page = html(client.get("/"))
    assert 'data-suggest-url="/goi-y"' in page and "js/autocomplete.js" in page
    script = client.get("/static/js/autocomplete.js")
    try:
        assert script.status_code == 200
    finally:
        script.close()


def test_star_facets_do_not_repeat_from_3_stars(client, catalogue):
    """OCOP stars in Hà Nội are 3-5: 'from 2★' and 'from 1★' listed the same products as 'from 3★'."""
    links = facet_links(html(client.get("/products?q=lan may")), "min_stars")
    assert "3" in links and "2" not in links and "1" not in links
