"""Privacy forms: the account deletion form (CSRF by Flask-WTF); the export is a button."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from marketplace.core.forms import SiteForm
from marketplace.core.vn_text import clean_line


def _line(value):
    return clean_line(value) if isinstance(value, str) else value


class DeleteAccountForm(SiteForm):
    password = PasswordField(
        _l("Mật khẩu hiện tại"),
        validators=[DataRequired(_l("Vui lòng nhập mật khẩu hiện tại.")), Length(max=256)],
        render_kw={"autocomplete": "current-password"},
    )
    confirmation = StringField(
        _l("Gõ XOÁ TÀI KHOẢN để xác nhận"),
        filters=[_line],
        validators=[DataRequired(_l("Vui lòng gõ cụm từ xác nhận.")), Length(max=40)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


class ExportForm(SiteForm):
    """Only the CSRF token: the download is a POST."""
