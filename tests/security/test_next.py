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


# --------------------------------------------------------------------------- every other place that redirects to a
# target named by the request (a `next` field, the Referer) or by stored data (a notification's link)

REQUIRED = ["//evil.example", "/\\evil.example", "https:evil.example", "javascript:alert(1)"]


@pytest.fixture
def matrix_world(app):
    from tests.security.matrix_world import build_world

    return build_world()


def _as(app, world, role):
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = world.session_ids[role]
    return client


def test_hostile_values_include_the_issue_list():
    assert set(REQUIRED) <= set(HOSTILE)


def test_product_status_change_keeps_next_local(app, matrix_world):
    client = _as(app, matrix_world, "producer")
    product_id = matrix_world.ids["product_id"]
    for target in HOSTILE:
        for action in ("unpublish", "publish"):
            response = client.post(f"/my/products/{product_id}/{action}", data={"next": target})
            assert response.status_code == 302 and _is_local(response.location), (action, target, response.location)
    response = client.post(f"/my/products/{product_id}/unpublish", data={"next": "/my/products?status=draft"})
    assert response.location == "/my/products?status=draft"


def test_moderation_actions_keep_next_local(app, matrix_world):
    client = _as(app, matrix_world, "organiser")
    message_id = matrix_world.ids["message_id"]
    for target in HOSTILE:
        for action in ("hide", "unhide"):
            response = client.post(
                f"/moderation/messages/{message_id}/{action}", data={"reason": "Nội dung xúc phạm", "next": target}
            )
            assert response.status_code == 302 and _is_local(response.location), (action, target, response.location)
        # The form refused (no reason) also goes back through next=.
        response = client.post(f"/moderation/rfqs/{matrix_world.ids['rfq_id']}/hide", data={"next": target})
        assert response.status_code == 302 and _is_local(response.location), (target, response.location)


def test_forum_fee_error_does_not_follow_a_foreign_referer(app, matrix_world):
    """A refused fee order went back to the Referer as it came (payments.views.forum_fee)."""
    from marketplace.extensions import db
    from tests.forums.factories import make_forum, make_registration

    forum = make_forum(fee_vnd=0)
    registration = make_registration(forum, matrix_world.users["buyer"], "buyer")
    registration_id, forum_id = registration.id, forum.id
    db.session.commit()
    db.session.close()
    client = _as(app, matrix_world, "buyer")
    for target in [*HOSTILE, "http://evil.example/pay"]:
        response = client.post(f"/payments/forum-registrations/{registration_id}/fee", headers={"Referer": target})
        assert response.status_code == 302 and _is_local(response.location), (target, response.location)
    response = client.post(
        f"/payments/forum-registrations/{registration_id}/fee",
        headers={"Referer": f"http://localhost/forums/{forum_id}"},
    )
    assert response.location == f"/forums/{forum_id}"


def test_notification_links_stay_local(app, matrix_world):
    from marketplace.extensions import db
    from marketplace.inquiries.models import Notification

    notes = [Notification(user_id=matrix_world.user_ids["buyer"], kind="test", text="x", link=t) for t in HOSTILE]
    db.session.add_all(notes)
    db.session.commit()
    ids = [n.id for n in notes]
    db.session.close()
    client = _as(app, matrix_world, "buyer")
    for note_id, target in zip(ids, HOSTILE, strict=True):
        response = client.post(f"/notifications/{note_id}/open")
        assert response.status_code == 302 and _is_local(response.location), (target, response.location)
