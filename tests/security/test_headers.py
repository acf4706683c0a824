"""Security headers on every response: every GET route of the URL map (a new route cannot be
forgotten), as an anonymous visitor, a producer and an admin, plus 404, 405, 500 and static files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import g
from werkzeug.routing import AnyConverter, IntegerConverter

from config import ProductionConfig, TestConfig
from marketplace import create_app
from marketplace.core import security
from marketplace.extensions import db
from tests.helpers import login

ROOT = Path(__file__).resolve().parents[2]
MISSING_ID = 987654

REQUIRED_DIRECTIVES = {
    "default-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "connect-src": "'self'",
}


def _csp(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def check_headers(response, logged_in: bool, where: str) -> None:
    csp = _csp(response)
    assert csp, f"{where}: no Content-Security-Policy"
    for directive, value in REQUIRED_DIRECTIVES.items():
        assert value in csp.get(directive, []), f"{where}: {directive} {csp.get(directive)}"
    scripts = csp["script-src"]
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, where
    assert any(s.startswith("'nonce-") for s in scripts), where
    assert "'unsafe-inline'" not in csp.get("default-src", []), where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    assert response.headers.get("X-Frame-Options") == "DENY", where
    assert response.headers.get("Referrer-Policy") in ("strict-origin-when-cross-origin", "no-referrer"), where
    assert "Strict-Transport-Security" not in response.headers, f"{where}: HSTS outside production"
    if logged_in or any(h.startswith("session=") for h in response.headers.getlist("Set-Cookie")):
        assert "no-store" in response.headers.get("Cache-Control", ""), f"{where}: cacheable ({response.status})"


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
JS_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.I)


def check_no_inline_script(response, where: str) -> None:
    if response.mimetype != "text/html":
        return
    body = response.get_data(as_text=True)
    nonce = next(s for s in _csp(response)["script-src"] if s.startswith("'nonce-"))[7:-1]
    for tag in INLINE_SCRIPT.findall(body):
        assert f'nonce="{nonce}"' in tag, f"{where}: inline script {tag}"
    assert not INLINE_HANDLER.search(body), f"{where}: inline event handler {INLINE_HANDLER.search(body).group(0)}"
    assert not JS_URL.search(body), f"{where}: javascript: URL"


def _value(rule, name: str, world):
    """A real id or key for a URL argument; what cannot be built becomes a missing one (404)."""
    endpoint = rule.endpoint
    converter = rule._converters[name]
    if isinstance(converter, AnyConverter):
        return "inputs" if "inputs" in converter.items else sorted(converter.items)[0]
    known_ints = {
        "product_id": world.product.id,
        "producer_id": world.producer.id,
        "point_id": world.point.id,
        "batch_id": world.batch.id,
        "item_id": world.item.id,
        "inquiry_id": world.inquiry.id,
    }
    if isinstance(converter, IntegerConverter):
        return known_ints.get(name, MISSING_ID)
    if name == "ref":
        return world.point.ref if endpoint.startswith("sales_points.") else world.product.ref
    if name == "code":
        return "food" if endpoint == "catalog.group" else world.batch.public_code
    if name == "name":
        return "Chương Mỹ"
    if name == "filename":
        return "js/confirm.js" if endpoint == "static" else "khong-co.jpg"
    if name == "fmt":
        return "csv"
    return "khong-co"


def get_routes(app, world) -> list[tuple[str, str]]:
    routes = []
    with app.test_request_context():
        adapter = app.url_map.bind("localhost")
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods:
                continue
            values = {name: _value(rule, name, world) for name in rule.arguments}
            routes.append((rule.endpoint, adapter.build(rule.endpoint, values, method="GET")))
    return sorted(routes)


def _walk(app, client, routes, logged_in: bool) -> dict[str, int]:
    statuses = {}
    for endpoint, url in routes:
        g.pop("_login_user", None)
        response = client.get(url)
        where = f"{endpoint} {url} ({'logged in' if logged_in else 'anonymous'})"
        # The API takes no session cookie and static files are the same for everyone.
        check_headers(response, logged_in and endpoint != "static" and not url.startswith("/api/"), where)
        check_no_inline_script(response, where)
        statuses[endpoint] = response.status_code
        response.close()
    return statuses


def test_every_get_route_carries_the_headers(app, client, world):
    routes = get_routes(app, world)
    assert len(routes) > 60  # the URL map, not a hand-made list
    anonymous = _walk(app, client, routes, logged_in=False)
    assert anonymous["catalog.home"] == 200 and anonymous["traceability.trace"] == 200
    assert anonymous["accounts.profile"] == 302  # refusals carry the headers too

    seen = {}
    for user in (world.owner, world.admin):
        signed_in = app.test_client()
        login(signed_in, user)
        seen[user] = _walk(app, signed_in, routes, logged_in=True)
        assert seen[user]["accounts.profile"] == 200
    # Real ids, not only 404s: the owner sees the batch and its item, the admin the dashboard.
    assert seen[world.owner]["traceability.batch"] == 200
    assert seen[world.owner]["traceability.edit_item"] == 200
    assert seen[world.admin]["dashboard.index"] == 200


def test_error_pages_and_static_files_carry_the_headers(_schema, tmp_path, world):
    db.session.commit()
    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": _schema, "DATA_DIR": tmp_path / "errors"})

    @app.get("/_boom")
    def boom():
        raise RuntimeError("a bug in a view")

    @app.get("/api/v1/_boom")
    def api_boom():
        raise RuntimeError("a bug in the API")

    try:
        for logged_in in (False, True):
            client = app.test_client()
            if logged_in:
                login(client, world.owner)
            for method, url, status in (
                ("GET", "/khong-co-trang-nay", 404),
                ("GET", "/logout", 405),
                ("DELETE", "/", 405),
                ("GET", "/_boom", 500),
                ("GET", "/api/v1/_boom", 500),
                ("GET", "/api/v1/khong-co", 404),
                ("GET", "/static/js/confirm.js", 200),
                ("GET", "/static/khong-co.js", 404),
            ):
                response = client.open(url, method=method)
                assert response.status_code == status, url
                check_headers(response, logged_in and not url.startswith(("/static/", "/api/")), f"{method} {url}")
                response.close()
            # Static files are the same for everybody: they stay cacheable, even for a logged-in user.
            response = client.get("/static/js/confirm.js")
            assert "no-store" not in response.headers.get("Cache-Control", "")
            response.close()
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_logged_in_pages_are_not_stored_and_public_pages_may_be(client, world):
    response = client.get("/")  # the first visit sets the session cookie (the CSRF token)
    assert any(h.startswith("session=") for h in response.headers.getlist("Set-Cookie"))
    assert "no-store" in response.headers["Cache-Control"]
    for _ in range(2):  # Flask-Login's session protection writes `_fresh` once more, then it settles
        response = client.get("/")
        if not response.headers.getlist("Set-Cookie"):
            break
        assert "no-store" in response.headers["Cache-Control"]
    assert not response.headers.getlist("Set-Cookie")
    # The browser may keep it; a shared cache may not (the page holds this visitor's CSRF token).
    assert response.headers["Cache-Control"] == "private"
    login(client, world.buyer)
    response = client.get("/")
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]


def test_a_response_that_sets_the_session_cookie_is_not_stored(client, world):
    response = client.post("/lang/en", data={"next": "/"})
    assert any(h.startswith("session=") for h in response.headers.getlist("Set-Cookie"))
    assert "no-store" in response.headers["Cache-Control"]
    response = client.post("/login", data={"email": world.buyer.email, "password": "sai-mat-khau-roi"})
    assert response.status_code == 200


def test_the_nonce_changes_on_every_request_and_reaches_templates(app, client):
    first = _csp(client.get("/"))["script-src"]
    second = _csp(client.get("/"))["script-src"]
    assert [s for s in first if s.startswith("'nonce-")] != [s for s in second if s.startswith("'nonce-")]
    with app.test_request_context("/"):
        nonce = app.jinja_env.from_string("{{ csp_nonce() }}").render()
        assert len(nonce) >= 16 and nonce == security.csp_nonce()


def test_the_password_reset_page_keeps_its_stricter_referrer_policy(app, client, world):
    from marketplace.accounts import services

    token = services.reset_token(world.buyer)
    response = client.get(f"/password/reset/{token}")
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_map_tiles_and_stripe_are_allowed_only_where_configured():
    csp = security.content_security_policy(
        {"MAP_TILE_URL": "https://{s}.tile.example.org/{z}/{x}/{y}.png", "STRIPE_JS_URL": "https://js.stripe.com/v3/"},
        "abc",
    )
    assert "img-src 'self' data: blob: https://*.tile.example.org" in csp
    assert "script-src 'self' 'nonce-abc' https://js.stripe.com https://*.js.stripe.com;" in csp
    assert "frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com;" in csp
    assert "connect-src 'self' https://js.stripe.com https://api.stripe.com" in csp

    local = security.content_security_policy(
        {
            "MAP_TILE_URL": "",
            "STRIPE_JS_URL": "http://127.0.0.1:8420/js.stripe.com/v3/",
            "STRIPE_API_BASE": "http://127.0.0.1:8420",
        },
        "n",
    )
    assert "img-src 'self' data: blob:;" in local
    assert "script-src 'self' 'nonce-n' http://127.0.0.1:8420;" in local
    assert "api.stripe.com" not in local

    none = security.content_security_policy({"MAP_TILE_URL": "javascript:alert(1)", "STRIPE_JS_URL": None}, "n")
    assert "frame-src 'none'" in none and "javascript" not in none
    assert "script-src 'self' 'nonce-n';" in none


def test_the_configured_tile_host_is_in_the_policy(app, client):
    tiles = security._origin(app.config["MAP_TILE_URL"])
    assert tiles and tiles in _csp(client.get("/diem-ban"))["img-src"]
    assert security._origin(app.config["STRIPE_JS_URL"]) in _csp(client.get("/"))["script-src"]


@pytest.mark.parametrize(
    "overrides",
    [{"MARKETPLACE_ENV": "production"}, {"PREFERRED_URL_SCHEME": "https"}],
)
def test_hsts_in_production_only(_schema, tmp_path, overrides):
    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": _schema, "DATA_DIR": tmp_path / "prod", **overrides})
    try:
        response = app.test_client().get("/healthz")
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        response = app.test_client().get("/khong-co")
        assert response.status_code == 404 and "Strict-Transport-Security" in response.headers
    finally:
        with app.app_context():
            db.engine.dispose()
    assert ProductionConfig.MARKETPLACE_ENV == "production"


def test_no_template_has_inline_script_or_handlers():
    offenders = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for tag in INLINE_SCRIPT.findall(text):
            if "csp_nonce()" not in tag:
                offenders.append(f"{path.relative_to(ROOT)}: {tag}")
        for match in INLINE_HANDLER.finditer(text):
            offenders.append(f"{path.relative_to(ROOT)}: {match.group(0)[:80]}")
        if JS_URL.search(text):
            offenders.append(f"{path.relative_to(ROOT)}: javascript: URL")
    assert offenders == []


def test_no_static_script_evaluates_strings():
    offenders = []
    for path in sorted((ROOT / "static").rglob("*.js")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if re.search(r"\beval\s*\(|new\s+Function\s*\(|set(?:Timeout|Interval)\s*\(\s*['\"]", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
