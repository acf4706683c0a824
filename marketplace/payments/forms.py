"""Forms of the payments pages. No form carries an amount to charge: amounts come from services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from marketplace.core.fields import LocalDateField
from marketplace.core.forms import SiteForm
from marketplace.core.money import parse_vnd


class VndField(StringField):
    """Integer VND typed the Vietnamese way ('1.250.000', '1250000 ₫'); empty -> None."""

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not text:
            return
        try:
            self.data = parse_vnd(text)
        except ValueError:
            raise ValueError(_l("Số tiền không hợp lệ (chỉ gồm chữ số, ví dụ 1.250.000).")) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return str(self.data) if self.data is not None else ""


class TermsForm(SiteForm):
    deposit_percent = IntegerField(
        _l("Tỷ lệ đặt cọc (%)"),
        validators=[Optional(), NumberRange(1, 100, _l("Tỷ lệ đặt cọc phải từ %(min)s đến %(max)s%%."))],
    )
    sample_price_vnd = VndField(_l("Giá hàng mẫu (₫)"), validators=[Optional()])


class PayForm(SiteForm):
    payment_method = HiddenField(validators=[DataRequired(_l("Thiếu thông tin thẻ."))])


class RefundForm(SiteForm):
    amount_vnd = VndField(_l("Số tiền hoàn (₫, để trống = hoàn toàn bộ phần còn lại)"), validators=[Optional()])
    reason = StringField(_l("Lý do / mã giao dịch hoàn"), validators=[Optional(), Length(max=300)])


class SettleForm(SiteForm):
    settled_on = LocalDateField(_l("Ngày chuyển khoản"), validators=[Optional()])
    reference = StringField(_l("Mã giao dịch ngân hàng"), validators=[Optional(), Length(max=100)])
