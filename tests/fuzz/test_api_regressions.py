"""What the schemathesis runs found, pinned as plain tests (the API's behaviour now matches its
OpenAPI document): a parameter given twice, empty values, `near`'s format, nulls in /match."""

from __future__ import annotations

import pytest

from marketplace.api.openapi import openapi_document
from marketplace.api.params import NEAR_PATTERN
from tests.helpers import make_producer, make_product, make_sales_point


@pytest.fixture
def catalog(app):
    from marketplace.extensions import db

    producer = make_producer(name="HTX Miến Cự Đà", district="Thanh Oai")
    product = make_product(producer, ref="A-1", name="Miến dong", ocop_group="food", stars=4)
    make_sales_point(products=[product], ref="SP-1", lat=21.03, lng=105.85)
    db.session.commit()


@pytest.mark.parametrize(
    "query, field",
    [
        ("page=1&page=2", "page"),
        ("per_page=5&per_page=6", "per_page"),
        ("q=mi%E1%BA%BFn&q=dong", "q"),
        ("group=food&group=food", "group"),
        ("district=Thanh%20Oai&district=Ba%20V%C3%AC", "district"),
    ],
)
def test_a_parameter_given_twice_is_a_400(client, catalog, query, field):
    response = client.get(f"/api/v1/products?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == field


def test_empty_values_are_as_if_absent(client, catalog):
    response = client.get("/api/v1/products?q=&group=&min_stars=&page=&per_page=&sort=")
    assert response.status_code == 200
    assert response.get_json()["page"] == 1 and response.get_json()["total"] == 1
    assert client.get("/api/v1/sales-points?near=&kind=&page=").status_code == 200


@pytest.mark.parametrize("value", ["food%00", "f%C3%B3od", "FOOD", "food,beverage"])
def test_a_choice_must_be_one_of_the_values(client, catalog, value):
    response = client.get(f"/api/v1/products?group={value}")
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "group"


@pytest.mark.parametrize(
    "near", ["1e1,2", "%2B21,105", "21.0,105.8e0", "%D9%A2%D9%A1,105", "%20", "0x15,105", "21_0,105"]
)
def test_near_outside_the_documented_pattern_is_a_400(client, catalog, near):
    response = client.get(f"/api/v1/sales-points?near={near}")
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "near"


@pytest.mark.parametrize("near", ["21.03,105.85", "21,105", " 21.03 , 105.85 ", "-33.9,151.2"])
def test_near_in_the_documented_pattern(client, catalog, near):
    import re

    assert re.fullmatch(NEAR_PATTERN, near)
    response = client.get("/api/v1/sales-points", query_string={"near": near})
    assert response.status_code == 200
    assert response.get_json()["items"][0]["distance_km"] is not None


def test_match_takes_null_for_every_optional_field(client, catalog):
    body = {
        "text": "miến dong",
        "ocop_group": None,
        "quantity": None,
        "unit": None,
        "min_stars": None,
        "district": None,
        "lat": None,
        "lng": None,
        "max_price_vnd": None,
        "limit": None,
        "certifications": None,
    }
    response = client.post("/api/v1/match", json=body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["suppliers"][0]["product"]["ref"] == "A-1"


def test_the_document_says_so():
    document = openapi_document()
    for path in document["paths"].values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query":
                    assert parameter["allowEmptyValue"] is True
    for parameter in document["components"]["parameters"].values():
        assert parameter["allowEmptyValue"] is True
    request = document["components"]["schemas"]["MatchRequest"]["properties"]
    assert all(schema.get("nullable") for name, schema in request.items() if name != "text")
    near = next(p for p in document["paths"]["/api/v1/sales-points"]["get"]["parameters"] if p.get("name") == "near")
    assert near["schema"]["pattern"] == NEAR_PATTERN


def test_every_operation_documents_the_servers_414():
    """bench/fuzz.sh found it: gunicorn answers 414 for a request line over 4094 bytes."""
    document = openapi_document()
    assert "UriTooLong" in document["components"]["responses"]
    for path in document["paths"].values():
        for name, operation in path.items():
            if path is document["paths"]["/api/v1/openapi.json"]:
                continue
            assert "414" in operation["responses"], name
