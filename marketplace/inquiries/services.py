"""Buyer profiles and inquiries, plus the rules the RFQ and quote services share.

This module holds the status machine (`TRANSITIONS`, `transition`, `guarded_update`), the value
validators (`parse_quantity`, `parse_price`, …), the buyer checks (`require_buyer`,
`check_daily_limit`, `RateLimited`), buyer profiles and direct inquiries; requests for quotation and
quotes live in `marketplace.inquiries.rfqs`, which builds on these. Services validate, change objects
and flush; views commit once. Status changes that can race are conditional UPDATEs
(`guarded_update`) whose row count decides who wins, so the database enforces them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from marketplace.accounts.models import User
from marketplace.catalog.models import Product
from marketplace.core.dates import today
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.core.money import format_vnd, parse_vnd
from marketplace.core.vn_text import clean_line, nfc
from marketplace.data import find_district
from marketplace.extensions import db
from marketplace.inquiries import messaging
from marketplace.inquiries.common import is_authenticated, is_producer_party, producer_users, setting, site_path
from marketplace.inquiries.models import (
    BUYER_KINDS,
    BuyerProfile,
    Inquiry,
    Message,
    Quote,
    Report,
    Rfq,
    Thread,
)
from marketplace.inquiries.notifications import notify
from marketplace.producers.models import Producer

MAX_QUANTITY = 10**9
MAX_UNIT_PRICE = 10**10  # 10 billion VND per unit: a bonsai or a tour package, not more
_PHONE = re.compile(r"^[0-9+().\s-]{6,30}$")


class RateLimited(ServiceError):
    """Too many new inquiries or RFQs today: the view answers 429."""

    def __init__(self, message: str):
        super().__init__(None, message, code="rate_limited")


# --------------------------------------------------------------------------- state machines

TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    "inquiry": {
        "open": frozenset({"answered", "closed"}),
        "answered": frozenset({"closed"}),
        "closed": frozenset(),
    },
    "rfq": {
        "open": frozenset({"closed", "awarded", "cancelled"}),
        "closed": frozenset({"awarded", "cancelled"}),
        "awarded": frozenset(),
        "cancelled": frozenset(),
    },
    "quote": {
        "submitted": frozenset({"accepted", "declined", "withdrawn"}),
        "accepted": frozenset(),
        "declined": frozenset(),
        "withdrawn": frozenset(),
    },
}


def status_label(kind: str, status: str) -> str:
    labels = {
        ("inquiry", "open"): _("Chờ phản hồi"),
        ("inquiry", "answered"): _("Đã phản hồi"),
        ("inquiry", "closed"): _("Đã đóng"),
        ("rfq", "open"): _("Đang nhận báo giá"),
        ("rfq", "closed"): _("Hết hạn nhận báo giá"),
        ("rfq", "awarded"): _("Đã chọn nhà cung cấp"),
        ("rfq", "cancelled"): _("Đã hủy"),
        ("quote", "submitted"): _("Chờ người mua quyết định"),
        ("quote", "accepted"): _("Được chấp nhận"),
        ("quote", "declined"): _("Bị từ chối"),
        ("quote", "withdrawn"): _("Đã rút"),
    }
    return labels.get((kind, status), status)


def _kind(obj) -> str:
    return {Inquiry: "inquiry", Rfq: "rfq", Quote: "quote"}[type(obj)]


def can_transition(obj, to: str) -> bool:
    current = rfq_state(obj) if isinstance(obj, Rfq) else obj.status
    return to in TRANSITIONS[_kind(obj)].get(current, frozenset())


def illegal_transition(obj, to: str) -> ServiceError:
    """The error to raise when `obj` may not move to status `to`."""
    kind = _kind(obj)
    current = rfq_state(obj) if isinstance(obj, Rfq) else obj.status
    return ServiceError(
        None,
        _(
            "Không thể chuyển từ trạng thái “%(current)s” sang “%(target)s”.",
            current=status_label(kind, current),
            target=status_label(kind, to),
        ),
        code="illegal_transition",
    )


def transition(obj, to: str) -> None:
    """Change an object's status in memory, refusing transitions the table does not allow."""
    if not can_transition(obj, to):
        raise illegal_transition(obj, to)
    obj.status = to


