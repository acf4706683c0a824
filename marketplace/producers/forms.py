"""Forms for storefronts, photos, claims and invitations."""

from __future__ import annotations

import math

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms import (
    EmailField,
    FloatField,
    MultipleFileField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from marketplace.core.forms import SiteForm
from marketplace.core.i18n import certification_choices
from marketplace.data import PRODUCER_KINDS, district_names


class CoordinateField(FloatField):
    """A decimal degree; accepts a decimal comma ("21,03"); NaN and infinity are refused."""

    widget = TextInput()

    def process_formdata(self, valuelist):
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        text = str(valuelist[0]).strip().replace(",", ".")
        try:
            value = float(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value):
            self.data = None
            raise ValueError(_l("Vui lòng nhập một số, ví dụ 21.0285."))
        self.data = value


def _kind_choices() -> list[SelectChoice]:
    english = str(get_locale()) == "en"
    return [SelectChoice(code, labels[1] if english else labels[0]) for code, labels in PRODUCER_KINDS.items()]


class ProducerForm(SiteForm):
    name = StringField(_l("Tên cơ sở"), validators=[DataRequired(_l("Vui lòng nhập tên cơ sở.")), Length(max=200)])
    kind = SelectField(_l("Loại hình"), validators=[DataRequired()])
    district = SelectField(_l("Quận/huyện"), validators=[DataRequired(_l("Vui lòng chọn quận/huyện."))])
    commune = StringField(_l("Xã/phường"), validators=[Optional(), Length(max=80)])
    craft_village = StringField(
        _l("Làng nghề"), validators=[Optional(), Length(max=120)], render_kw={"list": "craft-villages"}
    )
    address = StringField(_l("Địa chỉ"), validators=[Optional(), Length(max=300)])
    story = TextAreaField(_l("Câu chuyện của cơ sở"), validators=[Optional(), Length(max=5000)], render_kw={"rows": 8})
    phone = StringField(_l("Điện thoại"), validators=[Optional(), Length(max=30)], render_kw={"type": "tel"})
    email = EmailField(
        _l("Email liên hệ"),
        validators=[Optional(), Email(_l("Địa chỉ email không hợp lệ."), check_deliverability=False), Length(max=254)],
    )
    website = URLField(_l("Website"), validators=[Optional(), Length(max=300)], render_kw={"placeholder": "https://"})
    certifications = SelectMultipleField(
        _l("Chứng nhận"),
        choices=certification_choices(),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=True,
    )
    other_certifications = StringField(
        _l("Chứng nhận khác (cách nhau bởi dấu ;)"), validators=[Optional(), Length(max=300)]
    )
    lat = CoordinateField(
        _l("Vĩ độ"),
        validators=[Optional()],
        render_kw={"inputmode": "decimal"},
    )
    lng = CoordinateField(
        _l("Kinh độ"),
        validators=[Optional()],
        render_kw={"inputmode": "decimal"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = _kind_choices()
        self.district.choices = [SelectChoice("", _l("— Chọn quận/huyện —"))] + [
            SelectChoice(d, d) for d in district_names()
        ]


class PhotoForm(SiteForm):
    photos = MultipleFileField(
        _l("Thêm ảnh (JPEG, PNG hoặc WebP, tối đa 5 MB mỗi ảnh)"),
        render_kw={"accept": "image/jpeg,image/png,image/webp"},
    )


class ClaimForm(SiteForm):
    evidence = StringField(
        _l("Số giấy chứng nhận OCOP của cơ sở"),
        validators=[DataRequired(_l("Vui lòng nhập số giấy chứng nhận OCOP.")), Length(max=200)],
    )
    message = TextAreaField(
        _l("Lời nhắn cho ban tổ chức"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 4}
    )


class RejectClaimForm(SiteForm):
    reason = TextAreaField(
        _l("Lý do từ chối"), validators=[DataRequired(_l("Vui lòng nêu lý do từ chối.")), Length(max=2000)]
    )


class InvitationForm(SiteForm):
    email = EmailField(
        _l("Email người nhận"),
        validators=[
            DataRequired(_l("Vui lòng nhập email.")),
            Email(_l("Địa chỉ email không hợp lệ."), check_deliverability=False),
            Length(max=254),
        ],
    )
