"""`next=` never leads off the site: the login form and the language switch."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest
from flask import g

from marketplace.core.urls import safe_next
from tests.helpers import PASSWORD, make_user

HOSTILE = [
    "//evil.example",
    "/\\evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "/%5Cevil.example",
    "\t//evil.example",
    "https://evil.example/",
    "///evil.example",
    " //evil.example",
    "/\t/evil.example",
    "\\\\evil.example",
    "data:text/html,<script>alert(1)</script>",
    "http://localhost@evil.example/",
    "http://localhost//evil.example",
    "/%2F%2Fevil.example",
]


def _is_local(location: str) -> bool:
    """Whether a browser following `location` stays on this site (it reads '\\' as '/')."""
    decoded = unquote(location).replace("\\", "/")
    parts = urlsplit(location)
    return (
        not parts.scheme
        and not parts.netloc
        and location.startswith("/")
        and not decoded.startswith("//")
        and not any(ord(ch) < 32 for ch in location)
    )


@pytest.mark.parametrize("target", HOSTILE)
def test_login_keeps_next_local(client, target):
    make_user(email="an@example.vn")
    response = client.post(
        "/login", query_string={"next": target}, data={"email": "an@example.vn", "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302
    assert _is_local(response.location), response.location
    g.pop("_login_user", None)
    response = client.get("/login", query_string={"next": target})  # already logged in
    assert response.status_code == 302 and _is_local(response.location), response.location


@pytest.mark.parametrize("target", HOSTILE)
def test_language_switch_keeps_next_local(client, target):
    response = client.post("/lang/en", data={"next": target})
    assert response.status_code == 302 and _is_local(response.location), response.location
    # Without next= the switch goes back to the Referer, which is just as untrusted.
    response = client.post("/lang/vi", headers={"Referer": target})
    assert response.status_code == 302 and _is_local(response.location), response.location


def test_local_targets_are_kept(client):
    make_user(email="an@example.vn")
    response = client.post("/lang/en", data={"next": "/products?q=mây"})
    assert unquote(response.location) == "/products?q=mây"
    response = client.post("/login", data={"email": "an@example.vn", "password": PASSWORD, "next": "/account"})
    assert response.location == "/account"


def test_safe_next_rules(app):
    with app.test_request_context("/", base_url="http://ocop.example"):
        for target in HOSTILE:
            assert _is_local(safe_next(target)), target
        assert safe_next("http://ocop.example/account?x=1") == "/account?x=1"
        assert safe_next("/a/b?c=d") == "/a/b?c=d"
        assert safe_next(None, default="/home") == "/home"
        assert safe_next("relative/path") == "/"
        assert safe_next("/%5Cevil.example") == "/" and safe_next("/%2F/evil.example") == "/"
        assert safe_next("/products?q=m%C3%A2y") == "/products?q=m%C3%A2y"
