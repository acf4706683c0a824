"""Forms for buyer profiles, inquiries, RFQs, quotes, messages, notification settings and moderation.

Numbers are typed as text ("1.250.000") and parsed by the services, which give the messages;
text is NFC-normalised by the services too.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from marketplace.core.fields import LocalDateField
from marketplace.core.forms import SiteForm
from marketplace.core.i18n import lazy_pair_label
from marketplace.data import OCOP_GROUPS, district_names

INVALID_CHOICE = _l("Lựa chọn không hợp lệ.")

BUYER_KIND_LABELS = {
    "supermarket": _l("Siêu thị, chuỗi bán lẻ"),
    "horeca": _l("Khách sạn, nhà hàng"),
    "exporter": _l("Doanh nghiệp xuất khẩu"),
    "distributor": _l("Nhà phân phối"),
    "retailer": _l("Cửa hàng bán lẻ"),
    "agency": _l("Cơ quan, tổ chức"),
    "individual": _l("Cá nhân"),
}
EMAIL_MODE_LABELS = {
    "instant": _l("Gửi email ngay khi có thông báo"),
    "daily": _l("Gửi một email tóm tắt mỗi ngày"),
    "off": _l("Không gửi email (chỉ xem trên trang)"),
}


def _districts():
    return [SelectChoice("", _l("— Chọn quận/huyện —"))] + [SelectChoice(n, n) for n in district_names()]


def _groups():
    return [SelectChoice("", _l("Mọi nhóm sản phẩm"))] + [
        SelectChoice(c, lazy_pair_label(labels)) for c, labels in OCOP_GROUPS.items()
    ]


def _stars():
    return [SelectChoice("0", _l("Không yêu cầu"))] + [SelectChoice(str(n), _l("Từ %(n)s sao", n=n)) for n in (3, 4, 5)]


def _select(label, choices, **kwargs) -> SelectField:
    return SelectField(label, choices=choices, invalid_choice_message=INVALID_CHOICE, **kwargs)


class ProfileForm(SiteForm):
    kind = _select(
        _l("Loại hình"), [SelectChoice(k, v) for k, v in BUYER_KIND_LABELS.items()], validators=[DataRequired()]
    )
    organisation = StringField(_l("Tên tổ chức, doanh nghiệp"), validators=[Length(max=200)])
    contact_name = StringField(
        _l("Người liên hệ"), validators=[DataRequired(_l("Vui lòng nhập người liên hệ.")), Length(max=120)]
    )
    phone = StringField(
        _l("Điện thoại"), validators=[Length(max=30)], render_kw={"inputmode": "tel", "autocomplete": "tel"}
    )
    district = _select(_l("Quận/huyện"), _districts(), validate_choice=False)


class InquiryForm(SiteForm):
    quantity = StringField(
        _l("Số lượng"), validators=[DataRequired(_l("Vui lòng nhập số lượng."))], render_kw={"inputmode": "numeric"}
    )
    unit = StringField(
        _l("Đơn vị tính"), validators=[DataRequired(_l("Vui lòng nhập đơn vị tính."))], render_kw={"list": "units"}
    )
    target_price_vnd = StringField(_l("Giá mong muốn (₫ một đơn vị)"), render_kw={"inputmode": "numeric"})
    needed_by = LocalDateField(_l("Cần hàng trước ngày"))
    delivery_district = _select(_l("Giao hàng tới"), _districts(), validate_choice=False)
    message = TextAreaField(
        _l("Lời nhắn cho nhà sản xuất"),
        validators=[DataRequired(_l("Vui lòng viết lời nhắn.")), Length(max=5000)],
        render_kw={"rows": 5},
    )


class RfqForm(SiteForm):
    title = StringField(
        _l("Bạn cần mua gì?"),
        validators=[DataRequired(_l("Vui lòng mô tả hàng cần mua.")), Length(max=200)],
        render_kw={"placeholder": _l("Ví dụ: Chè Shan tuyết đóng hộp quà Tết")},
    )
    details = TextAreaField(
        _l("Mô tả chi tiết (quy cách, đóng gói, chứng nhận…)"), validators=[Length(max=5000)], render_kw={"rows": 4}
    )
    ocop_group = _select(_l("Nhóm sản phẩm OCOP"), _groups())
    quantity = StringField(
        _l("Số lượng"), validators=[DataRequired(_l("Vui lòng nhập số lượng."))], render_kw={"inputmode": "numeric"}
    )
    unit = StringField(
        _l("Đơn vị tính"), validators=[DataRequired(_l("Vui lòng nhập đơn vị tính."))], render_kw={"list": "units"}
    )
    min_stars = _select(_l("Hạng sao OCOP tối thiểu"), _stars(), default="0")
    target_price_vnd = StringField(_l("Giá mong muốn (₫ một đơn vị)"), render_kw={"inputmode": "numeric"})
    deadline = LocalDateField(_l("Hạn nhận báo giá"), validators=[DataRequired(_l("Vui lòng chọn hạn nhận báo giá."))])
    delivery_district = _select(_l("Giao hàng tới"), _districts(), validate_choice=False)
    visibility = RadioField(
        _l("Ai được báo giá"),
        choices=[
            SelectChoice("public", _l("Mọi nhà sản xuất phù hợp")),
            SelectChoice("invited", _l("Chỉ nhà sản xuất tôi mời")),
        ],
        default="public",
        validators=[DataRequired()],
    )
    invite = SelectMultipleField(_l("Mời nhà sản xuất"), coerce=int, validate_choice=False)


class QuoteForm(SiteForm):
    producer_id = _select(_l("Báo giá với tư cách"), [], coerce=int)
    unit_price_vnd = StringField(
        _l("Đơn giá (₫)"), validators=[DataRequired(_l("Vui lòng nhập đơn giá."))], render_kw={"inputmode": "numeric"}
    )
    moq = StringField(_l("Đơn hàng tối thiểu"), render_kw={"inputmode": "numeric"})
    lead_time_days = StringField(
        _l("Thời gian giao hàng (ngày)"),
        validators=[DataRequired(_l("Vui lòng nhập thời gian giao hàng."))],
        render_kw={"inputmode": "numeric"},
    )
    valid_until = LocalDateField(
        _l("Báo giá có hiệu lực đến"), validators=[DataRequired(_l("Vui lòng chọn ngày hết hiệu lực."))]
    )
    note = TextAreaField(_l("Ghi chú cho người mua"), validators=[Length(max=2000)], render_kw={"rows": 3})
    sample_offer = BooleanField(_l("Có thể gửi hàng mẫu"))


class MessageForm(SiteForm):
    body = TextAreaField(_l("Tin nhắn"), validators=[Length(max=5000)], render_kw={"rows": 3})
    attachments = MultipleFileField(
        _l("Đính kèm (ảnh hoặc PDF, tối đa 5 MB)"),
        render_kw={"accept": "image/jpeg,image/png,image/webp,application/pdf"},
    )


class ReasonForm(SiteForm):
    reason = StringField(_l("Lý do"), validators=[DataRequired(_l("Vui lòng nêu lý do.")), Length(max=500)])


class DeclineForm(SiteForm):
    note = StringField(_l("Lý do từ chối (không bắt buộc)"), validators=[Optional(), Length(max=500)])


class InviteForm(SiteForm):
    producer_id = HiddenField()


class SettingsForm(SiteForm):
    email_mode = RadioField(
        _l("Email thông báo"),
        choices=[SelectChoice(k, v) for k, v in EMAIL_MODE_LABELS.items()],
        validators=[DataRequired()],
    )


class EmptyForm(SiteForm):
    """CSRF only: for buttons that change something."""
