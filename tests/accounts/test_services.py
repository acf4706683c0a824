import unicodedata

import pytest
from argon2 import PasswordHasher

from marketplace.accounts import passwords, services
from marketplace.accounts.models import User
from marketplace.core.errors import ServiceError
from marketplace.extensions import db
from tests.accounts.utils import link_path, mails_to, signed_seconds_ago
from tests.helpers import PASSWORD, make_user


def _data(**changes) -> services.RegistrationData:
    values = {"name": "  Nguyễn  Thị Lan ", "email": " Lan.Nguyen@Example.VN ", "password": "mật-khẩu-dài-đủ"}
    values["privacy_consent"] = True
    values.update(changes)
    return services.RegistrationData(**values)


def test_register_creates_unverified_user_and_queues_mail(app):
    with app.test_request_context():
        user = services.register_user(_data(role="producer", organisation="HTX Mây tre Phú Vinh", phone="0912 345 678"))
    assert user.email == "lan.nguyen@example.vn"
    assert user.name == "Nguyễn Thị Lan"
    assert user.roles == {"producer"}
    assert user.email_verified_at is None
    assert passwords.verify_password(user.password_hash, "mật-khẩu-dài-đủ")
    [mail] = mails_to("lan.nguyen@example.vn")
    assert "Xác minh" in mail.subject
    assert link_path(mail).startswith("/verify-email/")


@pytest.mark.parametrize(
    "email",
    ["lan.nguyen@example.vn", "LAN.NGUYEN@EXAMPLE.VN", " Lan.Nguyen@example.vn "],
)
def test_register_refuses_duplicate_email_in_any_case(app, email):
    make_user(email="lan.nguyen@example.vn")
    with app.test_request_context(), pytest.raises(ServiceError) as error:
        services.register_user(_data(email=email))
    assert error.value.field == "email"


def test_register_refuses_duplicate_email_in_nfd(app):
    make_user(email=unicodedata.normalize("NFC", "lê.lan@hợptác.vn"))
    nfd = unicodedata.normalize("NFD", "LÊ.LAN@HỢPTÁC.VN")
    assert nfd != unicodedata.normalize("NFC", nfd)
    with app.test_request_context(), pytest.raises(ServiceError) as error:
        services.register_user(_data(email=nfd))
    assert error.value.field == "email"


def test_registered_email_is_stored_nfc_lower(app):
    with app.test_request_context():
        user = services.register_user(_data(email=unicodedata.normalize("NFD", "Bà.Lê@Example.vn")))
    assert user.email == unicodedata.normalize("NFC", "bà.lê@example.vn")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"password": "ngan"}, "password"),
        ({"password": "123456789"}, "password"),
        ({"password": " " * 12}, "password"),
        ({"email": "khong-phai-email"}, "email"),
        ({"name": "   "}, "name"),
        ({"role": "admin"}, "role"),
    ],
)
def test_register_refuses_bad_input(app, changes, field):
    with app.test_request_context(), pytest.raises(ServiceError) as error:
        services.register_user(_data(**changes))
    assert error.value.field == field
    assert db.session.query(User).count() == 0


def test_authenticate_success_sets_last_login(app):
    user = make_user(email="an@example.vn")
    assert user.last_login_at is None
    assert services.authenticate("AN@example.vn", PASSWORD) is user
    assert user.last_login_at is not None


@pytest.mark.parametrize(("email", "password"), [("an@example.vn", "sai-mat-khau-roi"), ("ai@example.vn", PASSWORD)])
def test_authenticate_failure_is_generic(app, email, password):
    make_user(email="an@example.vn")
    with pytest.raises(ServiceError) as error:
        services.authenticate(email, password)
    assert error.value.field is None
    assert error.value.message == "Email hoặc mật khẩu không đúng."


def test_authenticate_refuses_suspended_user(app):
    make_user(email="an@example.vn", suspended=True)
    with pytest.raises(ServiceError) as error:
        services.authenticate("an@example.vn", PASSWORD)
    assert error.value.code == "suspended"


def test_authenticate_rehashes_when_parameters_changed(app):
    old_hash = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(PASSWORD)
    user = make_user(email="an@example.vn")
    user.password_hash = old_hash
    assert passwords.needs_rehash(old_hash)
    services.authenticate("an@example.vn", PASSWORD)
    assert user.password_hash != old_hash
    assert not passwords.needs_rehash(user.password_hash)
    assert passwords.verify_password(user.password_hash, PASSWORD)


