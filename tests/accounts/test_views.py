import re
import unicodedata
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime

import pytest
import sqlalchemy as sa

from config import TestConfig
from marketplace import create_app
from marketplace.accounts import passwords, services
from marketplace.accounts.models import User
from marketplace.extensions import db
from tests.accounts.utils import link_path, mails_to, signed_seconds_ago
from tests.helpers import PASSWORD, login, make_user

NEW_PASSWORD = "mật-khẩu-mới-2026"


def _register(client, **changes):
    form = {
        "role": "producer",
        "name": "Nguyễn Văn Minh",
        "email": "Minh@Example.vn",
        "password": "mây-tre-đan-phú-vinh",
        "confirm": "mây-tre-đan-phú-vinh",
        "organisation": "HTX Mây tre đan Phú Vinh",
        "phone": "0912 345 678",
        "privacy_consent": "y",
    }
    form.update(changes)
    return client.post("/register", data=form)


def _login(client, email, password=PASSWORD, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


def _is_logged_in(client) -> bool:
    return client.get("/account").status_code == 200


def _text(response) -> str:
    return response.get_data(as_text=True)


def _user(email: str) -> User:
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.email == email))


def _other_app(app, tmp_path, **overrides):
    """A second app on the same database (its own contexts), e.g. with CSRF or rate limits on."""
    db.session.commit()  # make the test's rows visible to the other app's connections
    config = {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "DATA_DIR": tmp_path / "other"}
    return create_app(TestConfig, {**config, **overrides})


def _dispose(other) -> None:
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


# --- register and verify ----------------------------------------------------------------------------


def test_register_page_links_to_login_and_forgot_password(client):
    page = _text(client.get("/register"))
    assert 'href="/login"' in page and 'href="/password/forgot"' in page
    login_page = _text(client.get("/login"))
    assert 'href="/register"' in login_page and "Quên mật khẩu?" in login_page
    assert '="None"' not in page + login_page


def test_register_logs_in_and_sends_verification_mail(app, client):
    response = _register(client)
    assert response.status_code == 302
    assert response.location == "/verify"
    user = _user("minh@example.vn")
    assert user.roles == {"producer"}
    assert user.organisation == "HTX Mây tre đan Phú Vinh"
    assert not user.email_verified

    notice = _text(client.get("/verify"))
    assert "minh@example.vn" in notice and "Gửi lại thư xác minh" in notice
    assert _is_logged_in(client)

    [mail] = mails_to("minh@example.vn")
    assert mail.sent_at is not None
    # Development delivery: an .eml file under DATA_DIR/mail, readable as a real message.
    [eml] = list((app.config["DATA_DIR"] / "mail").glob("*.eml"))
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["To"] == "minh@example.vn"
    body = message.get_content()
    assert "Xin chào Nguyễn Văn Minh" in body
    assert re.search(r"http://localhost/verify-email/\S+", body)

    response = client.get(link_path(mail))
    assert response.status_code == 302 and response.location == "/account"
    assert _user("minh@example.vn").email_verified
    assert "Đã xác minh" in _text(client.get("/account"))


@pytest.mark.parametrize(
    "email",
    [
        "minh@example.vn",
        "MINH@EXAMPLE.VN",
        unicodedata.normalize("NFD", "Lê.Minh@Hợptác.vn"),
    ],
)
def test_register_refuses_taken_email(client, email):
    make_user(email="minh@example.vn")
    make_user(email=unicodedata.normalize("NFC", "lê.minh@hợptác.vn"))
    response = _register(client, email=email)
    assert response.status_code == 200
    assert "Địa chỉ email này đã được đăng ký." in _text(response)
    assert db.session.query(User).count() == 2
    assert not _is_logged_in(client)


def test_register_keeps_input_on_errors(client):
    response = _register(client, password="ngan", confirm="ngan")
    page = _text(response)
    assert response.status_code == 200
    assert "Mật khẩu phải có từ 10 đến 256 ký tự." in page
    assert 'value="Nguyễn Văn Minh"' in page and 'value="HTX Mây tre đan Phú Vinh"' in page
    response = _register(client, confirm="mot-mat-khau-khac")
    assert "Hai mật khẩu không khớp." in _text(response)
    response = _register(client, role="admin")
    assert response.status_code == 200
    assert db.session.query(User).count() == 0


