"""Accounts: registration, authentication, e-mail verification, passwords, profile.

Services validate, change objects and flush; the caller commits. Links in mails are signed,
expiring itsdangerous tokens; a reset token carries a fingerprint of the password hash, so it
stops working as soon as the password changes (single use)."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from marketplace.accounts import passwords
from marketplace.accounts.models import ROLES, User, new_session_token
from marketplace.core.errors import ServiceError
from marketplace.core.models import utcnow
from marketplace.core.vn_text import clean_line, nfc
from marketplace.extensions import db
from marketplace.mail.services import queue_mail

_LOOSE_EMAIL = re.compile(r"[^@\s]+@[^@\s.][^@\s]*")
PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 256
SELF_SERVICE_ROLES = ("buyer", "producer")
LOCALES = ("vi", "en")

VERIFY_SALT = "accounts.verify-email"
RESET_SALT = "accounts.reset-password"

# Checked against when the e-mail is unknown, so that a failed login takes as long either way.
_DUMMY_HASH: dict[tuple, str] = {}


# --- e-mail addresses and passwords -------------------------------------------------------------


def normalise_email(email: str | None) -> str:
    """NFC, trimmed, lower-cased: the one form stored and compared."""
    return nfc(email).lower()


def check_email(email: str, strict: bool = True) -> str:
    """Normalise and validate the syntax; `strict=False` also allows local domains (CLI)."""
    email = normalise_email(email)
    if not email or len(email) > 254:
        raise ServiceError("email", _("Địa chỉ email không hợp lệ."))
    if not strict:  # operators may use local domains (admin@ocop.local) that email_validator refuses
        if not _LOOSE_EMAIL.fullmatch(email):
            raise ServiceError("email", _("Địa chỉ email không hợp lệ."))
        return email
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        raise ServiceError("email", _("Địa chỉ email không hợp lệ.")) from error
    return email


def find_user_by_email(email: str | None) -> User | None:
    email = normalise_email(email)
    if not email:
        return None
    return db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email))


def check_password_strength(password: str | None, field: str = "password") -> str:
    password = password or ""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise ServiceError(field, _("Mật khẩu phải có ít nhất %(n)s ký tự.", n=PASSWORD_MIN_LENGTH))
    if len(password) > PASSWORD_MAX_LENGTH:
        raise ServiceError(field, _("Mật khẩu dài tối đa %(n)s ký tự.", n=PASSWORD_MAX_LENGTH))
    if not password.strip():
        raise ServiceError(field, _("Mật khẩu không được chỉ gồm khoảng trắng."))
    return password


def _set_password(user: User, password: str) -> None:
    user.password_hash = passwords.hash_password(password)
    # Every session and remember-me cookie carries the old token: they all end.
    user.session_token = new_session_token()


# --- creating users ---------------------------------------------------------------------------------


@dataclass
class RegistrationData:
    name: str
    email: str
    password: str
    role: str = "buyer"
    organisation: str = ""
    phone: str = ""
    locale: str = "vi"
    privacy_consent: bool = False  # the sign-up checkbox: Decree 13/2023/NĐ-CP asks for consent


def register_user(data: RegistrationData) -> User:
    """A self-registered buyer or producer, unverified; queues the verification mail."""
    if data.role not in SELF_SERVICE_ROLES:
        raise ServiceError("role", _("Vui lòng chọn vai trò người mua hoặc nhà sản xuất."))
    name = clean_line(data.name)
    if not name:
        raise ServiceError("name", _("Vui lòng nhập họ tên."))
    email = check_email(data.email)
    if find_user_by_email(email) is not None:
        raise ServiceError("email", _("Địa chỉ email này đã được đăng ký."))
    check_password_strength(data.password)
    if data.privacy_consent is not True:
        raise ServiceError(
            "privacy_consent", _("Vui lòng đồng ý với chính sách bảo vệ dữ liệu cá nhân để tạo tài khoản.")
        )
    user = User(
        email=email,
        name=name[:120],
        organisation=clean_line(data.organisation)[:200],
        phone=clean_line(data.phone)[:30],
        locale=data.locale if data.locale in LOCALES else "vi",
        password_hash=passwords.hash_password(data.password),
        privacy_consent_at=utcnow(),
    )
    user.roles = {data.role}
    db.session.add(user)
    db.session.flush()
    send_verification_mail(user)
    return user


def create_user(
    email: str,
    password: str | None,
    roles: list[str] | set[str] | tuple[str, ...] = ("buyer",),
    name: str = "",
    verified: bool = True,
    password_hash: str | None = None,
) -> User:
    """An account made by an operator (CLI, demo data): verified by default, any roles.
    `password_hash` lets the demo hash its one password once and reuse it."""
    email = check_email(email, strict=False)
    roles = set(roles) or {"buyer"}
    unknown = sorted(roles - set(ROLES))
    if unknown:
        raise ServiceError(
            "role",
            _("Vai trò không hợp lệ: %(roles)s (hợp lệ: %(valid)s).", roles=", ".join(unknown), valid=", ".join(ROLES)),
        )
    if find_user_by_email(email) is not None:
        raise ServiceError("email", _("Địa chỉ email này đã được đăng ký."), code="exists")
    if password_hash is None:
        password_hash = passwords.hash_password(check_password_strength(password))
    user = User(email=email, name=clean_line(name)[:120], password_hash=password_hash)
    user.roles = roles
    if verified:
        user.email_verified_at = utcnow()
    db.session.add(user)
    db.session.flush()
    return user


def set_roles(user: User, roles: list[str] | set[str] | tuple[str, ...]) -> User:
    roles = set(roles)
    unknown = sorted(roles - set(ROLES))
    if unknown or not roles:
        raise ServiceError(
            "role",
            _("Vai trò không hợp lệ: %(roles)s (hợp lệ: %(valid)s).", roles=", ".join(unknown), valid=", ".join(ROLES)),
        )
    before = sorted(user.roles or ())
    user.roles = roles
    db.session.flush()
    if before != sorted(roles):
        from marketplace.dashboard.audit import log_action  # (dashboard imports accounts)

        # Roles change from the command line (`flask users set-roles`): no acting user.
        log_action(None, "user.roles", "user", user.id, user.email, f"{', '.join(before)} → {', '.join(sorted(roles))}")
    return user


# --- logging in -----------------------------------------------------------------------------------


def _dummy_hash() -> str:
    cfg = current_app.config
    key = (cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_COST"], cfg["ARGON2_PARALLELISM"])
    if key not in _DUMMY_HASH:
        _DUMMY_HASH[key] = passwords.hash_password("dummy-password-for-timing")
    return _DUMMY_HASH[key]


def authenticate(email: str | None, password: str | None) -> User:
    """The user with this e-mail and password, or one generic error (never which part was wrong).
    Rehashes the password when the hashing parameters changed; sets last_login_at."""
    generic = ServiceError(None, _("Email hoặc mật khẩu không đúng."), code="bad_credentials")
    user = find_user_by_email(email)
    if user is None:
        passwords.verify_password(_dummy_hash(), password or "")
        raise generic
    if not passwords.verify_password(user.password_hash, password or ""):
        raise generic
    if user.suspended:
        raise ServiceError(None, _("Tài khoản này đang bị tạm khóa. Vui lòng liên hệ ban quản trị."), code="suspended")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password or "")
    user.last_login_at = utcnow()
    db.session.flush()
    return user


# --- signed tokens --------------------------------------------------------------------------------


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _fingerprint(value: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:24]


class TokenError(ServiceError):
    """A link that is broken, for someone else, already used (`code='invalid'`) or too old
    (`code='expired'`)."""


def _load(salt: str, token: str, max_age: int) -> dict:
    try:
        data = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise TokenError(None, _("Liên kết đã hết hạn."), code="expired") from error
    except BadSignature as error:
        raise TokenError(None, _("Liên kết không hợp lệ."), code="invalid") from error
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
        raise TokenError(None, _("Liên kết không hợp lệ."), code="invalid")
    return data


def verification_token(user: User) -> str:
    return _serializer(VERIFY_SALT).dumps({"uid": user.id, "email": user.email})


def reset_token(user: User) -> str:
    return _serializer(RESET_SALT).dumps({"uid": user.id, "fp": _fingerprint(user.password_hash)})


def _days(seconds: int) -> int:
    return max(1, round(seconds / 86400))


def send_verification_mail(user: User) -> None:
    link = url_for("accounts.verify_email", token=verification_token(user), _external=True)
    with force_locale(user.locale or "vi"):
        subject = _("Xác minh địa chỉ email của bạn trên OCOP Trade Connect")
        body = _(
            "Xin chào %(name)s,\n\n"
            "Cảm ơn bạn đã đăng ký tài khoản OCOP Trade Connect. Vui lòng mở liên kết dưới đây "
            "để xác minh địa chỉ email:\n\n%(link)s\n\n"
            "Liên kết có hiệu lực trong %(days)s ngày. Nếu bạn không đăng ký tài khoản này, "
            "hãy bỏ qua thư này.\n\n"
            "Trân trọng,\nOCOP Trade Connect",
            name=user.name or user.email,
            link=link,
            days=_days(current_app.config["EMAIL_TOKEN_MAX_AGE"]),
        )
    queue_mail(user.email, subject, body)


def verify_email(token: str, max_age: int | None = None) -> User:
    """Mark the address in the token verified. The link ends if the address changed since."""
    data = _load(VERIFY_SALT, token, current_app.config["EMAIL_TOKEN_MAX_AGE"] if max_age is None else max_age)
    user = db.session.get(User, data["uid"])
    if user is None or user.email != data.get("email"):
        raise TokenError(None, _("Liên kết không hợp lệ."), code="invalid")
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        db.session.flush()
    return user


# --- forgotten and changed passwords --------------------------------------------------------------


def request_password_reset(email: str | None) -> None:
    """Mail a reset link if the account exists and is active; say nothing either way."""
    user = find_user_by_email(email)
    if user is None or user.suspended:
        return
    minutes = max(1, current_app.config["RESET_TOKEN_MAX_AGE"] // 60)
    link = url_for("accounts.reset_password", token=reset_token(user), _external=True)
    with force_locale(user.locale or "vi"):
        subject = _("Đặt lại mật khẩu OCOP Trade Connect")
        body = _(
            "Xin chào %(name)s,\n\n"
            "Chúng tôi nhận được yêu cầu đặt lại mật khẩu cho tài khoản %(email)s. "
            "Mở liên kết dưới đây để chọn mật khẩu mới:\n\n%(link)s\n\n"
            "Liên kết chỉ dùng được một lần và hết hạn sau %(minutes)s phút. "
            "Nếu bạn không yêu cầu, hãy bỏ qua thư này: mật khẩu của bạn vẫn giữ nguyên.\n\n"
            "Trân trọng,\nOCOP Trade Connect",
            name=user.name or user.email,
            email=user.email,
            link=link,
            minutes=minutes,
        )
    queue_mail(user.email, subject, body)


def user_for_reset_token(token: str, max_age: int | None = None) -> User:
    """The user a reset link is for, if the link is still good (unused, not expired)."""
    data = _load(RESET_SALT, token, current_app.config["RESET_TOKEN_MAX_AGE"] if max_age is None else max_age)
    user = db.session.get(User, data["uid"])
    if (
        user is None
        or user.suspended
        or not hmac.compare_digest(str(data.get("fp", "")), _fingerprint(user.password_hash))
    ):
        raise TokenError(None, _("Liên kết không hợp lệ hoặc đã được sử dụng."), code="invalid")
    return user


def reset_password(token: str, new_password: str) -> User:
    user = user_for_reset_token(token)
    check_password_strength(new_password)
    _set_password(user, new_password)
    # The link came to the mailbox: that proves the address too.
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    db.session.flush()
    return user


def change_password(user: User, current_password: str, new_password: str) -> User:
    if not passwords.verify_password(user.password_hash, current_password or ""):
        raise ServiceError("current_password", _("Mật khẩu hiện tại không đúng."))
    check_password_strength(new_password, field="new_password")
    if new_password == current_password:
        raise ServiceError("new_password", _("Mật khẩu mới phải khác mật khẩu hiện tại."))
    _set_password(user, new_password)
    db.session.flush()
    return user


# --- profile --------------------------------------------------------------------------------------


@dataclass
class ProfileData:
    name: str
    phone: str = ""
    organisation: str = ""
    locale: str = "vi"


def update_profile(user: User, data: ProfileData) -> User:
    name = clean_line(data.name)
    if not name:
        raise ServiceError("name", _("Vui lòng nhập họ tên."))
    if data.locale not in LOCALES:
        raise ServiceError("locale", _("Ngôn ngữ không hợp lệ."))
    user.name = name[:120]
    user.phone = clean_line(data.phone)[:30]
    user.organisation = clean_line(data.organisation)[:200]
    user.locale = data.locale
    db.session.flush()
    return user
