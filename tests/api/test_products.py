"""GET /api/v1/products and /api/v1/products/<ref>."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from marketplace.extensions import db
from tests.helpers import make_producer, make_product, make_sales_point

EXPIRED = date(2022, 10, 10)  # + 36 months = 2025-10-10, before TestConfig's today 2026-12-01


def get(client, path="/api/v1/products", **params):
    response = client.get(path, query_string=params)
    assert response.is_json, response.data[:200]
    return response


def refs(response) -> list[str]:
    return [item["ref"] for item in response.get_json()["items"]]


@pytest.fixture
def catalog(app):
    """A small catalogue across groups, districts, stars and certificate states."""
    phu_vinh = make_producer(name="HTX Mây tre đan Phú Vinh", district="Chương Mỹ", commune="Phú Nghĩa")
    cu_da = make_producer(name="HTX Miến Cự Đà", district="Thanh Oai", commune="Cự Khê")
    dong_anh = make_producer(name="HTX Nông nghiệp Đông Anh", district="Đông Anh", commune="Vân Nội")
    products = {
        "basket": make_product(
            phu_vinh,
            ref="A-1",
            name="Làn mây đan tay",
            name_en="Hand-woven rattan basket",
            ocop_group="handicraft",
            stars=4,
            price_min_vnd=120_000,
            price_max_vnd=180_000,
            unit="chiếc",
            published_at=datetime(2026, 1, 1, tzinfo=UTC),
        ),
        "lamp": make_product(
            phu_vinh,
            ref="A-2",
            name="Đèn tre đan",
            ocop_group="handicraft",
            stars=3,
            price_min_vnd=250_000,
            price_max_vnd=450_000,
            published_at=datetime(2026, 3, 1, tzinfo=UTC),
        ),
        "noodles": make_product(
            cu_da,
            ref="A-3",
            name="Miến dong sợi nhỏ",
            ocop_group="food",
            stars=5,
            certifications="vietgap;haccp",
            price_min_vnd=60_000,
            published_at=datetime(2026, 2, 1, tzinfo=UTC),
        ),
        "expired": make_product(
            dong_anh,
            ref="A-4",
            name="Bưởi Diễn",
            ocop_group="food",
            stars=4,
            issued_on=EXPIRED,
            certifications="organic",
        ),
        "unverified": make_product(dong_anh, ref="A-5", name="Gạo nếp cái hoa vàng", stars=4, verified=False),
        "unrated": make_product(dong_anh, ref="A-6", name="Chè lam gừng", stars=0),
        "draft": make_product(cu_da, ref="A-7", name="Miến dong nháp", status="draft"),
        "archived": make_product(cu_da, ref="A-8", name="Miến dong cũ", status="archived"),
        "hidden": make_product(cu_da, ref="A-9", name="Miến dong bị ẩn", hidden=True),
    }
    db.session.commit()
    return products


PUBLIC = {"A-1", "A-2", "A-3", "A-4", "A-5", "A-6"}


def test_lists_public_products_with_contract_fields(client, catalog):
    response = get(client)
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 6 and body["page"] == 1 and body["per_page"] == 20
    assert set(refs(response)) == PUBLIC
    assert body["suggestion"] is None
    basket = next(i for i in body["items"] if i["ref"] == "A-1")
    assert basket == {
        "ref": "A-1",
        "id": catalog["basket"].id,
        "name": "Làn mây đan tay",
        "name_en": "Hand-woven rattan basket",
        "ocop_group": "handicraft",
        "ocop_stars": 4,
        "certificate_status": "valid",
        "unit": "chiếc",
        "price_min_vnd": 120_000,
        "price_max_vnd": 180_000,
        "producer": {
            "id": catalog["basket"].producer.id,
            "name": "HTX Mây tre đan Phú Vinh",
            "district": "Chương Mỹ",
            "commune": "Phú Nghĩa",
        },
        "url": "/san-pham/A-1",
    }


def test_certificate_states_count_stars_only_when_valid(client, catalog):
    items = {i["ref"]: i for i in get(client).get_json()["items"]}
    assert (items["A-4"]["ocop_stars"], items["A-4"]["certificate_status"]) == (0, "expired")
    assert (items["A-5"]["ocop_stars"], items["A-5"]["certificate_status"]) == (0, "unverified")
    assert (items["A-6"]["ocop_stars"], items["A-6"]["certificate_status"]) == (0, "none")
    assert (items["A-3"]["ocop_stars"], items["A-3"]["certificate_status"]) == (5, "valid")


def test_draft_archived_and_hidden_are_never_listed(client, catalog):
    for params in ({}, {"q": "miến"}, {"group": "food"}, {"sort": "newest"}):
        assert not set(refs(get(client, **params))) & {"A-7", "A-8", "A-9"}


def test_filter_group(client, catalog):
    assert set(refs(get(client, group="handicraft"))) == {"A-1", "A-2"}
    assert refs(get(client, group="tourism")) == []


def test_filter_min_stars_ignores_invalid_certificates(client, catalog):
    assert set(refs(get(client, min_stars=4))) == {"A-1", "A-3"}
    assert refs(get(client, min_stars=5)) == ["A-3"]
    assert set(refs(get(client, min_stars=0))) == PUBLIC


def test_filter_district_folded(client, catalog):
    for value in ("Đông Anh", "dong anh", "ĐÔNG ANH", "  Dong   Anh "):
        assert set(refs(get(client, district=value))) == {"A-4", "A-5", "A-6"}, value
    assert refs(get(client, district="Nowhere")) == []


def test_filter_certification_by_code_or_alias(client, catalog):
    assert refs(get(client, certification="VietGAP")) == ["A-3"]
    assert refs(get(client, certification="haccp")) == ["A-3"]
    assert refs(get(client, certification="Hữu cơ")) == ["A-4"]
    assert refs(get(client, certification="100%_")) == []


def test_filters_combine(client, catalog):
    assert refs(get(client, group="food", min_stars=4, district="thanh oai")) == ["A-3"]


def test_sorts(client, catalog):
    assert refs(get(client, sort="price_asc"))[:3] == ["A-3", "A-1", "A-2"]
    assert refs(get(client, sort="price_desc"))[:3] == ["A-2", "A-1", "A-3"]
    assert refs(get(client, sort="stars"))[:3] == ["A-3", "A-1", "A-2"]
    assert refs(get(client, sort="newest", min_stars=3)) == ["A-2", "A-3", "A-1"]
    assert refs(get(client, sort="relevance")) == refs(get(client))


def test_price_sorts_put_unknown_prices_last(client, catalog):
    assert refs(get(client, sort="price_asc"))[-1] in {"A-4", "A-5", "A-6"}
    assert refs(get(client, sort="price_desc"))[-1] in {"A-4", "A-5", "A-6"}


def test_facets_count_all_matches(client, catalog):
    body = get(client, per_page=1).get_json()
    assert len(body["items"]) == 1
    assert body["facets"]["ocop_group"] == {"food": 4, "handicraft": 2}
    assert body["facets"]["ocop_stars"] == {"5": 1, "4": 1, "3": 1, "0": 3}
    assert body["facets"]["district"] == {"Đông Anh": 3, "Chương Mỹ": 2, "Thanh Oai": 1}
    filtered = get(client, group="food").get_json()["facets"]
    assert filtered["ocop_group"] == {"food": 4}
    assert filtered["ocop_stars"] == {"5": 1, "0": 3}


def test_pagination(client, catalog):
    first = get(client, per_page=4, page=1).get_json()
    second = get(client, per_page=4, page=2).get_json()
    assert (first["total"], len(first["items"]), len(second["items"])) == (6, 4, 2)
    assert not {i["ref"] for i in first["items"]} & {i["ref"] for i in second["items"]}
    beyond = get(client, per_page=4, page=9).get_json()
    assert beyond["items"] == [] and beyond["total"] == 6 and beyond["page"] == 9
    assert len(get(client, per_page=100).get_json()["items"]) == 6


def test_q_folded_substring(client, catalog):
    assert refs(get(client, q="làn mây")) == ["A-1"]
    assert refs(get(client, q="lan may")) == ["A-1"]
    assert refs(get(client, q="rattan")) == ["A-1"]
    assert refs(get(client, q="Cự Đà")) == ["A-3"]  # producer name
    assert refs(get(client, q="miến", group="handicraft")) == []
    body = get(client, q="đan").get_json()
    assert set(refs_of(body)) == {"A-1", "A-2"} and body["facets"]["ocop_group"] == {"handicraft": 2}
    assert refs(get(client, q="đan", sort="price_desc")) == ["A-2", "A-1"]


def refs_of(body) -> list[str]:
    return [i["ref"] for i in body["items"]]


ODD_QUERIES = ['"', "mây AND", "name:(", "*", "~~", "a" * 3000, "') OR 1=1 --", "[]{}", "%_\\", "\x00", "   "]


@pytest.mark.parametrize("q", ODD_QUERIES)
def test_odd_queries_answer_200(client, catalog, q):
    response = get(client, q=q)
    assert response.status_code == 200
    assert "items" in response.get_json()


@pytest.mark.parametrize(
    "params,field",
    [
        ({"page": "abc"}, "page"),
        ({"page": "0"}, "page"),
        ({"page": "-1"}, "page"),
        ({"page": "1.5"}, "page"),
        ({"page": "9" * 40}, "page"),
        ({"per_page": "0"}, "per_page"),
        ({"per_page": "101"}, "per_page"),
        ({"per_page": "5000"}, "per_page"),
        ({"per_page": "x"}, "per_page"),
        ({"min_stars": "9"}, "min_stars"),
        ({"min_stars": "-1"}, "min_stars"),
        ({"min_stars": "abc"}, "min_stars"),
        ({"group": "xyz"}, "group"),
        ({"sort": "cheapest"}, "sort"),
    ],
)
def test_bad_parameters_are_400(client, catalog, params, field):
    response = get(client, **params)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["field"] == field and error["code"] and error["message"]


def test_product_detail(client, catalog):
    basket = catalog["basket"]
    shop = make_sales_point([basket], ref="SP-A", name="Cửa hàng OCOP", district="Hoàn Kiếm", lat=21.03, lng=105.85)
    make_sales_point([basket], ref="SP-P", status="pending")
    make_sales_point([basket], ref="SP-S", status="suspended")
    make_sales_point([catalog["lamp"]], ref="SP-O")
    db.session.commit()
    response = get(client, "/api/v1/products/A-1")
    assert response.status_code == 200
    body = response.get_json()
    assert body["ref"] == "A-1" and body["ocop_stars"] == 4 and body["producer"]["district"] == "Chương Mỹ"
    assert body["description"] == ""
    assert body["certificate"] == {
        "stars": 4,
        "number": basket.certificate.number,
        "level": "province",
        "issued_on": "2025-03-01",
        "expires_on": "2028-03-01",
        "status": "valid",
    }
    assert [p["ref"] for p in body["sales_points"]] == ["SP-A"]
    point = body["sales_points"][0]
    assert point["name"] == shop.name and point["product_refs"] == ["A-1"] and point["distance_km"] is None


def test_product_detail_certificate_states(client, catalog):
    expired = get(client, "/api/v1/products/A-4").get_json()
    assert expired["ocop_stars"] == 0
    assert expired["certificate"]["stars"] == 4 and expired["certificate"]["status"] == "expired"
    assert expired["certificate"]["expires_on"] == "2025-10-10"
    none = get(client, "/api/v1/products/A-6").get_json()
    assert none["certificate"]["status"] == "none" and none["certificate"]["stars"] == 0
    assert get(client, "/api/v1/products/A-5").get_json()["certificate"]["status"] == "unverified"


@pytest.mark.parametrize("ref", ["A-7", "A-8", "A-9", "NO-SUCH-REF", "a%00b", "x" * 500])
def test_product_detail_404_for_unknown_or_private(client, catalog, ref):
    response = get(client, f"/api/v1/products/{ref}")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_list_does_not_grow_queries_with_items(client, app, catalog):
    import sqlalchemy as sa

    statements: list[str] = []

    def count(*_args):
        statements.append("x")

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        client.get("/api/v1/products?per_page=2")
        few = len(statements)
        statements.clear()
        client.get("/api/v1/products?per_page=100")
        many = len(statements)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert many == few


def test_q_searches_the_index_with_filters_facets_and_suggestion(client, catalog):
    db.session.commit()  # the search outbox is applied after commit

    body = get(client, q="lan may").get_json()
    assert refs_of(body)[:1] == ["A-1"]  # no diacritics typed, the rattan basket first
    assert body["facets"]["ocop_group"].get("handicraft", 0) >= 1
    assert refs_of(get(client, q="rattan basket").get_json())[:1] == ["A-1"]  # English name
    filtered = get(client, q="đan", group="food").get_json()
    assert "A-1" not in refs_of(filtered)  # filters still hold under a text query
    assert "A-9" not in refs_of(get(client, q="miến dong").get_json())  # hidden products never appear
    typo = get(client, q="mien dongg").get_json()
    assert typo["suggestion"] is None or isinstance(typo["suggestion"], str)
