"""GET /api/v1/sales-points."""

from __future__ import annotations

import pytest

from marketplace.extensions import db
from tests.helpers import make_product, make_sales_point


def refs(response) -> list[str]:
    return [item["ref"] for item in response.get_json()["items"]]


@pytest.fixture
def points(app):
    rice = make_product(ref="P-1", name="Gạo nếp")
    tea = make_product(ref="P-2", name="Trà sen")
    draft = make_product(ref="P-3", status="draft")
    hidden = make_product(ref="P-4", hidden=True)
    created = {
        "hoan_kiem": make_sales_point(
            [rice, tea, draft, hidden],
            ref="SP-01",
            name="Điểm OCOP Hoàn Kiếm",
            district="Hoàn Kiếm",
            commune="Hàng Trống",
            address="25 Hàng Trống",
            lat=21.029,
            lng=105.851,
            opening_hours="08:00-21:00",
        ),
        "airport": make_sales_point([rice], ref="SP-02", kind="airport", district="Sóc Sơn", lat=21.221, lng=105.807),
        # no coordinates: the Đông Anh centroid stands in for distances
        "dong_anh": make_sales_point([tea], ref="SP-03", kind="market", district="Đông Anh"),
        # no coordinates and an unknown district: sorts last
        "nowhere": make_sales_point([], ref="SP-04", district="Không rõ"),
        "pending": make_sales_point([rice], ref="SP-05", status="pending", district="Hoàn Kiếm"),
        "suspended": make_sales_point([rice], ref="SP-06", status="suspended", district="Hoàn Kiếm"),
    }
    db.session.commit()
    return created


def test_lists_only_approved_points_with_contract_fields(client, points):
    response = client.get("/api/v1/sales-points")
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 4 and body["page"] == 1 and body["per_page"] == 20
    assert refs(response) == ["SP-01", "SP-02", "SP-03", "SP-04"]
    assert body["items"][0] == {
        "ref": "SP-01",
        "name": "Điểm OCOP Hoàn Kiếm",
        "kind": "shop",
        "district": "Hoàn Kiếm",
        "commune": "Hàng Trống",
        "address": "25 Hàng Trống",
        "lat": 21.029,
        "lng": 105.851,
        "opening_hours": "08:00-21:00",
        "product_refs": ["P-1", "P-2"],  # not the draft or hidden product
        "distance_km": None,
    }


def test_filters(client, points):
    assert refs(client.get("/api/v1/sales-points?district=hoan kiem")) == ["SP-01"]
    assert refs(client.get("/api/v1/sales-points?district=Nowhere")) == []
    assert refs(client.get("/api/v1/sales-points?kind=airport")) == ["SP-02"]
    assert refs(client.get("/api/v1/sales-points?product=P-1")) == ["SP-01", "SP-02"]
    assert refs(client.get("/api/v1/sales-points?product=P-2&district=Đông Anh")) == ["SP-03"]
    assert refs(client.get("/api/v1/sales-points?product=P-3")) == []  # draft products reveal nothing
    assert refs(client.get("/api/v1/sales-points?product=NO-SUCH")) == []


def test_near_sorts_by_distance(client, points):
    body = client.get("/api/v1/sales-points?near=21.029,105.851").get_json()
    assert [i["ref"] for i in body["items"]] == ["SP-01", "SP-03", "SP-02", "SP-04"]
    distances = [i["distance_km"] for i in body["items"]]
    assert distances[0] == 0.0
    assert 10 < distances[1] < distances[2] < 30  # Đông Anh centroid ~13 km, Nội Bài ~21 km
    assert distances[2] == round(distances[2], 2)
    assert distances[3] is None
    assert body["total"] == 4


def test_near_with_pagination_and_filters(client, points):
    body = client.get("/api/v1/sales-points?near=21.22,105.80&per_page=1&page=1").get_json()
    assert [i["ref"] for i in body["items"]] == ["SP-02"] and body["total"] == 4
    body = client.get("/api/v1/sales-points?near=21.22,105.80&per_page=1&page=5").get_json()
    assert body["items"] == [] and body["total"] == 4
    assert refs(client.get("/api/v1/sales-points?near=21,105.8&kind=market")) == ["SP-03"]


@pytest.mark.parametrize(
    "near", ["abc", "91,200", "21.0", "nan,1", "1,inf", "21.0,105.8,3", "-91,0", "0,181", ",", "21.0;105.8"]
)
def test_bad_near_is_400(client, points, near):
    response = client.get("/api/v1/sales-points", query_string={"near": near})
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "near"


@pytest.mark.parametrize(
    "params,field",
    [
        ({"page": "abc"}, "page"),
        ({"page": "0"}, "page"),
        ({"per_page": "0"}, "per_page"),
        ({"per_page": "101"}, "per_page"),
        ({"kind": "castle"}, "kind"),
    ],
)
def test_bad_parameters_are_400(client, points, params, field):
    response = client.get("/api/v1/sales-points", query_string=params)
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == field


def test_pagination(client, points):
    body = client.get("/api/v1/sales-points?per_page=3&page=2").get_json()
    assert [i["ref"] for i in body["items"]] == ["SP-04"] and body["total"] == 4
    body = client.get("/api/v1/sales-points?per_page=3&page=7").get_json()
    assert body["items"] == [] and body["total"] == 4
