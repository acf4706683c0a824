"""What holds for the whole API: JSON errors, no cookies, no CSRF, rate limits, OpenAPI."""

from __future__ import annotations

import pytest

from config import TestConfig
from marketplace import create_app
from marketplace.extensions import db
from tests.helpers import login, make_product, make_sales_point, make_user


def test_unknown_path_is_json_404(client):
    response = client.get("/api/v1/no-such-endpoint")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_wrong_method_is_json_405(client):
    response = client.delete("/api/v1/products")
    assert response.status_code == 405
    assert set(response.get_json()["error"]) == {"code", "message", "field"}


def test_api_takes_and_sets_no_session_cookie(app, client):
    user = make_user()
    product = make_product()
    db.session.commit()
    login(client, user)
    with client.session_transaction() as sess:
        sess.permanent = True  # a permanent session would normally be refreshed on every response
    for path in ("/api/v1/products", f"/api/v1/products/{product.ref}", "/api/v1/sales-points", "/api/v1/nope"):
        response = client.get(path)
        assert "Set-Cookie" not in response.headers, path
        assert "Cookie" not in response.headers.get("Vary", ""), path


def test_api_does_not_log_users_in(app, client):
    from flask_login import current_user

    seen = {}

    @app.get("/api/v1/_whoami", endpoint="api.whoami_probe")
    def whoami():
        seen["authenticated"] = current_user.is_authenticated
        return {}

    login(client, make_user())
    db.session.commit()
    assert client.get("/api/v1/_whoami").status_code == 200
    assert seen["authenticated"] is False


def test_csrf_not_required_for_api(_schema, tmp_path):
    app = create_app(
        TestConfig, {"SQLALCHEMY_DATABASE_URI": _schema, "DATA_DIR": tmp_path / "csrf", "WTF_CSRF_ENABLED": True}
    )

    @app.post("/api/v1/_probe", endpoint="api.csrf_probe")
    def probe():
        return {"ok": True}

    client = app.test_client()
    assert client.post("/api/v1/_probe", json={}).status_code == 200
    assert client.post("/lang/vi").status_code == 400  # pages still need their CSRF token
    with app.app_context():
        db.engine.dispose()


def test_rate_limit_answers_json_429(_schema, tmp_path):
    app = create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": _schema,
            "DATA_DIR": tmp_path / "limits",
            "RATELIMIT_ENABLED": True,
            "API_RATE_LIMIT": "3 per minute",
        },
    )
    client = app.test_client()
    statuses = [client.get("/api/v1/openapi.json").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/v1/sales-points")
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "too_many_requests"
    with app.app_context():
        db.engine.dispose()


def test_openapi_document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.")
    assert {
        "/api/v1/products",
        "/api/v1/products/{ref}",
        "/api/v1/sales-points",
        "/api/v1/match",
        "/api/v1/openapi.json",
    } <= set(doc["paths"])
    params = {p.get("name") for p in doc["paths"]["/api/v1/products"]["get"]["parameters"]}
    assert {"q", "group", "min_stars", "certification", "sort", None} <= params  # None: $ref'd ones
    assert doc["paths"]["/api/v1/match"]["post"]["requestBody"]["content"]["application/json"]
    schemas = doc["components"]["schemas"]
    assert set(schemas["ProductItem"]["required"]) >= {"ref", "ocop_stars", "certificate_status", "producer", "url"}
    assert "distance_km" in schemas["SalesPointItem"]["properties"]


def test_openapi_refs_resolve(client):
    doc = client.get("/api/v1/openapi.json").get_json()

    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(doc):
        target = doc
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        assert target, ref


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/products?q=%00&district=%00&certification=%00",
        "/api/v1/products?district=" + "x" * 5000 + "&certification=%25%5F",
        "/api/v1/products?page=%C3%28&per_page=%FF",
        "/api/v1/products?min_stars=%E2%91%A4",
        "/api/v1/products?page=%D9%A3",
        "/api/v1/products?per_page=1e2",
        "/api/v1/sales-points?product=%00&district=%00&near=1e999,1",
        "/api/v1/sales-points?near=%00",
        "/api/v1/products/%00",
        "/api/v1/products/a/b",
    ],
)
def test_no_input_causes_a_5xx(client, path):
    make_product()
    make_sales_point()
    db.session.commit()
    response = client.get(path)
    assert response.status_code < 500
    assert response.is_json