def guarded_update(obj, to: str, allowed_from: Iterable[str], **values) -> bool:
    """UPDATE … SET status=to WHERE id=… AND status IN allowed_from; True if this call won."""
    model = type(obj)
    db.session.flush()
    result = db.session.execute(
        sa.update(model)
        .where(model.id == obj.id, model.status.in_(list(allowed_from)))
        .values(status=to, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(obj)
    return result.rowcount == 1


def rfq_state(rfq: Rfq) -> str:
    """The status users see: an open RFQ past its deadline is closed even before the job runs."""
    if rfq.status == "open" and rfq.deadline < today():
        return "closed"
    return rfq.status


# --------------------------------------------------------------------------- parsing helpers


def parse_int(value, field_name: str, message: str) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text:
        return None
    negative = text.startswith("-")
    try:
        number = parse_vnd(text.lstrip("-").strip())
    except ValueError:
        raise ServiceError(field_name, message) from None
    if number is None:
        return None
    return -number if negative else number


def parse_quantity(value, field_name: str = "quantity", required: bool = True) -> int | None:
    number = parse_int(value, field_name, _("Số lượng phải là một số nguyên, ví dụ 500."))
    if number is None:
        if required:
            raise ServiceError(field_name, _("Vui lòng nhập số lượng."))
        return None
    if number <= 0:
        raise ServiceError(field_name, _("Số lượng phải lớn hơn 0."))
    if number > MAX_QUANTITY:
        raise ServiceError(field_name, _("Số lượng quá lớn."))
    return number


def parse_price(value, field_name: str, required: bool = False) -> int | None:
    number = parse_int(value, field_name, _("Giá phải là số tiền VND, ví dụ 150.000."))
    if number is None:
        if required:
            raise ServiceError(field_name, _("Vui lòng nhập đơn giá."))
        return None
    if number <= 0:
        raise ServiceError(field_name, _("Giá phải lớn hơn 0 ₫."))
    if number > MAX_UNIT_PRICE:
        raise ServiceError(field_name, _("Giá không được vượt quá %(max)s.", max=format_vnd(MAX_UNIT_PRICE)))
    return number


def parse_future_date(value: date | None, field_name: str, max_days: int, required: bool) -> date | None:
    if value is None:
        if required:
            raise ServiceError(field_name, _("Vui lòng chọn ngày."))
        return None
    day = today()
    if value < day:
        raise ServiceError(field_name, _("Ngày không được ở quá khứ."))
    if value > day + timedelta(days=max_days):
        raise ServiceError(field_name, _("Ngày quá xa: tối đa %(n)s ngày kể từ hôm nay.", n=max_days))
    return value


def parse_district(value: str | None, field_name: str = "delivery_district") -> str:
    text = clean_line(value)
    if not text:
        return ""
    found = find_district(text)
    if found is None:
        raise ServiceError(field_name, _("Quận/huyện không có trong danh sách của Hà Nội."))
    return found.name


def parse_unit(value: str | None) -> str:
    unit = clean_line(value)
    if not unit:
        raise ServiceError("unit", _("Vui lòng nhập đơn vị tính, ví dụ kg, hộp, chai."))
    if len(unit) > 30:
        raise ServiceError("unit", _("Đơn vị tính tối đa 30 ký tự."))
    return unit


def parse_text(value: str | None, field_name: str, max_length: int) -> str:
    text = nfc(value).replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > max_length:
        raise ServiceError(field_name, _("Tối đa %(n)s ký tự.", n=max_length))
    return text


def require_buyer(user) -> None:
    if not is_authenticated(user) or not user.has_role("buyer") or user.suspended:
        raise NotAllowed()


def check_daily_limit(user: User, model, key: str, what: str) -> None:
    limit = int(setting(key))
    since = utcnow() - timedelta(days=1)
    count = (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(model).where(model.buyer_id == user.id, model.created_at >= since)
        )
        or 0
    )
    if count >= limit:
        raise RateLimited(
            _(
                "Bạn đã gửi %(n)s %(what)s trong 24 giờ qua, mức tối đa cho phép. Vui lòng thử lại sau.",
                n=limit,
                what=what,
            )
        )


# --------------------------------------------------------------------------- buyer profile


@dataclass
class ProfileData:
    organisation: str = ""
    kind: str = "individual"
    district: str = ""
    contact_name: str = ""
    phone: str = ""


def profile_of(user_id: int) -> BuyerProfile | None:
    return db.session.scalar(sa.select(BuyerProfile).where(BuyerProfile.user_id == user_id))


def save_profile(user: User, data: ProfileData) -> BuyerProfile:
    require_buyer(user)
    if data.kind not in BUYER_KINDS:
        raise ServiceError("kind", _("Vui lòng chọn loại hình người mua."))
    organisation = clean_line(data.organisation)
    if data.kind != "individual" and not organisation:
        raise ServiceError("organisation", _("Vui lòng nhập tên tổ chức, doanh nghiệp."))
    if len(organisation) > 200:
        raise ServiceError("organisation", _("Tên tổ chức tối đa 200 ký tự."))
    contact = clean_line(data.contact_name)
    if not contact:
        raise ServiceError("contact_name", _("Vui lòng nhập người liên hệ."))
    if len(contact) > 120:
        raise ServiceError("contact_name", _("Tên người liên hệ tối đa 120 ký tự."))
    phone = clean_line(data.phone)
    if phone and not _PHONE.match(phone):
        raise ServiceError("phone", _("Số điện thoại không hợp lệ."))
    district = parse_district(data.district, "district")
    profile = profile_of(user.id)
    if profile is None:
        profile = BuyerProfile(user_id=user.id)
        db.session.add(profile)
    profile.organisation = organisation
    profile.kind = data.kind
    profile.district = district
    profile.contact_name = contact
    profile.phone = phone
    db.session.flush()
    return profile


def buyer_name(user: User) -> str:
    profile = profile_of(user.id)
    if profile is not None and profile.organisation:
        return profile.organisation
    return user.organisation or user.name or user.email


# --------------------------------------------------------------------------- inquiries


@dataclass
class InquiryData:
    quantity: int | str | None = None
    unit: str = ""
    target_price_vnd: int | str | None = None
    needed_by: date | None = None
    delivery_district: str = ""
    message: str = ""


def can_inquire(user, producer: Producer) -> bool:
    """Whether the inquiry button leads somewhere (a buyer, a producer with someone to answer)."""
    return bool(producer_users(producer)) and not is_producer_party(user, producer)


def create_inquiry(buyer: User, producer: Producer, data: InquiryData, product: Product | None = None) -> Inquiry:
    """A buyer asks a producer (about one of its products); opens the conversation."""
    require_buyer(buyer)
    if product is not None and (product.producer_id != producer.id or not product.is_public):
        raise ServiceError(None, _("Sản phẩm không còn được bán công khai."))
    if is_producer_party(buyer, producer):
        raise ServiceError(None, _("Bạn không thể gửi yêu cầu cho chính cơ sở của mình."))
    if not producer_users(producer):
        raise ServiceError(
            None,
            _(
                "Cơ sở này chưa có người quản lý gian hàng nên chưa nhận được yêu cầu trực tuyến. Hãy liên hệ qua điện thoại."
            ),
        )
    quantity = parse_quantity(data.quantity)
    unit = parse_unit(data.unit)
    target = parse_price(data.target_price_vnd, "target_price_vnd")
    needed_by = parse_future_date(data.needed_by, "needed_by", 730, required=False)
    district = parse_district(data.delivery_district)
    message = parse_text(data.message, "message", messaging.MAX_BODY).strip()
    if len(message) < 5:
        raise ServiceError("message", _("Vui lòng viết vài dòng cho nhà sản xuất (ít nhất 5 ký tự)."))
    check_daily_limit(buyer, Inquiry, "INQUIRY_DAILY_LIMIT", _("yêu cầu hỏi hàng"))
    inquiry = Inquiry(
        buyer=buyer,
        producer=producer,
        product=product,
        quantity=quantity,
        unit=unit,
        target_price_vnd=target,
        needed_by=needed_by,
        delivery_district=district,
        message=message,
        status="open",
    )
    db.session.add(inquiry)
    db.session.flush()
    thread = messaging.open_thread(buyer_id=buyer.id, producer=producer, inquiry=inquiry)
    messaging.post_message(buyer, thread, message, notify_other=False)
    name = buyer_name(buyer)
    amount = f"{quantity:,}".replace(",", ".")

    def text() -> str:
        if product is not None:
            return _(
                "%(buyer)s hỏi mua %(quantity)s %(unit)s “%(product)s”",
                buyer=name,
                quantity=amount,
                unit=unit,
                product=product.name,
            )
        return _("%(buyer)s gửi yêu cầu hỏi hàng: %(quantity)s %(unit)s", buyer=name, quantity=amount, unit=unit)

    notify(producer_users(producer), "inquiry", site_path("inquiries.inquiry", inquiry_id=inquiry.id), text)
    return inquiry


def can_view_inquiry(user, inquiry: Inquiry) -> bool:
    return inquiry.thread is not None and messaging.can_read(user, inquiry.thread)


def close_inquiry(user: User, inquiry: Inquiry) -> Inquiry:
    if not messaging.is_party(user, inquiry.thread):
        raise NotAllowed()
    transition(inquiry, "closed")
    inquiry.closed_at = utcnow()
    db.session.flush()
    title = messaging.thread_subject_text(inquiry.thread)
    notify(
        messaging.other_party(user, inquiry.thread),
        "message",
        site_path("inquiries.inquiry", inquiry_id=inquiry.id),
        lambda: _("Cuộc trao đổi “%(subject)s” đã được đóng.", subject=title()),
    )
    return inquiry


# --------------------------------------------------------------------------- reports


def reports_on(thread: Thread) -> list[Report]:
    return list(
        db.session.scalars(
            sa.select(Report).join(Message, Message.id == Report.message_id).where(Message.thread_id == thread.id)
        )
    )
