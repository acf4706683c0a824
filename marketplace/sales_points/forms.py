"""Forms of the sales point registry: applying/editing, reviews, carry requests."""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from marketplace.core.forms import SiteForm
from marketplace.data import SALES_POINT_KINDS, district_names
from marketplace.producers.forms import CoordinateField
from marketplace.sales_points.approvals import CHECKLIST
from marketplace.sales_points.services import SalesPointData

INVALID_CHOICE = _l("Lựa chọn không hợp lệ.")


def _kind_choices() -> list[SelectChoice]:
    english = str(get_locale()) == "en"
    return [SelectChoice("", _l("— Chọn loại điểm bán —"))] + [
        SelectChoice(code, labels[1] if english else labels[0]) for code, labels in SALES_POINT_KINDS.items()
    ]


class SalesPointForm(SiteForm):
    name = StringField(
        _l("Tên điểm bán"), validators=[DataRequired(_l("Vui lòng nhập tên điểm bán.")), Length(max=200)]
    )
    kind = SelectField(
        _l("Loại điểm bán"),
        validators=[DataRequired(_l("Vui lòng chọn loại điểm bán."))],
        invalid_choice_message=INVALID_CHOICE,
    )
    district = SelectField(
        _l("Quận/huyện"),
        validators=[DataRequired(_l("Vui lòng chọn quận/huyện."))],
        invalid_choice_message=INVALID_CHOICE,
    )
    commune = StringField(_l("Xã/phường"), validators=[Optional(), Length(max=80)])
    address = StringField(
        _l("Địa chỉ"), validators=[DataRequired(_l("Vui lòng nhập địa chỉ để khách tìm đến.")), Length(max=300)]
    )
    lat = CoordinateField(_l("Vĩ độ"), validators=[Optional()], render_kw={"inputmode": "decimal"})
    lng = CoordinateField(_l("Kinh độ"), validators=[Optional()], render_kw={"inputmode": "decimal"})
    opening_hours = StringField(
        _l("Giờ mở cửa"), validators=[Optional(), Length(max=120)], render_kw={"placeholder": "08:00-21:00"}
    )
    phone = StringField(_l("Điện thoại"), validators=[Optional(), Length(max=30)], render_kw={"type": "tel"})
    display_area_m2 = IntegerField(
        _l("Diện tích khu trưng bày OCOP (m²)"),
        validators=[Optional(), NumberRange(min=1, max=100_000, message=_l("Từ 1 đến 100.000 m²."))],
        render_kw={"inputmode": "numeric"},
    )
    description = TextAreaField(
        _l("Giới thiệu điểm bán"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 4}
    )
    photos = MultipleFileField(
        _l("Ảnh điểm bán (JPEG, PNG hoặc WebP, tối đa 5 MB mỗi ảnh)"),
        render_kw={"accept": "image/jpeg,image/png,image/webp"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = _kind_choices()
        self.district.choices = [SelectChoice("", _l("— Chọn quận/huyện —"))] + [
            SelectChoice(d, d) for d in district_names()
        ]

    def to_data(self) -> SalesPointData:
        return SalesPointData(
            name=self.name.data or "",
            kind=self.kind.data or "",
            district=self.district.data or "",
            commune=self.commune.data or "",
            address=self.address.data or "",
            lat=self.lat.data,
            lng=self.lng.data,
            opening_hours=self.opening_hours.data or "",
            phone=self.phone.data or "",
            description=self.description.data or "",
            display_area_m2=self.display_area_m2.data,
        )


class PhotoForm(SiteForm):
    photos = MultipleFileField(
        _l("Thêm ảnh (JPEG, PNG hoặc WebP, tối đa 5 MB mỗi ảnh)"),
        render_kw={"accept": "image/jpeg,image/png,image/webp"},
    )


class ChecklistForm(SiteForm):
    """Approve or reject a pending application: the Decision 950 checklist and a note/reason."""

    reason = TextAreaField(_l("Ghi chú hoặc lý do"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 3})

    def answers(self) -> dict[str, bool]:
        return {code: bool(getattr(self, f"check_{code}").data) for code, _label in CHECKLIST}


for _code, _label in CHECKLIST:
    setattr(ChecklistForm, f"check_{_code}", BooleanField(_label))


class ReasonForm(SiteForm):
    """Suspend (reason required) or reinstate (note optional)."""

    reason = TextAreaField(_l("Lý do"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 2})


class CarryRequestForm(SiteForm):
    product_id = SelectField(
        _l("Sản phẩm"),
        coerce=int,
        validators=[DataRequired(_l("Vui lòng chọn sản phẩm."))],
        invalid_choice_message=INVALID_CHOICE,
    )
    sales_point_id = SelectField(
        _l("Điểm bán"),
        coerce=int,
        validators=[DataRequired(_l("Vui lòng chọn điểm bán."))],
        invalid_choice_message=INVALID_CHOICE,
    )
    message = TextAreaField(
        _l("Lời nhắn cho điểm bán"), validators=[Optional(), Length(max=1000)], render_kw={"rows": 3}
    )


class ResponseForm(SiteForm):
    response = TextAreaField(_l("Lời nhắn (không bắt buộc)"), validators=[Optional(), Length(max=1000)])