def test_invalid_and_expired_verification_links(app, client):
    user = make_user(verified=False, email="an@example.vn")
    with signed_seconds_ago(app.config["EMAIL_TOKEN_MAX_AGE"] + 10):
        old = services.verification_token(user)
    response = client.get(f"/verify-email/{old}")
    assert response.status_code == 400
    assert "Liên kết đã hết hạn." in _text(response)

    response = client.get("/verify-email/khong-hop-le")
    assert response.status_code == 400
    assert "Liên kết không hợp lệ." in _text(response)

    login(client, user)
    response = client.get(f"/verify-email/{old}")
    assert "Gửi lại thư xác minh" in _text(response)  # offers a fresh link
    assert not _user("an@example.vn").email_verified


def test_resend_verification(client):
    user = make_user(verified=False, email="an@example.vn")
    assert client.post("/verify/resend").status_code == 302  # anonymous: to the login page
    assert mails_to("an@example.vn") == []
    login(client, user)
    response = client.post("/verify/resend")
    assert response.location == "/verify"
    [mail] = mails_to("an@example.vn")
    client.get(link_path(mail))
    assert _user("an@example.vn").email_verified
    response = client.post("/verify/resend")
    assert response.location == "/account"
    assert len(mails_to("an@example.vn")) == 1


def test_resend_verification_is_rate_limited(app, tmp_path):
    user = make_user(verified=False, email="an@example.vn")
    other = _other_app(app, tmp_path, RATELIMIT_ENABLED=True)
    try:
        client = other.test_client()
        login(client, user)
        statuses = [client.post("/verify/resend").status_code for _ in range(4)]
        assert statuses == [302, 302, 302, 429]
    finally:
        _dispose(other)


# --- login and logout -----------------------------------------------------------------------------


def test_login_success(client):
    user = make_user(email="an@example.vn")
    response = _login(client, "  AN@example.vn ")
    assert response.status_code == 302 and response.location == "/"
    assert _is_logged_in(client)
    assert _user("an@example.vn").last_login_at is not None
    assert user.id == _user("an@example.vn").id


@pytest.mark.parametrize(
    ("email", "password"),
    [("an@example.vn", "sai-mat-khau-roi"), ("khong-co@example.vn", PASSWORD), ("an@example.vn", "")],
)
def test_login_failure_is_generic(client, email, password):
    make_user(email="an@example.vn")
    response = _login(client, email, password)
    assert response.status_code == 200
    page = _text(response)
    if password:
        assert "Email hoặc mật khẩu không đúng." in page
    assert 'value="' + email + '"' in page
    assert not _is_logged_in(client)


def test_suspended_user_cannot_log_in(client):
    make_user(email="an@example.vn", suspended=True)
    response = _login(client, "an@example.vn")
    assert response.status_code == 200
    assert "tạm khóa" in _text(response)
    assert not _is_logged_in(client)


def test_unverified_user_can_log_in(client):
    make_user(email="an@example.vn", verified=False)
    assert _login(client, "an@example.vn").status_code == 302
    assert _is_logged_in(client)