def test_verification_token_valid_invalid_expired(app):
    user = make_user(verified=False)
    token = services.verification_token(user)
    with signed_seconds_ago(app.config["EMAIL_TOKEN_MAX_AGE"] + 60):
        old = services.verification_token(user)
    with pytest.raises(services.TokenError) as error:
        services.verify_email(old)
    assert error.value.code == "expired"
    with pytest.raises(services.TokenError) as error:
        services.verify_email(token + "x")
    assert error.value.code == "invalid"
    with pytest.raises(services.TokenError):
        services.verify_email(token, max_age=-1)
    assert user.email_verified_at is None
    assert services.verify_email(token) is user
    assert user.email_verified_at is not None


def test_verification_token_ends_when_email_changes(app):
    user = make_user(verified=False, email="cu@example.vn")
    token = services.verification_token(user)
    user.email = "moi@example.vn"
    with pytest.raises(services.TokenError):
        services.verify_email(token)


def test_reset_token_of_another_kind_is_refused(app):
    user = make_user()
    with pytest.raises(services.TokenError):
        services.user_for_reset_token(services.verification_token(user))


def test_reset_password_is_single_use_and_rotates_session_token(app):
    user = make_user(verified=False)
    token = services.reset_token(user)
    old_session_token = user.session_token
    services.reset_password(token, "mat-khau-moi-123")
    assert user.session_token != old_session_token
    assert user.email_verified  # the mailbox was proven
    assert passwords.verify_password(user.password_hash, "mat-khau-moi-123")
    with pytest.raises(services.TokenError):
        services.reset_password(token, "mat-khau-khac-456")


def test_reset_token_expires(app):
    user = make_user()
    with signed_seconds_ago(app.config["RESET_TOKEN_MAX_AGE"] + 1):
        token = services.reset_token(user)
    with pytest.raises(services.TokenError) as error:
        services.user_for_reset_token(token)
    assert error.value.code == "expired"


def test_request_password_reset_mails_only_known_active_users(app):
    make_user(email="an@example.vn")
    make_user(email="khoa@example.vn", suspended=True)
    with app.test_request_context():
        services.request_password_reset("AN@example.vn")
        services.request_password_reset("khoa@example.vn")
        services.request_password_reset("khong-co@example.vn")
    assert len(mails_to("an@example.vn")) == 1
    assert mails_to("khoa@example.vn") == []
    assert mails_to("khong-co@example.vn") == []


def test_change_password(app):
    user = make_user()
    token = user.session_token
    with pytest.raises(ServiceError) as error:
        services.change_password(user, "sai-mat-khau-1", "mat-khau-moi-123")
    assert error.value.field == "current_password"
    with pytest.raises(ServiceError) as error:
        services.change_password(user, PASSWORD, "ngan")
    assert error.value.field == "new_password"
    with pytest.raises(ServiceError) as error:
        services.change_password(user, PASSWORD, PASSWORD)
    assert error.value.field == "new_password"
    assert user.session_token == token
    services.change_password(user, PASSWORD, "mat-khau-moi-123")
    assert user.session_token != token
    assert passwords.verify_password(user.password_hash, "mat-khau-moi-123")


def test_update_profile(app):
    user = make_user()
    services.update_profile(user, services.ProfileData(name=" Trần  Văn Bình ", phone="024 3826 1234", locale="en"))
    assert (user.name, user.phone, user.locale) == ("Trần Văn Bình", "024 3826 1234", "en")
    with pytest.raises(ServiceError):
        services.update_profile(user, services.ProfileData(name="Bình", locale="fr"))
    with pytest.raises(ServiceError):
        services.update_profile(user, services.ProfileData(name=" "))


def test_create_user_for_operators(app):
    user = services.create_user("Admin@Ocop.local", "mat-khau-quan-tri", ["admin", "organiser"])
    assert user.email == "admin@ocop.local"
    assert user.roles == {"admin", "organiser"}
    assert user.email_verified
    with pytest.raises(ServiceError) as error:
        services.create_user("ADMIN@ocop.local", "mat-khau-quan-tri", ["admin"])
    assert error.value.code == "exists"
    with pytest.raises(ServiceError):
        services.create_user("x@example.vn", "mat-khau-quan-tri", ["boss"])
