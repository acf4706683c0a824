"""Forms of the forums feature: set-up, sessions, registration, review, meeting requests, the grid."""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, TimeInput

from marketplace.core.dates import HANOI, to_local
from marketplace.core.fields import LocalDateField
from marketplace.core.forms import SiteForm, SiteMeta
from marketplace.core.money import parse_vnd
from marketplace.data import OCOP_GROUPS
from marketplace.forums.registration import RegistrationData, group_codes
from marketplace.forums.setup import MAX_FEE_VND, ForumData, SessionData

INVALID_CHOICE = _l("Lựa chọn không hợp lệ.")


class LocalTimeField(StringField):
    """<input type=time> (HH:MM, Hà Nội wall clock)."""

    widget = TimeInput()

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not text:
            return
        try:
            self.data = datetime.strptime(text[:5], "%H:%M").time()  # noqa: DTZ007 (a wall-clock time)
        except ValueError:
            raise ValueError(_l("Giờ không hợp lệ (HH:MM).")) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.strftime("%H:%M") if isinstance(self.data, time) else ""


class LocalDateTimeField(StringField):
    """<input type=datetime-local> read as Hà Nội time; `data` is an aware UTC datetime."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("render_kw", {})["type"] = "datetime-local"
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not text:
            return
        try:
            naive = datetime.strptime(text[:16], "%Y-%m-%dT%H:%M")  # noqa: DTZ007 (local wall clock)
        except ValueError:
            raise ValueError(_l("Thời điểm không hợp lệ.")) from None
        self.data = naive.replace(tzinfo=HANOI).astimezone(UTC)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        local = to_local(self.data) if isinstance(self.data, datetime) else None
        return local.strftime("%Y-%m-%dT%H:%M") if local else ""


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _group_choices() -> list[SelectChoice]:
    english = str(get_locale()) == "en"
    return [SelectChoice(code, labels[1] if english else labels[0]) for code, labels in OCOP_GROUPS.items()]


def _int(message):
    return NumberRange(min=0, message=message)


def _fee(text: str | None) -> int:
    """The fee typed (0 when blank), -1 when it is not an amount."""
    try:
        return parse_vnd(text) or 0
    except ValueError:
        return -1


class ForumForm(SiteForm):
    title = StringField(_l("Tên diễn đàn"), validators=[DataRequired(_l("Hãy nhập tên diễn đàn.")), Length(max=200)])
    description = TextAreaField(_l("Giới thiệu"), validators=[Optional(), Length(max=20_000)], render_kw={"rows": 5})
    venue = StringField(_l("Địa điểm"), validators=[Optional(), Length(max=300)])
    district = StringField(_l("Quận/huyện, xã/phường"), validators=[Optional(), Length(max=80)])
    starts_on = LocalDateField(_l("Ngày bắt đầu"), validators=[DataRequired(_l("Hãy chọn ngày bắt đầu."))])
    ends_on = LocalDateField(_l("Ngày kết thúc"), validators=[DataRequired(_l("Hãy chọn ngày kết thúc."))])
    registration_deadline = LocalDateTimeField(
        _l("Hạn đăng ký (giờ Hà Nội)"), validators=[DataRequired(_l("Hãy nhập hạn đăng ký."))]
    )
    request_deadline = LocalDateTimeField(_l("Hạn gửi lời mời gặp (để trống: bằng hạn đăng ký)"))
    tables = IntegerField(
        _l("Số bàn gặp gỡ"),
        default=20,
        validators=[
            InputRequired(_l("Hãy nhập số bàn.")),
            NumberRange(min=1, max=500, message=_l("Số bàn phải từ 1 đến 500.")),
        ],
    )
    max_meetings_per_participant = IntegerField(
        _l("Số cuộc gặp tối đa mỗi người"),
        default=8,
        validators=[
            InputRequired(_l("Hãy nhập số cuộc gặp tối đa.")),
            NumberRange(min=1, max=50, message=_l("Từ 1 đến 50.")),
        ],
    )
    capacity_buyers = IntegerField(
        _l("Số người mua tối đa"),
        default=100,
        validators=[Optional(), NumberRange(min=0, max=10_000, message=_l("Từ 0 đến 10.000."))],
    )
    capacity_producers = IntegerField(
        _l("Số nhà sản xuất tối đa"),
        default=100,
        validators=[Optional(), NumberRange(min=0, max=10_000, message=_l("Từ 0 đến 10.000."))],
    )
    fee_vnd = StringField(_l("Lệ phí tham dự (đồng, để trống nếu miễn phí)"), render_kw={"inputmode": "numeric"})

    def validate_fee_vnd(self, field):
        text = (field.data or "").strip()
        if text and not 0 <= _fee(text) <= MAX_FEE_VND:
            raise ValidationError(_l("Lệ phí không hợp lệ."))

    def to_data(self) -> ForumData:
        return ForumData(
            title=self.title.data or "",
            description=self.description.data or "",
            venue=self.venue.data or "",
            district=self.district.data or "",
            starts_on=self.starts_on.data,
            ends_on=self.ends_on.data,
            registration_deadline=self.registration_deadline.data,
            request_deadline=self.request_deadline.data,
            tables=self.tables.data or 0,
            max_meetings_per_participant=self.max_meetings_per_participant.data or 0,
            capacity_buyers=self.capacity_buyers.data or 0,
            capacity_producers=self.capacity_producers.data or 0,
            fee_vnd=max(_fee(self.fee_vnd.data), 0),
        )

    def fill(self, forum) -> None:
        for name in (
            "title",
            "description",
            "venue",
            "district",
            "starts_on",
            "ends_on",
            "registration_deadline",
            "request_deadline",
            "tables",
            "max_meetings_per_participant",
            "capacity_buyers",
            "capacity_producers",
        ):
            getattr(self, name).data = getattr(forum, name)
        self.fee_vnd.data = str(forum.fee_vnd) if forum.fee_vnd else ""


class SessionEntryForm(Form):
    Meta = SiteMeta
    id = HiddenField()
    name = StringField(_l("Tên phiên"), validators=[Optional(), Length(max=120)])
    day = LocalDateField(_l("Ngày"))
    starts_at = LocalTimeField(_l("Bắt đầu"))
    ends_at = LocalTimeField(_l("Kết thúc"))
    meeting_minutes = IntegerField(
        _l("Phút mỗi cuộc gặp"),
        default=20,
        validators=[Optional(), NumberRange(min=15, max=30, message=_l("Từ 15 đến 30 phút."))],
    )
    break_starts_at = LocalTimeField(_l("Nghỉ từ"))
    break_ends_at = LocalTimeField(_l("Nghỉ đến"))
    remove = BooleanField(_l("Xoá phiên này"))

    def is_blank(self) -> bool:
        return not self.id.data and not any(
            (self.day.raw_data or [""])[0] or (f.raw_data or [""])[0]
            for f in (self.name, self.starts_at, self.ends_at, self.break_starts_at, self.break_ends_at)
        )


class SessionsForm(SiteForm):
    sessions = FieldList(FormField(SessionEntryForm), min_entries=1, max_entries=21)

    def to_data(self) -> list[SessionData]:
        out = []
        for entry in self.sessions:
            sub = entry.form
            if sub.remove.data or sub.is_blank():
                continue
            out.append(
                SessionData(
                    id=int(sub.id.data) if (sub.id.data or "").isdigit() else None,
                    name=sub.name.data or "",
                    day=sub.day.data,
                    starts_at=sub.starts_at.data,
                    ends_at=sub.ends_at.data,
                    meeting_minutes=sub.meeting_minutes.data or 20,
                    break_starts_at=sub.break_starts_at.data,
                    break_ends_at=sub.break_ends_at.data,
                )
            )
        return out


class RegistrationForm(SiteForm):
    kind = RadioField(
        _l("Tôi tham gia với tư cách"),
        choices=[SelectChoice("buyer", _l("Người mua")), SelectChoice("producer", _l("Nhà sản xuất / chủ thể OCOP"))],
        validators=[DataRequired(_l("Hãy chọn người mua hoặc nhà sản xuất."))],
    )
    producer_id = SelectField(
        _l("Cơ sở sản xuất"), coerce=int, choices=[SelectChoice(0, "—")], validators=[Optional()], validate_choice=False
    )
    organisation = StringField(_l("Tổ chức / doanh nghiệp"), validators=[Optional(), Length(max=200)])
    contact_name = StringField(
        _l("Người liên hệ"), validators=[DataRequired(_l("Hãy nhập tên người liên hệ.")), Length(max=120)]
    )
    phone = StringField(_l("Điện thoại"), validators=[Optional(), Length(max=30)], render_kw={"type": "tel"})
    email = StringField(_l("Email"), validators=[Optional(), Length(max=254)], render_kw={"type": "email"})
    offers = TextAreaField(_l("Chúng tôi chào bán"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 3})
    seeks = TextAreaField(_l("Chúng tôi tìm kiếm"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 3})
    groups = MultiCheckboxField(_l("Nhóm sản phẩm OCOP quan tâm"), choices=[], validate_choice=False)
    session_ids = MultiCheckboxField(_l("Các phiên tôi có thể tham gia"), coerce=int, choices=[], validate_choice=False)
    product_ids = MultiCheckboxField(_l("Sản phẩm mang đến diễn đàn"), coerce=int, choices=[], validate_choice=False)
    opt_in_recommended = BooleanField(_l("Cho phép ban tổ chức xếp các cuộc gặp được gợi ý"), default=True)

    def setup(self, forum, producers, products) -> None:
        self.groups.choices = _group_choices()
        self.session_ids.choices = [SelectChoice(s.id, session_label(s)) for s in forum.sessions]
        self.producer_id.choices = [SelectChoice(0, _l("— Chọn cơ sở —"))] + [
            SelectChoice(p.id, p.name) for p in producers
        ]
        self.product_ids.choices = [SelectChoice(p.id, p.name) for p in products]

    def to_data(self) -> RegistrationData:
        return RegistrationData(
            kind=self.kind.data or "",
            producer_id=self.producer_id.data or None,
            organisation=self.organisation.data or "",
            contact_name=self.contact_name.data or "",
            phone=self.phone.data or "",
            email=self.email.data or "",
            offers=self.offers.data or "",
            seeks=self.seeks.data or "",
            groups=list(self.groups.data or []),
            session_ids=list(self.session_ids.data or []),
            product_ids=list(self.product_ids.data or []),
            opt_in_recommended=bool(self.opt_in_recommended.data),
        )

    def fill(self, registration) -> None:
        self.kind.data = registration.kind
        self.producer_id.data = registration.producer_id or 0
        for name in ("organisation", "contact_name", "phone", "email", "offers", "seeks", "opt_in_recommended"):
            getattr(self, name).data = getattr(registration, name)
        self.groups.data = group_codes(registration)
        self.session_ids.data = [s.id for s in registration.sessions]
        self.product_ids.data = [p.id for p in registration.products]


def session_label(session) -> str:
    start = session.starts_at.strftime("%H:%M")
    end = session.ends_at.strftime("%H:%M")
    day = session.day.strftime("%d/%m/%Y")
    return f"{session.name} — {day} {start}–{end}" if session.name else f"{day} {start}–{end}"


class RefuseForm(SiteForm):
    reason = TextAreaField(
        _l("Lý do từ chối"),
        validators=[DataRequired(_l("Hãy nêu lý do từ chối.")), Length(max=1000)],
        render_kw={"rows": 2},
    )


class MeetingRequestForm(SiteForm):
    message = TextAreaField(
        _l("Lời nhắn (không bắt buộc)"), validators=[Optional(), Length(max=1000)], render_kw={"rows": 3}
    )


class MoveForm(SiteForm):
    slot_id = SelectField(_l("Khung giờ"), coerce=int, choices=[], validate_choice=False)
    table_no = IntegerField(
        _l("Bàn số"),
        validators=[DataRequired(_l("Hãy nhập số bàn.")), NumberRange(min=1, message=_l("Số bàn phải từ 1."))],
    )


class DirectoryFilterForm(Form):
    Meta = SiteMeta
    q = StringField(_l("Tìm"), validators=[Optional(), Length(max=100)])
    kind = SelectField(
        _l("Đối tượng"),
        choices=[
            SelectChoice("", _l("Tất cả")),
            SelectChoice("buyer", _l("Người mua")),
            SelectChoice("producer", _l("Nhà sản xuất")),
        ],
        validate_choice=False,
    )
    group = SelectField(_l("Nhóm OCOP"), choices=[SelectChoice("", "—")], validate_choice=False)
    session = SelectField(_l("Phiên"), choices=[SelectChoice("", "—")], validate_choice=False)
