"""POST /api/v1/match (CONTRACT.md)."""

from __future__ import annotations

import json

import pytest

from config import TestConfig
from marketplace import create_app
from marketplace.extensions import db


def post(client, body, raw: bool = False):
    data = body if raw else json.dumps(body)
    return client.post("/api/v1/match", data=data, content_type="application/json")


def test_contract_examples(client, sample):
    response = post(client, {"text": "miến dong", "quantity": 500, "unit": "kg", "min_stars": 4})
    assert response.status_code == 200
    body = response.get_json()
    refs = [s["product"]["ref"] for s in body["suppliers"]]
    assert refs[:1] == ["S-0009"] and "S-0010" not in refs
    assert all(s["reasons"] for s in body["suppliers"] + body["sales_points"])
    points = [
        p["sales_point"]["ref"]
        for p in post(client, {"text": "gốm", "district": "Hoàn Kiếm"}).get_json()["sales_points"]
    ]
    assert points[:1] == ["SP-01"] and "SP-07" not in points


def test_response_shape(client, sample):
    body = post(client, {"text": "gốm", "district": "Hoàn Kiếm", "limit": 2}).get_json()
    assert set(body) >= {"suppliers", "sales_points", "need", "warnings"}
    supplier = body["suppliers"][0]
    assert set(supplier) >= {"score", "reasons", "product", "producer"}
    assert set(supplier["product"]) >= {
        "ref", "id", "name", "name_en", "ocop_group", "ocop_stars", "certificate_status", "unit",
        "price_min_vnd", "price_max_vnd", "producer", "url",
    }  # fmt: skip
    assert {"id", "name", "district"} <= set(supplier["producer"])
    assert isinstance(supplier["score"], int | float)
    assert len(body["suppliers"]) <= 2 and len(body["sales_points"]) <= 2
    point = body["sales_points"][0]["sales_point"]
    assert set(point) >= {
        "ref",
        "name",
        "kind",
        "district",
        "commune",
        "address",
        "lat",
        "lng",
        "opening_hours",
        "product_refs",
        "distance_km",
    }
    assert point["product_refs"] == ["S-0003", "S-0005", "S-0016", "S-0029"]
    assert point["distance_km"] < 1
    assert body["need"]["district"] == "Hoàn Kiếm"


def test_scores_are_best_first(client, sample):
    body = post(client, {"text": "dong"}).get_json()
    scores = [s["score"] for s in body["suppliers"]]
    assert scores == sorted(scores, reverse=True)


def test_text_hints_are_reported(client, sample):
    body = post(client, {"text": "cần mua 500 kg miến dong, giao tới Cầu Giấy"}).get_json()
    assert body["need"]["content"] == "miến dong"
    assert (body["need"]["quantity"], body["need"]["unit"], body["need"]["district"]) == (500, "kg", "Cầu Giấy")


def test_unknown_district_is_a_warning_not_an_error(client, sample):
    response = post(client, {"text": "gốm", "district": "Phường Không Có"})
    assert response.status_code == 200
    assert response.get_json()["warnings"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": 42, "quantity": "many"}, "text"),
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": None}, "text"),
        ({"text": "x" * 2001}, "text"),
        ({"text": "miến", "quantity": "many"}, "quantity"),
        ({"text": "miến", "quantity": 0}, "quantity"),
        ({"text": "miến", "quantity": -5}, "quantity"),
        ({"text": "miến", "quantity": True}, "quantity"),
        ({"text": "miến", "min_stars": 6}, "min_stars"),
        ({"text": "miến", "min_stars": -1}, "min_stars"),
        ({"text": "miến", "min_stars": "4"}, "min_stars"),
        ({"text": "miến", "min_stars": 4.5}, "min_stars"),
        ({"text": "miến", "ocop_group": "weapons"}, "ocop_group"),
        ({"text": "miến", "ocop_group": 3}, "ocop_group"),
        ({"text": "miến", "unit": ["kg"]}, "unit"),
        ({"text": "miến", "lat": 21.0}, "lng"),
        ({"text": "miến", "lat": 95, "lng": 105}, "lat"),
        ({"text": "miến", "lat": "21", "lng": "105"}, "lat"),
        ({"text": "miến", "max_price_vnd": -1}, "max_price_vnd"),
        ({"text": "miến", "max_price_vnd": 1.5}, "max_price_vnd"),
        ({"text": "miến", "limit": 0}, "limit"),
        ({"text": "miến", "limit": 1000}, "limit"),
        ({"text": "miến", "certifications": "VietGAP"}, "certifications"),
        ({"text": "miến", "district": 7}, "district"),
        ({"text": "mi\u0000ến"}, "text"),
    ],
)
def test_malformed_bodies_are_400(client, app, body, field):
    response = post(client, body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["field"] == field and error["code"] and error["message"]


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1, 2]",
        '"text"',
        "null",
        "",
        '{"text": NaN}',
        '{"text": "x", "quantity": NaN}',
        '{"text": "x", "lat": Infinity, "lng": 1}',
    ],
)
def test_non_objects_and_non_finite_numbers_are_400(client, app, raw):
    response = post(client, raw, raw=True)
    assert response.status_code == 400
    assert response.get_json()["error"]


def test_get_is_a_json_405(client, app):
    response = client.get("/api/v1/match")
    assert response.status_code == 405 and response.get_json()["error"]


def test_no_session_and_no_csrf(_schema, tmp_path):
    app = create_app(
        TestConfig, {"SQLALCHEMY_DATABASE_URI": _schema, "DATA_DIR": tmp_path / "d", "WTF_CSRF_ENABLED": True}
    )
    with app.app_context():
        client = app.test_client()
        response = post(client, {"text": "gốm"})
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers
        db.session.remove()
        db.engine.dispose()


def test_unknown_keys_are_ignored(client, sample):
    assert post(client, {"text": "gốm", "colour": "blue"}).status_code == 200


def test_openapi_documents_what_match_returns(client, sample):
    doc = client.get("/api/v1/openapi.json").get_json()
    operation = doc["paths"]["/api/v1/match"]["post"]
    assert "200" in operation["responses"] and "400" in operation["responses"]
    schemas = doc["components"]["schemas"]
    request_props = set(schemas["MatchRequest"]["properties"])
    assert request_props >= {
        "text",
        "ocop_group",
        "quantity",
        "unit",
        "min_stars",
        "district",
        "lat",
        "lng",
        "max_price_vnd",
        "limit",
        "certifications",
    }
    response_schema = schemas["MatchResponse"]
    body = post(client, {"text": "gốm", "district": "Hoàn Kiếm"}).get_json()
    assert set(response_schema["required"]) <= set(body)
    assert set(body) <= set(response_schema["properties"])
    supplier_schema = response_schema["properties"]["suppliers"]["items"]
    assert set(body["suppliers"][0]) <= set(supplier_schema["properties"])
    point_schema = response_schema["properties"]["sales_points"]["items"]
    assert set(body["sales_points"][0]) <= set(point_schema["properties"])
