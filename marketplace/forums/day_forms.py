"""Forms of the forum day: check-in, releasing no-shows, meeting outcomes."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from marketplace.core.forms import SiteForm
from marketplace.core.money import parse_vnd
from marketplace.forums.outcomes import MAX_DEAL_VND, NOTE_LENGTH, RESULT_LABELS, OutcomeData


class CheckInForm(SiteForm):
    code = StringField(
        _l("Mã check-in"),
        validators=[DataRequired(_l("Nhập hoặc quét mã check-in.")), Length(max=60, message=_l("Mã quá dài."))],
    )


class ReleaseForm(SiteForm):
    """Release no-shows: all of the forum's, or one participant's (registration_id)."""

    registration_id = HiddenField()

    def registration_id_value(self) -> int | None:
        raw = (self.registration_id.data or "").strip()
        return int(raw) if raw.isdigit() else None


class OutcomeForm(SiteForm):
    result = SelectField(
        _l("Kết quả cuộc gặp"),
        choices=[SelectChoice("", _l("— Chọn kết quả —"))]
        + [SelectChoice(code, text) for code, text in RESULT_LABELS.items()],
        validators=[DataRequired(_l("Chọn một kết quả."))],
        invalid_choice_message=_l("Lựa chọn không hợp lệ."),
    )
    deal_value = StringField(
        _l("Giá trị ước tính (VND, không bắt buộc)"),
        validators=[Optional(), Length(max=30, message=_l("Giá trị không hợp lệ."))],
    )
    note = TextAreaField(_l("Ghi chú"), validators=[Optional(), Length(max=NOTE_LENGTH)])

    def validate_deal_value(self, field) -> None:
        try:
            value = parse_vnd(field.data)
        except ValueError as error:
            raise ValidationError(_l("Nhập số tiền bằng chữ số, ví dụ 150.000.000.")) from error
        if value is not None and value > MAX_DEAL_VND:
            raise ValidationError(_l("Giá trị ước tính từ 0 đến 10.000 tỷ đồng."))

    def data_object(self) -> OutcomeData:
        return OutcomeData(
            result=self.result.data or "",
            deal_value_vnd=parse_vnd(self.deal_value.data),
            note=self.note.data or "",
        )
