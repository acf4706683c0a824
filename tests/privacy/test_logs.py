"""Logs never hold passwords, tokens or card data.

Every logger (root, the app's, werkzeug's request lines from a real server, SQLAlchemy's SQL with
its parameters) is captured at DEBUG (SQLAlchemy at INFO, `echo=True`: its DEBUG level prints
result rows, a developer's dump of the data by design) while a person signs up, logs in, fails to
log in, resets a forgotten password, changes it and calls the API; the captured text is then
searched for the passwords, the verification and reset tokens, the session token and a card number.
"""

from __future__ import annotations

import http.cookiejar
import io
import logging
import re
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from marketplace.accounts.models import User
from marketplace.extensions import db
from marketplace.mail.models import OutgoingMail

EMAIL = "log.test@example.vn"
PASSWORDS = {
    "signup": "mat-khau-dang-ky-Q7x!",
    "reset": "mat-khau-dat-lai-W3z!",
    "changed": "mat-khau-moi-doi-K9v!",
}
CARD = "4242424242424242"
LOGGERS = ("", "werkzeug", "marketplace", "flask_login", "sqlalchemy.engine")
_LINK = re.compile(r"https?://[^/\s]+(/\S+)")


@pytest.fixture
def captured(app):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    levels = {}
    for name in LOGGERS:
        logger = logging.getLogger(name)
        levels[name] = logger.level
        logger.setLevel(logging.INFO if name == "sqlalchemy.engine" else logging.DEBUG)
    logging.getLogger().addHandler(handler)
    app.logger.setLevel(logging.DEBUG)
    app.logger.addHandler(handler)
    try:
        yield stream
    finally:
        logging.getLogger().removeHandler(handler)
        app.logger.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@pytest.fixture
def server(app):
    db.session.commit()
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)


class Browser:
    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base + path, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def post(self, path: str, data: dict) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode()
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def _last_link(email: str) -> str:
    db.session.expire_all()
    mail = db.session.scalars(
        sa.select(OutgoingMail).where(OutgoingMail.to == email).order_by(OutgoingMail.id.desc())
    ).first()
    return _LINK.search(mail.body).group(1)


def test_logs_hold_no_passwords_tokens_or_card_numbers(app, captured, server):
    browser = Browser(server)
    status, _ = browser.post(
        "/register",
        {
            "role": "buyer",
            "name": "Người Thử Nhật Ký",
            "email": EMAIL,
            "password": PASSWORDS["signup"],
            "confirm": PASSWORDS["signup"],
            "privacy_consent": "y",
        },
    )
    assert status == 200  # followed the redirect
    verify_path = _last_link(EMAIL)
    assert browser.get(verify_path)[0] == 200
    browser.post("/logout", {})
    browser.post("/login", {"email": EMAIL, "password": CARD})  # a failed login (a card number typed by mistake)
    browser.post("/login", {"email": "nobody@example.vn", "password": PASSWORDS["signup"]})
    assert "Xin chào" in browser.post("/login", {"email": EMAIL, "password": PASSWORDS["signup"]})[1]
    browser.post("/logout", {})
    browser.post("/password/forgot", {"email": EMAIL})
    reset_path = _last_link(EMAIL)
    assert reset_path.startswith("/password/reset/")
    assert browser.get(reset_path)[0] == 200
    browser.post(reset_path, {"password": PASSWORDS["reset"], "confirm": PASSWORDS["reset"]})
    browser.post(
        "/account/password",
        {"current_password": PASSWORDS["reset"], "new_password": PASSWORDS["changed"], "confirm": PASSWORDS["changed"]},
    )
    assert browser.get(f"/api/v1/products?q={CARD}")[0] == 200
    browser.get(reset_path)  # the used link again: refused, and the refusal is logged by nobody

    db.session.expire_all()
    user = db.session.scalar(sa.select(User).where(User.email == EMAIL))
    secrets = {
        **{f"password ({k})": v for k, v in PASSWORDS.items()},
        "card number": CARD,
        "verification token": verify_path.rsplit("/", 1)[1],
        "reset token": reset_path.rsplit("/", 1)[1],
        "session token": user.session_token,
        "password hash": user.password_hash,
    }
    text = captured.getvalue()
    # Every source was captured: werkzeug's request lines, SQLAlchemy's statements.
    assert "/password/reset/[redacted]" in text and "/verify-email/[redacted]" in text
    assert "SELECT users.id" in text and "UPDATE users SET" in text
    assert "[SQL parameters hidden" in text
    leaked = [name for name, value in secrets.items() if value in text]
    assert not leaked, f"found in the logs: {leaked}"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('"GET /password/reset/eyJ1aWQ.abc.def HTTP/1.1" 200', '"GET /password/reset/[redacted] HTTP/1.1" 200'),
        ("GET /verify-email/abc.def?x=1", "GET /verify-email/[redacted]?x=1"),
        ("GET /invitations/Zm9v HTTP/1.1", "GET /invitations/[redacted] HTTP/1.1"),
        ("GET /x?token=abc&page=2", "GET /x?token=[redacted]&page=2"),
        ("card 4242 4242 4242 4242 declined", "card [card number] declined"),
        ("card 4242-4242-4242-4242", "card [card number]"),
        ("order 1234567890123 reference", "order 1234567890123 reference"),  # not a Luhn number
        ("GET /san-pham/HN-00012 HTTP/1.1", "GET /san-pham/HN-00012 HTTP/1.1"),
    ],
)
def test_redact(line, expected):
    from marketplace.privacy.log_hygiene import redact

    assert redact(line) == expected
