"""The base of every form: WTForms' own messages in the site's language.

WTForms and Flask-WTF ship their messages in English, with no Vietnamese catalogue, so a bare
`Length(max=200)` or a letter typed into an IntegerField showed "Field cannot be longer than 200
characters." on a Vietnamese page. Here each of those messages maps to a Vietnamese msgid of our
own catalogue, which the English pages translate back. Forms derive from `SiteForm` (Flask-WTF:
CSRF and request data) or, for GET filters and subforms built on plain `wtforms.Form`, declare
`Meta = SiteMeta`.
"""

from __future__ import annotations

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.meta import DefaultMeta

_AT_LEAST = _l("Tối thiểu %(min)d ký tự.")
_AT_MOST = _l("Tối đa %(max)d ký tự.")
_EXACTLY = _l("Phải đúng %(max)d ký tự.")
_NOT_A_CHOICE = _l("Lựa chọn không hợp lệ.")
_NOT_A_NUMBER = _l("Vui lòng nhập một số.")
_BAD_FORM = _l("Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ. Vui lòng tải lại trang và thử lại.")

# WTForms' msgids (wtforms/locale/wtforms.pot) -> ours. Singular and plural forms share one text:
# Vietnamese has no plural.
WTFORMS_MESSAGES = {
    "Invalid field name '%s'.": _l("Tên trường không hợp lệ '%s'."),
    "Field must be equal to %(other_name)s.": _l("Giá trị phải trùng với mục %(other_name)s."),
    "Field must be at least %(min)d character long.": _AT_LEAST,
    "Field must be at least %(min)d characters long.": _AT_LEAST,
    "Field cannot be longer than %(max)d character.": _AT_MOST,
    "Field cannot be longer than %(max)d characters.": _AT_MOST,
    "Field must be exactly %(max)d character long.": _EXACTLY,
    "Field must be exactly %(max)d characters long.": _EXACTLY,
    "Field must be between %(min)d and %(max)d characters long.": _l("Phải dài từ %(min)d đến %(max)d ký tự."),
    "Number must be at least %(min)s.": _l("Số phải từ %(min)s trở lên."),
    "Number must be at most %(max)s.": _l("Số không được lớn hơn %(max)s."),
    "Number must be between %(min)s and %(max)s.": _l("Số phải từ %(min)s đến %(max)s."),
    "Date must be at least %(min)s.": _l("Ngày phải từ %(min)s trở đi."),
    "Date must be at most %(max)s.": _l("Ngày không được sau %(max)s."),
    "Date must be between %(min)s and %(max)s.": _l("Ngày phải từ %(min)s đến %(max)s."),
    "This field is required.": _l("Vui lòng điền mục này."),
    "Invalid input.": _l("Giá trị không hợp lệ."),
    "Invalid email address.": _l("Địa chỉ email không hợp lệ."),
    "Invalid IP address.": _l("Địa chỉ IP không hợp lệ."),
    "Invalid Mac address.": _l("Địa chỉ MAC không hợp lệ."),
    "Invalid URL.": _l("Địa chỉ web không hợp lệ."),
    "Invalid UUID.": _l("Mã UUID không hợp lệ."),
    "Invalid value, must be one of: %(values)s.": _l("Giá trị không hợp lệ, phải là một trong: %(values)s."),
    "Invalid value, can't be any of: %(values)s.": _l("Giá trị không hợp lệ, không được là: %(values)s."),
    "This field cannot be edited.": _l("Không thể sửa mục này."),
    "This field is disabled and cannot have a value.": _l("Mục này đã bị khoá và không nhận giá trị."),
    "Invalid CSRF Token.": _BAD_FORM,
    "CSRF token missing.": _BAD_FORM,
    "CSRF failed.": _BAD_FORM,
    "CSRF token expired.": _BAD_FORM,
    "Invalid Choice: could not coerce.": _NOT_A_CHOICE,
    "Choices cannot be None.": _NOT_A_CHOICE,
    "Not a valid choice.": _NOT_A_CHOICE,
    "Invalid choice(s): one or more data inputs could not be coerced.": _NOT_A_CHOICE,
    "'%(value)s' is not a valid choice for this field.": _l("“%(value)s” không phải là lựa chọn hợp lệ."),
    "'%(value)s' are not valid choices for this field.": _l("“%(value)s” không phải là lựa chọn hợp lệ."),
    "Not a valid datetime value.": _l("Ngày giờ không hợp lệ."),
    "Not a valid date value.": _l("Ngày không hợp lệ."),
    "Not a valid time value.": _l("Giờ không hợp lệ."),
    "Not a valid week value.": _l("Tuần không hợp lệ."),
    "Not a valid integer value.": _l("Vui lòng nhập một số nguyên."),
    "Not a valid decimal value.": _NOT_A_NUMBER,
    "Not a valid float value.": _NOT_A_NUMBER,
}


class SiteTranslations:
    """The translations object WTForms asks for its messages (gettext/ngettext)."""

    def gettext(self, string: str) -> str:
        found = WTFORMS_MESSAGES.get(string)
        return string if found is None else str(found)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


SITE_TRANSLATIONS = SiteTranslations()


def _translations():
    if has_app_context() and not current_app.config.get("WTF_I18N_ENABLED", True):
        return None
    return SITE_TRANSLATIONS


class SiteMeta(DefaultMeta):
    """Meta for plain `wtforms.Form` subclasses (filters read from the query string, subforms)."""

    def get_translations(self, form):
        return _translations()


class SiteForm(FlaskForm):
    """Every form of the site: Flask-WTF's CSRF and request data, messages in the site's language."""

    class Meta:
        def get_translations(self, form):
            return _translations()
