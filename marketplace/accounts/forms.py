"""Account forms. Text is NFC-normalised on input; the services check the rules again."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

from marketplace.accounts.services import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from marketplace.core.forms import SiteForm
from marketplace.core.vn_text import clean_line, nfc


def _line(value):
    return clean_line(value) if isinstance(value, str) else value


def _nfc(value):
    return nfc(value) if isinstance(value, str) else value


ROLE_LABELS = {
    "buyer": _l("Người mua"),
    "producer": _l("Nhà sản xuất"),
    "sales_point": _l("Điểm bán OCOP"),
    "organiser": _l("Ban tổ chức"),
    "admin": _l("Quản trị viên"),
}

_PHONE = Regexp(r"^[0-9+().\s-]*$", message=_l("Số điện thoại chỉ gồm chữ số, dấu cách và các ký tự + ( ) . -"))


def _email_field(strict: bool = True) -> EmailField:
    """`strict=False` for logging in: operators may have made accounts on local domains."""
    validators = [
        DataRequired(_l("Vui lòng nhập địa chỉ email.")),
        Length(max=254, message=_l("Địa chỉ email quá dài.")),
    ]
    if strict:
        validators.append(Email(_l("Địa chỉ email không hợp lệ.")))
    return EmailField(
        _l("Email"),
        filters=[_nfc],
        validators=validators,
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )


def _new_password_field(label) -> PasswordField:
    return PasswordField(
        label,
        validators=[
            DataRequired(_l("Vui lòng nhập mật khẩu.")),
            Length(
                min=PASSWORD_MIN_LENGTH,
                max=PASSWORD_MAX_LENGTH,
                message=_l("Mật khẩu phải có từ %(min)d đến %(max)d ký tự."),
            ),
        ],
        render_kw={"autocomplete": "new-password", "minlength": PASSWORD_MIN_LENGTH},
    )


def _confirm_field(other: str) -> PasswordField:
    return PasswordField(
        _l("Nhập lại mật khẩu"),
        validators=[
            DataRequired(_l("Vui lòng nhập lại mật khẩu.")),
            EqualTo(other, message=_l("Hai mật khẩu không khớp.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class RegisterForm(SiteForm):
    role = RadioField(
        _l("Bạn tham gia với vai trò"),
        choices=[
            SelectChoice("buyer", _l("Người mua: doanh nghiệp, cửa hàng, nhà phân phối tìm nguồn hàng OCOP")),
            SelectChoice("producer", _l("Nhà sản xuất: hợp tác xã, doanh nghiệp, hộ kinh doanh có sản phẩm OCOP")),
        ],
        default="buyer",
        validators=[DataRequired(_l("Vui lòng chọn vai trò."))],
    )
    name = StringField(
        _l("Họ và tên"),
        filters=[_line],
        validators=[DataRequired(_l("Vui lòng nhập họ tên.")), Length(max=120, message=_l("Tối đa %(max)d ký tự."))],
        render_kw={"autocomplete": "name"},
    )
    email = _email_field()
    password = _new_password_field(_l("Mật khẩu"))
    confirm = _confirm_field("password")
    organisation = StringField(
        _l("Tổ chức / đơn vị (không bắt buộc)"),
        filters=[_line],
        validators=[Optional(), Length(max=200, message=_l("Tối đa %(max)d ký tự."))],
        render_kw={"autocomplete": "organization"},
    )
    phone = StringField(
        _l("Số điện thoại (không bắt buộc)"),
        filters=[_line],
        validators=[Optional(), Length(max=30, message=_l("Tối đa %(max)d ký tự.")), _PHONE],
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )
    privacy_consent = BooleanField(
        _l("Tôi đã đọc và đồng ý với chính sách bảo vệ dữ liệu cá nhân"),
        validators=[DataRequired(_l("Vui lòng đồng ý với chính sách bảo vệ dữ liệu cá nhân để tạo tài khoản."))],
    )


class LoginForm(SiteForm):
    email = _email_field(strict=False)
    password = PasswordField(
        _l("Mật khẩu"),
        validators=[DataRequired(_l("Vui lòng nhập mật khẩu.")), Length(max=PASSWORD_MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField(_l("Ghi nhớ đăng nhập trên máy này (30 ngày)"))
    next = HiddenField()


class ForgotPasswordForm(SiteForm):
    email = _email_field(strict=False)


class ResetPasswordForm(SiteForm):
    password = _new_password_field(_l("Mật khẩu mới"))
    confirm = _confirm_field("password")


class ChangePasswordForm(SiteForm):
    current_password = PasswordField(
        _l("Mật khẩu hiện tại"),
        validators=[DataRequired(_l("Vui lòng nhập mật khẩu hiện tại."))],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = _new_password_field(_l("Mật khẩu mới"))
    confirm = _confirm_field("new_password")


class ProfileForm(SiteForm):
    name = StringField(
        _l("Họ và tên"),
        filters=[_line],
        validators=[DataRequired(_l("Vui lòng nhập họ tên.")), Length(max=120, message=_l("Tối đa %(max)d ký tự."))],
        render_kw={"autocomplete": "name"},
    )
    phone = StringField(
        _l("Số điện thoại"),
        filters=[_line],
        validators=[Optional(), Length(max=30, message=_l("Tối đa %(max)d ký tự.")), _PHONE],
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )
    organisation = StringField(
        _l("Tổ chức / đơn vị"),
        filters=[_line],
        validators=[Optional(), Length(max=200, message=_l("Tối đa %(max)d ký tự."))],
        render_kw={"autocomplete": "organization"},
    )
    locale = SelectField(
        _l("Ngôn ngữ ưa dùng"), choices=[SelectChoice("vi", "Tiếng Việt"), SelectChoice("en", "English")], default="vi"
    )


class EmptyForm(SiteForm):
    """Only the CSRF token: for buttons (resend verification mail)."""