def test_login_rehashes_old_password_hash(client):
    from argon2 import PasswordHasher

    user = make_user(email="an@example.vn")
    user.password_hash = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(PASSWORD)
    db.session.flush()
    _login(client, "an@example.vn")
    assert not passwords.needs_rehash(_user("an@example.vn").password_hash)


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "/\\evil.com",
        "https:evil.com",
        "javascript:alert(1)",
        "https://evil.com/",
        "evil.com",
        "///evil.com",
    ],
)
def test_login_never_redirects_off_site(client, target):
    make_user(email="an@example.vn")
    response = client.post(
        "/login", query_string={"next": target}, data={"email": "an@example.vn", "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302
    assert response.location == "/"
    # Already logged in: GET /login?next=... is refused the same way.
    response = client.get("/login", query_string={"next": target})
    assert response.location == "/"


def test_login_follows_local_next(client):
    make_user(email="an@example.vn")
    response = client.get("/login", query_string={"next": "/account?tab=1"})
    assert 'value="/account?tab=1"' in _text(response)
    response = _login(client, "an@example.vn", next="/account?tab=1")
    assert response.location == "/account?tab=1"


def test_login_rotates_session_and_keeps_language(client):
    make_user(email="an@example.vn")
    with client.session_transaction() as sess:
        sess["lang"] = "en"
        sess["left_over"] = "từ phiên trước"
    _login(client, "an@example.vn")
    with client.session_transaction() as sess:
        assert "left_over" not in sess
        assert sess["lang"] == "en"
        assert sess["_user_id"]


def test_remember_me_cookie_is_httponly_and_at_most_30_days(client):
    make_user(email="an@example.vn")
    response = _login(client, "an@example.vn")
    assert not any(h.startswith("remember_token=") for h in response.headers.getlist("Set-Cookie"))
    client.post("/logout")

    response = _login(client, "an@example.vn", remember="y")
    [cookie] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token=")]
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    expires = parsedate_to_datetime(
        next(a for a in cookie.split(";") if a.strip().lower().startswith("expires=")).split("=", 1)[1]
    )
    assert expires <= datetime.now(UTC) + timedelta(days=30, minutes=1)

    # The remember cookie alone (browser restarted) keeps the user logged in.
    client.delete_cookie("session")
    assert _is_logged_in(client)


def test_session_cookie_flags(client):
    make_user(email="an@example.vn")
    response = _login(client, "an@example.vn")
    [cookie] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_logout_is_post_only(client):
    user = make_user()
    db.session.commit()  # the error handler of the 405 rolls back
    login(client, user)
    assert client.get("/logout").status_code == 405
    assert _is_logged_in(client)
    response = client.post("/logout")
    assert response.status_code == 302
    assert not _is_logged_in(client)


def test_failed_logins_are_rate_limited(app, tmp_path):
    make_user(email="an@example.vn")
    other = _other_app(app, tmp_path, RATELIMIT_ENABLED=True)
    try:
        client = other.test_client()
        # Successful logins do not count.
        for _ in range(12):
            assert _login(client, "an@example.vn").status_code == 302
            client.post("/logout")
        statuses = [_login(client, "an@example.vn", "sai-mat-khau-roi").status_code for _ in range(11)]
        assert statuses == [200] * 10 + [429]
        # Even the right password waits now.
        assert _login(client, "an@example.vn").status_code == 429
    finally:
        _dispose(other)


def test_login_without_csrf_token_is_refused(app, tmp_path):
    make_user(email="an@example.vn")
    other = _other_app(app, tmp_path, WTF_CSRF_ENABLED=True)
    try:
        client = other.test_client()
        assert _login(client, "an@example.vn").status_code == 400
        page = _text(client.get("/login"))
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        assert _login(client, "an@example.vn", csrf_token=token).status_code == 302
    finally:
        _dispose(other)


# --- passwords ------------------------------------------------------------------------------------


def test_change_password_ends_other_sessions(app, client):
    user = make_user(email="an@example.vn")
    _login(client, "an@example.vn")
    elsewhere = app.test_client()
    login(elsewhere, user)
    remembered = app.test_client()
    _login(remembered, "an@example.vn", remember="y")
    remembered.delete_cookie("session")
    assert _is_logged_in(elsewhere) and _is_logged_in(remembered)

    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302 and response.location == "/account"
    assert _is_logged_in(client)
    assert not _is_logged_in(elsewhere)
    assert not _is_logged_in(remembered)
    assert passwords.verify_password(_user("an@example.vn").password_hash, NEW_PASSWORD)


def test_change_password_keeps_this_browsers_remember_cookie(client):
    make_user(email="an@example.vn")
    _login(client, "an@example.vn", remember="y")
    client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    client.delete_cookie("session")
    assert _is_logged_in(client)


def test_change_password_errors(client):
    user = make_user(email="an@example.vn")
    login(client, user)
    response = client.post(
        "/account/password",
        data={"current_password": "sai-mat-khau", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert "Mật khẩu hiện tại không đúng." in _text(response)
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": "khac-nhau-1234"},
    )
    assert "Hai mật khẩu không khớp." in _text(response)
    assert passwords.verify_password(_user("an@example.vn").password_hash, PASSWORD)


def test_change_password_needs_login(client):
    response = client.get("/account/password")
    assert response.status_code == 302 and response.location.startswith("/login")


def test_forgot_password_gives_the_same_answer_for_unknown_email(client):
    make_user(email="an@example.vn")
    known = client.post("/password/forgot", data={"email": "an@example.vn"})
    unknown = client.post("/password/forgot", data={"email": "ai@example.vn"})
    assert (known.status_code, known.location) == (unknown.status_code, unknown.location) == (302, "/login")
    first = _text(client.get("/login"))  # the flash of the second post
    assert "Nếu địa chỉ ai@example.vn có tài khoản" in first
    assert len(mails_to("an@example.vn")) == 1
    assert mails_to("ai@example.vn") == []


def test_reset_link_works_once(app, client):
    user = make_user(email="an@example.vn")
    elsewhere = app.test_client()
    login(elsewhere, user)
    client.post("/password/forgot", data={"email": "An@Example.vn"})
    [mail] = mails_to("an@example.vn")
    path = link_path(mail)
    assert path.startswith("/password/reset/")
    assert "Đặt mật khẩu mới" in _text(client.get(path))

    response = client.post(path, data={"password": "ngan", "confirm": "ngan"})
    assert response.status_code == 200 and "Mật khẩu phải có từ 10 đến 256 ký tự." in _text(response)

    response = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert _is_logged_in(client)
    assert not _is_logged_in(elsewhere)

    again = client.get(path)
    assert again.status_code == 400 and "đã được sử dụng" in _text(again)
    again = client.post(path, data={"password": "mat-khau-thu-ba-789", "confirm": "mat-khau-thu-ba-789"})
    assert again.status_code == 400
    client.post("/logout")
    assert _login(client, "an@example.vn", NEW_PASSWORD).status_code == 302


def test_expired_reset_link(app, client):
    user = make_user(email="an@example.vn")
    with signed_seconds_ago(app.config["RESET_TOKEN_MAX_AGE"] + 5):
        token = services.reset_token(user)
    response = client.get(f"/password/reset/{token}")
    assert response.status_code == 400
    page = _text(response)
    assert "Liên kết đã hết hạn." in page and "/password/forgot" in page
    response = client.post(f"/password/reset/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert passwords.verify_password(_user("an@example.vn").password_hash, PASSWORD)


# --- profile --------------------------------------------------------------------------------------


def test_profile_needs_login(client):
    response = client.get("/account")
    assert response.status_code == 302 and response.location.startswith("/login")


def test_profile_shows_roles_and_verification(client):
    user = make_user(roles=("buyer", "producer"), verified=False)
    login(client, user)
    page = _text(client.get("/account"))
    assert "Người mua" in page and "Nhà sản xuất" in page
    assert "Chưa xác minh" in page and "Gửi lại thư xác minh" in page


def test_profile_edit(client):
    user = make_user(email="an@example.vn")
    login(client, user)
    response = client.post(
        "/account",
        data={"name": "  Trần Thị  Hoa ", "phone": "024 3826 1234", "organisation": "Siêu thị Hà Nội", "locale": "en"},
    )
    assert response.status_code == 302
    saved = _user("an@example.vn")
    assert (saved.name, saved.phone, saved.organisation, saved.locale) == (
        "Trần Thị Hoa",
        "024 3826 1234",
        "Siêu thị Hà Nội",
        "en",
    )
    with client.session_transaction() as sess:
        assert sess["lang"] == "en"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": "", "locale": "vi"}, "Vui lòng nhập họ tên."),
        ({"name": "Hoa", "phone": "gọi tôi nhé", "locale": "vi"}, "Số điện thoại chỉ gồm"),
        ({"name": "Hoa", "locale": "fr"}, ""),
    ],
)
def test_profile_bad_input(client, form, message):
    user = make_user(email="an@example.vn", name="Tên cũ")
    login(client, user)
    response = client.post("/account", data=form)
    assert response.status_code == 200
    assert message in _text(response)
    assert _user("an@example.vn").name == "Tên cũ"
