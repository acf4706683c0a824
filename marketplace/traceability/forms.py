"""Forms for batches and their chain (inputs, processing steps, inspections, destinations), recall."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length
from wtforms.widgets import NumberInput

from marketplace.core.fields import LocalDateField
from marketplace.core.forms import SiteForm
from marketplace.traceability.files import DEFAULT_MAX_FILE_BYTES
from marketplace.traceability.services import VALUE_LABELS, format_quantity, parse_quantity
from marketplace.traceability.validation import (
    BatchData,
    DestinationData,
    InputData,
    InspectionData,
    StepData,
    UploadedFile,
)

INVALID_CHOICE = _l("Lựa chọn không hợp lệ.")


def _choices(name: str) -> list[SelectChoice]:
    return [SelectChoice(code, label) for code, label in VALUE_LABELS[name].items()]


class QuantityField(StringField):
    """A quantity typed the Vietnamese way ('1.250,5', '12,5', '120'); the typed text is kept on error."""

    def process_formdata(self, valuelist):
        self.data = None
        try:
            self.data = parse_quantity(valuelist[0] if valuelist else "")
        except ValueError:
            raise ValueError(_l("Vui lòng nhập một số, ví dụ 1.250 hoặc 12,5.")) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return format_quantity(self.data) if self.data is not None else ""


class WholeNumberField(StringField):
    widget = NumberInput(min=1)

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not text:
            return
        if not text.isdigit():
            raise ValueError(_l("Vui lòng nhập một số nguyên dương."))
        self.data = int(text)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return str(self.data) if self.data is not None else ""


def _optional_int(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


class BatchForm(SiteForm):
    code = StringField(
        _l("Mã lô"),
        validators=[DataRequired(_l("Vui lòng nhập mã lô.")), Length(max=60, message=_l("Tối đa 60 ký tự."))],
        render_kw={"autocomplete": "off"},
    )
    date_kind = SelectField(_l("Loại ngày"), choices=_choices("date_kind"), invalid_choice_message=INVALID_CHOICE)
    produced_on = LocalDateField(
        _l("Ngày sản xuất / thu hoạch"), validators=[InputRequired(_l("Vui lòng nhập ngày sản xuất hoặc thu hoạch."))]
    )
    quantity = QuantityField(_l("Số lượng"))
    unit = StringField(_l("Đơn vị"), validators=[Length(max=30, message=_l("Tối đa 30 ký tự."))])
    expires_on = LocalDateField(_l("Hạn sử dụng (ngày)"))
    shelf_life_value = WholeNumberField(_l("Hoặc thời hạn sử dụng"))
    shelf_life_unit = SelectField(
        _l("Tính theo"), choices=_choices("shelf_life_unit"), default="month", invalid_choice_message=INVALID_CHOICE
    )
    external_code = StringField(
        _l("Mã trên hệ thống truy xuất của thành phố"),
        validators=[Length(max=120, message=_l("Tối đa 120 ký tự."))],
    )
    notes = TextAreaField(_l("Ghi chú"), validators=[Length(max=5000, message=_l("Tối đa 5000 ký tự."))])

    def to_data(self) -> BatchData:
        return BatchData(
            code=self.code.data or "",
            produced_on=self.produced_on.data,
            date_kind=self.date_kind.data or "",
            quantity=self.quantity.data,
            unit=self.unit.data or "",
            expires_on=self.expires_on.data,
            shelf_life_value=self.shelf_life_value.data,
            shelf_life_unit=self.shelf_life_unit.data or "",
            external_code=self.external_code.data or "",
            notes=self.notes.data or "",
        )


class InputForm(SiteForm):
    name = StringField(
        _l("Nguyên liệu"),
        validators=[
            DataRequired(_l("Vui lòng nhập tên nguyên liệu.")),
            Length(max=200, message=_l("Tối đa 200 ký tự.")),
        ],
    )
    supplier = StringField(_l("Nhà cung cấp"), validators=[Length(max=200, message=_l("Tối đa 200 ký tự."))])
    origin = StringField(_l("Nơi sản xuất / xuất xứ"), validators=[Length(max=300, message=_l("Tối đa 300 ký tự."))])
    received_on = LocalDateField(_l("Ngày nhận"))
    quantity = StringField(_l("Số lượng"), validators=[Length(max=60, message=_l("Tối đa 60 ký tự."))])
    notes = TextAreaField(_l("Ghi chú"), validators=[Length(max=2000, message=_l("Tối đa 2000 ký tự."))])

    def to_data(self) -> InputData:
        return InputData(
            name=self.name.data or "",
            supplier=self.supplier.data or "",
            origin=self.origin.data or "",
            received_on=self.received_on.data,
            quantity=self.quantity.data or "",
            notes=self.notes.data or "",
        )


class StepForm(SiteForm):
    name = StringField(
        _l("Công đoạn"),
        validators=[DataRequired(_l("Vui lòng nhập tên công đoạn.")), Length(max=200, message=_l("Tối đa 200 ký tự."))],
    )
    started_on = LocalDateField(_l("Ngày bắt đầu"), validators=[InputRequired(_l("Vui lòng nhập ngày bắt đầu."))])
    ended_on = LocalDateField(_l("Ngày kết thúc"))
    place = StringField(_l("Địa điểm"), validators=[Length(max=300, message=_l("Tối đa 300 ký tự."))])
    description = TextAreaField(_l("Mô tả"), validators=[Length(max=2000, message=_l("Tối đa 2000 ký tự."))])

    def to_data(self) -> StepData:
        return StepData(
            name=self.name.data or "",
            started_on=self.started_on.data,
            ended_on=self.ended_on.data,
            place=self.place.data or "",
            description=self.description.data or "",
        )


class InspectionForm(SiteForm):
    inspected_on = LocalDateField(_l("Ngày kiểm tra"), validators=[InputRequired(_l("Vui lòng nhập ngày kiểm tra."))])
    name = StringField(
        _l("Nội dung kiểm tra"),
        validators=[
            DataRequired(_l("Vui lòng nhập nội dung kiểm tra.")),
            Length(max=200, message=_l("Tối đa 200 ký tự.")),
        ],
    )
    organisation = StringField(_l("Đơn vị kiểm tra"), validators=[Length(max=200, message=_l("Tối đa 200 ký tự."))])
    result = TextAreaField(
        _l("Kết quả"),
        validators=[DataRequired(_l("Vui lòng nhập kết quả.")), Length(max=2000, message=_l("Tối đa 2000 ký tự."))],
    )
    outcome = SelectField(_l("Kết luận"), choices=_choices("outcome"), invalid_choice_message=INVALID_CHOICE)
    file = FileField(
        _l("Phiếu kết quả (PDF hoặc ảnh, tối đa 5 MB)"),
        render_kw={"accept": "application/pdf,image/jpeg,image/png,image/webp"},
    )

    def upload(self) -> UploadedFile | None:
        storage = self.file.data
        if storage is None or not getattr(storage, "filename", ""):
            return None
        limit = int(current_app.config.get("TRACE_MAX_FILE_BYTES") or DEFAULT_MAX_FILE_BYTES)
        return UploadedFile(filename=storage.filename, data=storage.read(limit + 1))

    def to_data(self) -> InspectionData:
        return InspectionData(
            inspected_on=self.inspected_on.data,
            name=self.name.data or "",
            organisation=self.organisation.data or "",
            result=self.result.data or "",
            outcome=self.outcome.data or "",
            file=self.upload(),
        )


class DestinationForm(SiteForm):
    kind = SelectField(_l("Loại nơi nhận"), choices=_choices("kind"), invalid_choice_message=INVALID_CHOICE)
    sales_point_id = SelectField(_l("Điểm bán"), coerce=_optional_int, validate_choice=False, choices=[])
    description = StringField(_l("Nơi nhận / đơn hàng"), validators=[Length(max=300, message=_l("Tối đa 300 ký tự."))])
    shipped_on = LocalDateField(_l("Ngày giao"))
    quantity = StringField(_l("Số lượng"), validators=[Length(max=60, message=_l("Tối đa 60 ký tự."))])

    def to_data(self) -> DestinationData:
        return DestinationData(
            kind=self.kind.data or "",
            sales_point_id=self.sales_point_id.data,
            description=self.description.data or "",
            shipped_on=self.shipped_on.data,
            quantity=self.quantity.data or "",
        )


class RecallForm(SiteForm):
    reason = TextAreaField(
        _l("Lý do thu hồi"),
        validators=[
            DataRequired(_l("Vui lòng nêu lý do thu hồi.")),
            Length(max=2000, message=_l("Tối đa 2000 ký tự.")),
        ],
    )


ITEM_FORMS = {"inputs": InputForm, "steps": StepForm, "inspections": InspectionForm, "destinations": DestinationForm}
