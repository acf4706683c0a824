"""The need form of the page "Tìm nhà cung cấp" (sent with GET: a search, shareable, no CSRF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from marketplace.core.forms import SiteForm
from marketplace.core.i18n import certification_choices, lazy_pair_label
from marketplace.core.money import format_vnd, parse_vnd
from marketplace.data import OCOP_GROUPS, UNITS, district_names
from marketplace.matching.need import MAX_TEXT, parse_number

INVALID_CHOICE = _l("Lựa chọn không hợp lệ.")


class QuantityField(StringField):
    """A positive number typed the Vietnamese way: '500', '1.000', '2,5'. Empty is None; the
    typed text is kept when it is wrong."""

    def process_formdata(self, valuelist):
        self.raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not self.raw:
            return
        found = parse_number(self.raw.replace(" ", ""))
        if found is None or found[1] or found[0] <= 0:
            raise ValueError(_l("Vui lòng nhập một số lớn hơn 0, ví dụ 500."))
        self.data = found[0]

    def _value(self):
        return getattr(self, "raw", "") or ("" if self.data is None else f"{self.data:g}")


class PriceField(StringField):
    """An amount in VND: '80.000', '80000 ₫'. Empty is None."""

    def process_formdata(self, valuelist):
        self.raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if self.raw.startswith("-"):
            raise ValueError(_l("Không được nhập số âm."))
        try:
            self.data = parse_vnd(self.raw)
        except ValueError:
            raise ValueError(_l("Vui lòng nhập một số tiền, ví dụ 80.000.")) from None

    def _value(self):
        return getattr(self, "raw", "") or (format_vnd(self.data, symbol=False) if self.data is not None else "")


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _groups():
    return [SelectChoice("", _l("Mọi nhóm"))] + [
        SelectChoice(code, lazy_pair_label(labels)) for code, labels in OCOP_GROUPS.items()
    ]


class NeedForm(SiteForm):
    class Meta:
        csrf = False  # a GET search: nothing changes

    text = TextAreaField(
        _l("Bạn cần mua gì?"),
        validators=[
            DataRequired(message=_l("Hãy mô tả sản phẩm bạn cần.")),
            Length(max=MAX_TEXT, message=_l("Tối đa %(max)d ký tự.")),
        ],
        render_kw={"rows": 2, "placeholder": _l("Ví dụ: cần mua 500 kg miến dong làm quà tặng, giao tới Cầu Giấy")},
    )
    ocop_group = SelectField(_l("Nhóm sản phẩm"), choices=_groups, default="", invalid_choice_message=INVALID_CHOICE)
    quantity = QuantityField(_l("Số lượng"), render_kw={"inputmode": "decimal"})
    unit = SelectField(
        _l("Đơn vị"),
        choices=[SelectChoice("", "—")] + [SelectChoice(u, u) for u in UNITS],
        default="",
        invalid_choice_message=INVALID_CHOICE,
    )
    min_stars = SelectField(
        _l("Hạng sao OCOP tối thiểu"),
        choices=[SelectChoice("0", _l("Không yêu cầu"))] + [SelectChoice(str(n), f"{n}★") for n in (3, 4, 5)],
        default="0",
        invalid_choice_message=INVALID_CHOICE,
    )
    district = SelectField(
        _l("Giao hàng tới"),
        choices=lambda: [SelectChoice("", _l("Chưa chọn"))] + [SelectChoice(d, d) for d in district_names()],
        default="",
        invalid_choice_message=INVALID_CHOICE,
    )
    max_price_vnd = PriceField(_l("Giá tối đa mỗi đơn vị (₫)"), render_kw={"inputmode": "numeric"})
    certifications = CheckboxesField(
        _l("Chứng nhận cần có"),
        choices=certification_choices(),
        invalid_choice_message=INVALID_CHOICE,
    )
