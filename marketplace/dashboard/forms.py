"""Forms of the organisers' dashboard."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from marketplace.core.forms import SiteForm


class RejectForm(SiteForm):
    reason = TextAreaField(
        _l("Lý do từ chối"),
        validators=[
            DataRequired(_l("Vui lòng nêu lý do từ chối.")),
            Length(max=2000, message=_l("Lý do tối đa 2.000 ký tự.")),
        ],
    )


class TargetForm(SiteForm):
    min_stars = SelectField(
        _l("Số sao tối thiểu"),
        choices=[SelectChoice(3, _l("Từ 3 sao")), SelectChoice(4, _l("Từ 4 sao")), SelectChoice(5, _l("5 sao"))],
        coerce=int,
        validators=[InputRequired(_l("Vui lòng chọn số sao."))],
    )
    goal = IntegerField(
        _l("Chỉ tiêu (số sản phẩm)"),
        validators=[
            InputRequired(_l("Vui lòng nhập chỉ tiêu.")),
            NumberRange(min=1, max=1_000_000, message=_l("Chỉ tiêu phải từ 1 đến 1.000.000 sản phẩm.")),
        ],
    )


class ReportForm(SiteForm):
    reason = TextAreaField(
        _l("Lý do báo cáo"),
        validators=[
            DataRequired(_l("Vui lòng nêu lý do (ít nhất 3 ký tự).")),
            Length(min=3, max=500, message=_l("Lý do từ 3 đến 500 ký tự.")),
        ],
    )


class ModerationForm(SiteForm):
    """Every moderation action (hide, restore, suspend, dismiss) records a reason."""

    reason = TextAreaField(
        _l("Lý do"),
        validators=[
            DataRequired(_l("Vui lòng nêu lý do (ít nhất 3 ký tự).")),
            Length(min=3, max=500, message=_l("Lý do từ 3 đến 500 ký tự.")),
        ],
    )
