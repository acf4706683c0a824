"""Sessions: a new session at login, old cookies refused after logout and password change, idle and
absolute timeouts."""

from __future__ import annotations

import time

import sqlalchemy as sa
from flask import g

from marketplace.accounts.models import User
from marketplace.core import sessions
from marketplace.extensions import db
from tests.helpers import PASSWORD, login, make_user

NEW_PASSWORD = "mật-khẩu-mới-2026"


def _login(client, email, password=PASSWORD, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


def _logged_in(client) -> bool:
    g.pop("_login_user", None)  # the test app keeps one context: forget the last request's user
    return client.get("/account").status_code == 200


def _cookie(client, name="session") -> str | None:
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


def _replay(app, **cookies):
    """A fresh browser holding copies of cookies taken earlier."""
    thief = app.test_client()
    for name, value in cookies.items():
        thief.set_cookie(name, value)
    return thief


def test_login_starts_a_new_session(client):
    make_user(email="an@example.vn")
    with client.session_transaction() as sess:
        sess["lang"] = "en"
        sess["left_over"] = "planted before login"
        sess["_sid"] = "chosen-by-attacker"
    before = _cookie(client)
    _login(client, "an@example.vn")
    after = _cookie(client)
    assert after and after != before
    with client.session_transaction() as sess:
        assert "left_over" not in sess
        assert sess["lang"] == "en"
        assert sess["_sid"] != "chosen-by-attacker"
        first_sid = sess["_sid"]
        assert abs(sess["_login_at"] - time.time()) < 60
    client.post("/logout")
    _login(client, "an@example.vn")
    with client.session_transaction() as sess:
        assert sess["_sid"] != first_sid


def test_logout_ends_the_old_cookie(app, client):
    make_user(email="an@example.vn")
    _login(client, "an@example.vn", remember="y")
    stolen = {"session": _cookie(client), "remember_token": _cookie(client, "remember_token")}
    assert _logged_in(_replay(app, session=stolen["session"]))
    assert client.post("/logout").status_code == 302
    assert not _logged_in(client)
    # Copies of the session cookie or of the remember-me cookie made before the logout are refused.
    assert not _logged_in(_replay(app, session=stolen["session"]))
    assert not _logged_in(_replay(app, remember_token=stolen["remember_token"]))
    # The user logs in again normally.
    _login(client, "an@example.vn")
    assert _logged_in(client)


def test_password_change_ends_the_old_cookie(app, client):
    make_user(email="an@example.vn")
    _login(client, "an@example.vn", remember="y")
    stolen = {"session": _cookie(client), "remember_token": _cookie(client, "remember_token")}
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert _logged_in(client)  # this browser goes on
    assert not _logged_in(_replay(app, session=stolen["session"]))
    assert not _logged_in(_replay(app, remember_token=stolen["remember_token"]))


def test_password_reset_ends_the_old_cookie(app, client):
    from marketplace.accounts import services

    user = make_user(email="an@example.vn")
    _login(client, "an@example.vn")
    stolen = _cookie(client)
    token = services.reset_token(user)
    db.session.commit()
    other = app.test_client()
    response = other.post(f"/password/reset/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert _logged_in(other)
    assert not _logged_in(_replay(app, session=stolen))


def _age(client, login_ago: float = 0, seen_ago: float = 0) -> None:
    now = int(time.time())
    with client.session_transaction() as sess:
        sess[sessions.LOGIN_AT] = now - int(login_ago)
        sess[sessions.SEEN_AT] = now - int(seen_ago)


def test_idle_timeout(app, client):
    assert app.config["SESSION_IDLE_MINUTES"] == 120
    make_user(email="an@example.vn")
    _login(client, "an@example.vn")
    with client.session_transaction() as sess:
        sess["lang"] = "en"
    _age(client, login_ago=3 * 3600, seen_ago=119 * 60)
    assert _logged_in(client)  # 119 minutes idle: still in, and the clock restarts
    with client.session_transaction() as sess:
        assert time.time() - sess[sessions.SEEN_AT] < 60

    _age(client, login_ago=3 * 3600, seen_ago=121 * 60)
    g.pop("_login_user", None)
    response = client.get("/account?tab=1")
    assert response.status_code == 302
    assert response.location == "/login?next=/account?tab%3D1"
    page = client.get(response.location).get_data(as_text=True)
    assert "session has expired" in page or "Phiên đăng nhập đã hết hạn" in page
    assert not _logged_in(client)
    with client.session_transaction() as sess:
        assert sess["lang"] == "en" and "_user_id" not in sess and sessions.LOGIN_AT not in sess


def test_absolute_timeout_even_when_active(client):
    make_user(email="an@example.vn")
    _login(client, "an@example.vn")
    _age(client, login_ago=23.9 * 3600, seen_ago=0)
    assert _logged_in(client)
    _age(client, login_ago=24 * 3600 + 60, seen_ago=0)
    g.pop("_login_user", None)
    response = client.get("/")
    assert response.status_code == 302 and response.location == "/login?next=/"
    assert not _logged_in(client)


def test_an_expired_post_is_not_carried_out(client):
    user = make_user(email="an@example.vn")
    _login(client, "an@example.vn")
    _age(client, login_ago=25 * 3600)
    g.pop("_login_user", None)
    response = client.post("/account", data={"name": "Tên bị đổi", "locale": "vi"})
    assert response.status_code == 302 and response.location == "/login"
    db.session.expire_all()
    assert db.session.get(User, user.id).name != "Tên bị đổi"


def test_timeouts_are_configurable(app, client):
    app.config.update(SESSION_IDLE_MINUTES=5, SESSION_ABSOLUTE_HOURS=0)  # 0: no absolute limit
    make_user(email="an@example.vn")
    _login(client, "an@example.vn")
    _age(client, login_ago=30 * 24 * 3600, seen_ago=4 * 60)
    assert _logged_in(client)
    _age(client, seen_ago=6 * 60)
    assert not _logged_in(client)


def test_remember_me_starts_a_new_session_after_a_timeout(client):
    make_user(email="an@example.vn")
    _login(client, "an@example.vn", remember="y")
    _age(client, login_ago=25 * 3600, seen_ago=3 * 3600)
    g.pop("_login_user", None)
    response = client.get("/account")
    assert response.status_code == 200  # the remember-me cookie logs the user in again
    with client.session_transaction() as sess:
        assert time.time() - sess[sessions.LOGIN_AT] < 60
        assert sess["_fresh"] is False


def test_a_session_without_stamps_gets_them(client):
    user = make_user()
    login(client, user)  # the test helper writes only the user id
    assert _logged_in(client)
    with client.session_transaction() as sess:
        assert abs(sess[sessions.LOGIN_AT] - time.time()) < 60


def test_expiry_rule():
    assert not sessions.is_expired(0, 0, 100, idle=100, absolute=1000)
    assert sessions.is_expired(0, 0, 101, idle=100, absolute=1000)
    assert sessions.is_expired(0, 900, 1001, idle=200, absolute=1000)
    assert not sessions.is_expired(0, 0, 10**9, idle=0, absolute=0)


def test_logout_rotates_the_stored_token(client):
    make_user(email="an@example.vn")
    _login(client, "an@example.vn")
    before = db.session.scalar(sa.select(User.session_token).where(User.email == "an@example.vn"))
    client.post("/logout")
    db.session.expire_all()
    after = db.session.scalar(sa.select(User.session_token).where(User.email == "an@example.vn"))
    assert after != before
