"""Buyer profiles, inquiries, RFQs and quotes: validation, state machines, access rules.

Services validate, change objects and flush; views commit once. Status changes that can race
(accepting, declining, withdrawing a quote; closing, cancelling, awarding an RFQ; taking one of an
RFQ's limited quote places) are conditional UPDATEs whose row count decides who wins, so the
database enforces them; a partial unique index also allows one accepted quote per RFQ.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from marketplace.accounts.models import User
from marketplace.catalog.models import Certificate, Product
from marketplace.catalog.services import public_clause
from marketplace.catalog.stars import effective_stars_expr
from marketplace.core.dates import today
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.core.money import format_vnd, parse_vnd
from marketplace.core.vn_text import clean_line, nfc
from marketplace.data import OCOP_GROUPS, find_district
from marketplace.extensions import db
from marketplace.inquiries import messaging
from marketplace.inquiries.common import is_authenticated, is_producer_party, producer_users, setting, site_path
from marketplace.inquiries.leads import eligible_producer_ids, fitting_producers
from marketplace.inquiries.models import (
    BUYER_KINDS,
    RFQ_VISIBILITIES,
    BuyerProfile,
    Inquiry,
    Message,
    Quote,
    Report,
    Rfq,
    RfqInvitation,
    Thread,
)
from marketplace.inquiries.notifications import notify
from marketplace.inquiries.responsiveness import Responsiveness, measure
from marketplace.producers.models import Producer

MAX_QUANTITY = 10**9
MAX_UNIT_PRICE = 10**10  # 10 billion VND per unit: a bonsai or a tour package, not more
MAX_LEAD_DAYS = 365
MAX_INVITATIONS = 30
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


def _refuse(obj, to: str) -> ServiceError:
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
        raise _refuse(obj, to)
    obj.status = to


def _guarded_update(obj, to: str, allowed_from: Iterable[str], **values) -> bool:
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


def accepts_quotes(rfq: Rfq) -> bool:
    return rfq_state(rfq) == "open" and not rfq.hidden and rfq.quote_count < rfq.max_quotes


# --------------------------------------------------------------------------- parsing helpers


def _to_int(value, field_name: str, message: str) -> int | None:
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


def _quantity(value, field_name: str = "quantity", required: bool = True) -> int | None:
    number = _to_int(value, field_name, _("Số lượng phải là một số nguyên, ví dụ 500."))
    if number is None:
        if required:
            raise ServiceError(field_name, _("Vui lòng nhập số lượng."))
        return None
    if number <= 0:
        raise ServiceError(field_name, _("Số lượng phải lớn hơn 0."))
    if number > MAX_QUANTITY:
        raise ServiceError(field_name, _("Số lượng quá lớn."))
    return number


def _price(value, field_name: str, required: bool = False) -> int | None:
    number = _to_int(value, field_name, _("Giá phải là số tiền VND, ví dụ 150.000."))
    if number is None:
        if required:
            raise ServiceError(field_name, _("Vui lòng nhập đơn giá."))
        return None
    if number <= 0:
        raise ServiceError(field_name, _("Giá phải lớn hơn 0 ₫."))
    if number > MAX_UNIT_PRICE:
        raise ServiceError(field_name, _("Giá không được vượt quá %(max)s.", max=format_vnd(MAX_UNIT_PRICE)))
    return number


def _future_date(value: date | None, field_name: str, max_days: int, required: bool) -> date | None:
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


def _district(value: str | None, field_name: str = "delivery_district") -> str:
    text = clean_line(value)
    if not text:
        return ""
    found = find_district(text)
    if found is None:
        raise ServiceError(field_name, _("Quận/huyện không có trong danh sách của Hà Nội."))
    return found.name


def _unit(value: str | None) -> str:
    unit = clean_line(value)
    if not unit:
        raise ServiceError("unit", _("Vui lòng nhập đơn vị tính, ví dụ kg, hộp, chai."))
    if len(unit) > 30:
        raise ServiceError("unit", _("Đơn vị tính tối đa 30 ký tự."))
    return unit


def _text(value: str | None, field_name: str, max_length: int) -> str:
    text = nfc(value).replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > max_length:
        raise ServiceError(field_name, _("Tối đa %(n)s ký tự.", n=max_length))
    return text


def _require_buyer(user) -> None:
    if not is_authenticated(user) or not user.has_role("buyer") or user.suspended:
        raise NotAllowed()


def _check_daily_limit(user: User, model, key: str, what: str) -> None:
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
    _require_buyer(user)
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
    district = _district(data.district, "district")
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
    _require_buyer(buyer)
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
    quantity = _quantity(data.quantity)
    unit = _unit(data.unit)
    target = _price(data.target_price_vnd, "target_price_vnd")
    needed_by = _future_date(data.needed_by, "needed_by", 730, required=False)
    district = _district(data.delivery_district)
    message = _text(data.message, "message", messaging.MAX_BODY).strip()
    if len(message) < 5:
        raise ServiceError("message", _("Vui lòng viết vài dòng cho nhà sản xuất (ít nhất 5 ký tự)."))
    _check_daily_limit(buyer, Inquiry, "INQUIRY_DAILY_LIMIT", _("yêu cầu hỏi hàng"))
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


# --------------------------------------------------------------------------- RFQs


@dataclass
class RfqData:
    title: str = ""
    details: str = ""
    ocop_group: str | None = None
    quantity: int | str | None = None
    unit: str = ""
    min_stars: int | str | None = 0
    target_price_vnd: int | str | None = None
    deadline: date | None = None
    delivery_district: str = ""
    visibility: str = "public"
    invite_producer_ids: Sequence[int] = field(default_factory=list)


def create_rfq(buyer: User, data: RfqData) -> Rfq:
    """Post a request for quotation; invited producers and (when public) fitting ones are told."""
    _require_buyer(buyer)
    title = clean_line(data.title)
    if len(title) < 5:
        raise ServiceError("title", _("Vui lòng mô tả ngắn gọn hàng cần mua (ít nhất 5 ký tự)."))
    if len(title) > 200:
        raise ServiceError("title", _("Tiêu đề tối đa 200 ký tự."))
    details = _text(data.details, "details", 5000)
    group = data.ocop_group or None
    if group is not None and group not in OCOP_GROUPS:
        raise ServiceError("ocop_group", _("Nhóm sản phẩm OCOP không hợp lệ."))
    quantity = _quantity(data.quantity)
    unit = _unit(data.unit)
    stars = _to_int(data.min_stars, "min_stars", _("Hạng sao tối thiểu từ 0 đến 5.")) or 0
    if not 0 <= stars <= 5:
        raise ServiceError("min_stars", _("Hạng sao tối thiểu từ 0 đến 5."))
    target = _price(data.target_price_vnd, "target_price_vnd")
    deadline = _future_date(data.deadline, "deadline", int(setting("RFQ_MAX_DAYS")), required=True)
    district = _district(data.delivery_district)
    if data.visibility not in RFQ_VISIBILITIES:
        raise ServiceError("visibility", _("Vui lòng chọn ai được xem yêu cầu."))
    invited = _invitable(buyer, data.invite_producer_ids)
    if data.visibility == "invited" and not invited:
        raise ServiceError(
            "visibility", _("Yêu cầu chỉ dành cho nhà sản xuất được mời cần ít nhất một nhà sản xuất được mời.")
        )
    _check_daily_limit(buyer, Rfq, "RFQ_DAILY_LIMIT", _("yêu cầu báo giá"))
    rfq = Rfq(
        buyer_id=buyer.id,
        title=title,
        details=details,
        ocop_group=group,
        quantity=quantity,
        unit=unit,
        min_stars=stars,
        target_price_vnd=target,
        deadline=deadline,
        delivery_district=district,
        visibility=data.visibility,
        status="open",
        max_quotes=int(setting("RFQ_MAX_QUOTES")),
    )
    db.session.add(rfq)
    db.session.flush()
    for producer in invited:
        _invite(rfq, producer)
    if rfq.visibility == "public":
        invited_ids = {p.id for p in invited}
        fits = [f for f in fitting_producers(rfq, limit=int(setting("LEAD_NOTIFY_LIMIT")) + len(invited_ids))]
        fit_ids = [f.producer_id for f in fits if f.producer_id not in invited_ids][: int(setting("LEAD_NOTIFY_LIMIT"))]
        link = site_path("inquiries.rfq", rfq_id=rfq.id)
        for producer in db.session.scalars(sa.select(Producer).where(Producer.id.in_(fit_ids))):
            users = [u for u in producer_users(producer) if u.id != buyer.id]
            notify(
                users,
                "rfq_lead",
                link,
                lambda p=producer: _("Cơ hội mới cho %(producer)s: %(title)s", producer=p.name, title=title),
            )
    return rfq


def _invitable(buyer: User, producer_ids: Sequence[int]) -> list[Producer]:
    ids = []
    for raw in producer_ids or []:
        try:
            value = int(raw)
        except (TypeError, ValueError):
            continue
        if value not in ids:
            ids.append(value)
    if len(ids) > MAX_INVITATIONS:
        raise ServiceError("invite", _("Mời tối đa %(n)s nhà sản xuất.", n=MAX_INVITATIONS))
    producers = list(db.session.scalars(sa.select(Producer).where(Producer.id.in_(ids)))) if ids else []
    if len(producers) != len(ids):
        raise ServiceError("invite", _("Không tìm thấy nhà sản xuất được mời."))
    for producer in producers:
        if is_producer_party(buyer, producer):
            raise ServiceError("invite", _("Bạn không thể mời chính cơ sở của mình."))
        if not producer_users(producer):
            raise ServiceError(
                "invite", _("%(name)s chưa có người quản lý gian hàng nên chưa nhận được lời mời.", name=producer.name)
            )
    return producers


def _invite(rfq: Rfq, producer: Producer) -> RfqInvitation:
    invitation = RfqInvitation(rfq=rfq, producer=producer)
    db.session.add(invitation)
    db.session.flush()
    buyer = buyer_name(rfq.buyer)
    title = rfq.title
    notify(
        [u for u in producer_users(producer) if u.id != rfq.buyer_id],
        "rfq_invited",
        site_path("inquiries.rfq", rfq_id=rfq.id),
        lambda: _("%(buyer)s mời %(producer)s báo giá: %(title)s", buyer=buyer, producer=producer.name, title=title),
    )
    return invitation


def invite_producer(buyer: User, rfq: Rfq, producer: Producer) -> RfqInvitation:
    if rfq.buyer_id != buyer.id:
        raise NotAllowed()
    if not accepts_quotes(rfq):
        raise ServiceError(None, _("Yêu cầu báo giá đã đóng nên không thể mời thêm."))
    existing = db.session.scalar(
        sa.select(RfqInvitation).where(RfqInvitation.rfq_id == rfq.id, RfqInvitation.producer_id == producer.id)
    )
    if existing is not None:
        raise ServiceError(None, _("%(name)s đã được mời.", name=producer.name))
    if len(rfq.invitations) >= MAX_INVITATIONS:
        raise ServiceError(None, _("Mời tối đa %(n)s nhà sản xuất.", n=MAX_INVITATIONS))
    (checked,) = _invitable(buyer, [producer.id])
    return _invite(rfq, checked)


def can_view_rfq(user, rfq: Rfq) -> bool:
    """The buyer; organisers; producer users who quoted, were invited, or fit a public RFQ."""
    if not is_authenticated(user):
        return False
    if rfq.buyer_id == user.id or user.is_staff:
        return True
    mine = messaging.managed_producer_ids(user)
    if not mine:
        return False
    if any(q.producer_id in mine for q in rfq.quotes):
        return True
    if any(inv.producer_id in mine for inv in rfq.invitations):
        return True
    return rfq.visibility == "public" and not rfq.hidden and bool(eligible_producer_ids(rfq, mine))


def quotable_producers(user, rfq: Rfq) -> list[Producer]:
    """The user's producers that may still quote on `rfq`."""
    if not is_authenticated(user) or rfq.buyer_id == user.id or not accepts_quotes(rfq):
        return []
    mine = messaging.managed_producer_ids(user)
    quoted = {q.producer_id for q in rfq.quotes}
    declined = {inv.producer_id for inv in rfq.invitations if inv.declined}
    ids = eligible_producer_ids(rfq, [pid for pid in mine if pid not in quoted and pid not in declined])
    return (
        list(db.session.scalars(sa.select(Producer).where(Producer.id.in_(ids)).order_by(Producer.name))) if ids else []
    )


def cancel_rfq(user: User, rfq: Rfq) -> Rfq:
    if rfq.buyer_id != user.id:
        raise NotAllowed()
    if not can_transition(rfq, "cancelled"):
        raise _refuse(rfq, "cancelled")
    if not _guarded_update(rfq, "cancelled", ("open", "closed"), closed_at=utcnow()):
        raise ServiceError(None, _("Yêu cầu báo giá vừa được chốt hoặc đã hủy."))
    for quote in list(rfq.quotes):
        if quote.status == "submitted":
            _decline(quote, _("Người mua đã hủy yêu cầu báo giá."), cancelled=True)
    return rfq


def close_expired_rfqs() -> int:
    """Close open RFQs past their deadline and tell their buyers. Returns how many closed."""
    closed = 0
    expired = list(db.session.scalars(sa.select(Rfq).where(Rfq.status == "open", Rfq.deadline < today())))
    for rfq in expired:
        if not _guarded_update(rfq, "closed", ("open",), closed_at=utcnow()):
            continue
        closed += 1
        count = sum(1 for q in rfq.quotes if q.status == "submitted")
        title = rfq.title
        notify(
            [rfq.buyer],
            "rfq_closed",
            site_path("inquiries.rfq", rfq_id=rfq.id),
            lambda t=title, n=count: _(
                "“%(title)s” đã hết hạn nhận báo giá với %(n)s báo giá. Hãy so sánh và chọn.", title=t, n=n
            ),
        )
    db.session.flush()
    return closed


# --------------------------------------------------------------------------- quotes


@dataclass
class QuoteData:
    unit_price_vnd: int | str | None = None
    moq: int | str | None = None
    lead_time_days: int | str | None = None
    valid_until: date | None = None
    note: str = ""
    sample_offer: bool = False


def submit_quote(user: User, rfq: Rfq, producer: Producer, data: QuoteData) -> Quote:
    """A producer answers an RFQ. Refused when the RFQ is closed or full, or the producer is not eligible."""
    if not is_producer_party(user, producer) or user.suspended:
        raise NotAllowed()
    if rfq.buyer_id == user.id:
        raise ServiceError(None, _("Bạn không thể báo giá cho yêu cầu của chính mình."))
    if rfq.hidden or rfq_state(rfq) != "open":
        raise ServiceError(None, _("Yêu cầu báo giá đã đóng, không nhận thêm báo giá."), code="closed")
    if producer.id not in eligible_producer_ids(rfq, [producer.id]):
        raise ServiceError(
            "producer_id",
            _(
                "%(name)s không đủ điều kiện báo giá cho yêu cầu này (nhóm sản phẩm, hạng sao OCOP hoặc chưa được mời).",
                name=producer.name,
            ),
            code="ineligible",
        )
    already = db.session.scalar(sa.select(Quote.id).where(Quote.rfq_id == rfq.id, Quote.producer_id == producer.id))
    if already is not None:
        raise ServiceError("producer_id", _("%(name)s đã gửi báo giá cho yêu cầu này.", name=producer.name))
    price = _price(data.unit_price_vnd, "unit_price_vnd", required=True)
    moq = _quantity(data.moq, "moq", required=False)
    lead = _to_int(data.lead_time_days, "lead_time_days", _("Thời gian giao hàng là số ngày, ví dụ 7."))
    if lead is None:
        raise ServiceError("lead_time_days", _("Vui lòng nhập thời gian giao hàng (số ngày)."))
    if not 0 <= lead <= MAX_LEAD_DAYS:
        raise ServiceError("lead_time_days", _("Thời gian giao hàng từ 0 đến %(n)s ngày.", n=MAX_LEAD_DAYS))
    valid_until = _future_date(data.valid_until, "valid_until", int(setting("QUOTE_MAX_VALID_DAYS")), required=True)
    note = _text(data.note, "note", 2000).strip()
    # Take one of the RFQ's places: the row count decides when two producers race for the last one.
    taken = db.session.execute(
        sa.update(Rfq)
        .where(Rfq.id == rfq.id, Rfq.status == "open", Rfq.deadline >= today(), Rfq.quote_count < Rfq.max_quotes)
        .values(quote_count=Rfq.quote_count + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(rfq, ["quote_count", "status"])
    if taken.rowcount != 1:
        raise ServiceError(None, _("Yêu cầu đã nhận đủ %(n)s báo giá hoặc vừa đóng.", n=rfq.max_quotes), code="full")
    now = utcnow()
    quote = Quote(
        rfq=rfq,
        producer=producer,
        author_id=user.id,
        unit_price_vnd=price,
        moq=moq,
        lead_time_days=lead,
        valid_until=valid_until,
        note=note,
        sample_offer=bool(data.sample_offer),
        status="submitted",
        created_at=now,
    )
    db.session.add(quote)
    db.session.flush()
    for invitation in rfq.invitations:
        if invitation.producer_id == producer.id and invitation.responded_at is None:
            invitation.responded_at = now
    messaging.open_thread(buyer_id=rfq.buyer_id, producer=producer, quote=quote)
    title = rfq.title
    notify(
        [rfq.buyer],
        "quote_received",
        site_path("inquiries.rfq", rfq_id=rfq.id),
        lambda: _(
            "%(producer)s gửi báo giá %(price)s cho “%(title)s”",
            producer=producer.name,
            price=format_vnd(price),
            title=title,
        ),
    )
    return quote


def can_view_quote(user, quote: Quote) -> bool:
    if not is_authenticated(user):
        return False
    if quote.rfq.buyer_id == user.id or is_producer_party(user, quote.producer):
        return True
    return quote.thread is not None and messaging.can_read(user, quote.thread)


def accept_quote(user: User, quote: Quote) -> Quote:
    """The buyer accepts one quote: the RFQ is awarded and every other open quote declined.

    Two accepts at once (two tabs, two quotes): the conditional UPDATE on the RFQ lets exactly one
    through; the partial unique index on accepted quotes is the last line of defence."""
    rfq = quote.rfq
    if rfq.buyer_id != user.id:
        raise NotAllowed()
    if not can_transition(quote, "accepted"):
        raise _refuse(quote, "accepted")
    if not can_transition(rfq, "awarded"):
        raise _refuse(rfq, "awarded")
    if rfq.hidden:
        raise ServiceError(None, _("Yêu cầu báo giá đã bị ban tổ chức ẩn."))
    if quote.valid_until < today():
        raise ServiceError(None, _("Báo giá này đã hết hiệu lực. Hãy nhắn nhà sản xuất để xin báo giá mới."))
    now = utcnow()
    if not _guarded_update(rfq, "awarded", ("open", "closed"), closed_at=now):
        raise ServiceError(
            None, _("Yêu cầu báo giá này đã được chốt với một báo giá khác hoặc đã hủy."), code="conflict"
        )
    if not _guarded_update(quote, "accepted", ("submitted",), decided_at=now):
        raise ServiceError(None, _("Báo giá này vừa được rút hoặc thay đổi. Vui lòng tải lại trang."), code="conflict")
    producer = quote.producer
    title = rfq.title
    notify(
        producer_users(producer),
        "quote_accepted",
        site_path("inquiries.quote", quote_id=quote.id),
        lambda: _("Báo giá của %(producer)s cho “%(title)s” đã được chấp nhận.", producer=producer.name, title=title),
    )
    for other in list(rfq.quotes):
        if other.id != quote.id and other.status == "submitted":
            _decline(other, _("Người mua đã chọn một báo giá khác."), lost=True)
    return quote


def _decline(quote: Quote, note: str, lost: bool = False, cancelled: bool = False) -> bool:
    if not _guarded_update(quote, "declined", ("submitted",), decided_at=utcnow(), decision_note=note[:2000]):
        return False
    producer = quote.producer
    title = quote.rfq.title
    reason = note

    def text() -> str:
        if lost:
            return _(
                "“%(title)s”: người mua đã chọn nhà cung cấp khác. Cảm ơn %(producer)s đã báo giá.",
                title=title,
                producer=producer.name,
            )
        if cancelled:
            return _("“%(title)s”: người mua đã hủy yêu cầu báo giá.", title=title)
        if reason:
            return _(
                "Báo giá của %(producer)s cho “%(title)s” bị từ chối: %(reason)s",
                producer=producer.name,
                title=title,
                reason=reason,
            )
        return _("Báo giá của %(producer)s cho “%(title)s” bị từ chối.", producer=producer.name, title=title)

    notify(producer_users(producer), "quote_declined", site_path("inquiries.quote", quote_id=quote.id), text)
    return True


def decline_quote(user: User, quote: Quote, note: str = "") -> Quote:
    if quote.rfq.buyer_id != user.id:
        raise NotAllowed()
    if not can_transition(quote, "declined"):
        raise _refuse(quote, "declined")
    reason = clean_line(note)[:500]
    if not _decline(quote, reason):
        raise ServiceError(None, _("Báo giá này vừa thay đổi trạng thái. Vui lòng tải lại trang."), code="conflict")
    return quote


def withdraw_quote(user: User, quote: Quote) -> Quote:
    if not is_producer_party(user, quote.producer):
        raise NotAllowed()
    if not can_transition(quote, "withdrawn"):
        raise _refuse(quote, "withdrawn")
    if not _guarded_update(quote, "withdrawn", ("submitted",), decided_at=utcnow()):
        raise ServiceError(None, _("Báo giá này vừa thay đổi trạng thái. Vui lòng tải lại trang."), code="conflict")
    db.session.execute(
        sa.update(Rfq)
        .where(Rfq.id == quote.rfq_id, Rfq.quote_count > 0)
        .values(quote_count=Rfq.quote_count - 1)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(quote.rfq, ["quote_count"])
    producer = quote.producer
    title = quote.rfq.title
    notify(
        [quote.rfq.buyer],
        "quote_withdrawn",
        site_path("inquiries.rfq", rfq_id=quote.rfq_id),
        lambda: _("%(producer)s đã rút báo giá cho “%(title)s”.", producer=producer.name, title=title),
    )
    return quote


def decline_invitation(user: User, rfq: Rfq, producer: Producer) -> RfqInvitation:
    """An invited producer says no: it counts as an answer for its responsiveness."""
    if not is_producer_party(user, producer):
        raise NotAllowed()
    invitation = next((inv for inv in rfq.invitations if inv.producer_id == producer.id), None)
    if invitation is None:
        raise NotAllowed()
    if invitation.declined or any(q.producer_id == producer.id for q in rfq.quotes):
        raise ServiceError(None, _("%(name)s đã trả lời lời mời này.", name=producer.name))
    invitation.declined = True
    invitation.responded_at = invitation.responded_at or utcnow()
    db.session.flush()
    return invitation


# --------------------------------------------------------------------------- comparison


def _haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lng1, lat2, lng2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _place_of(producer: Producer) -> tuple[float, float] | None:
    if producer.lat is not None and producer.lng is not None:
        return producer.lat, producer.lng
    found = find_district(producer.district)
    return (found.lat, found.lng) if found else None


def distance_km(producer: Producer, district: str) -> float | None:
    target = find_district(district) if district else None
    origin = _place_of(producer)
    if target is None or origin is None:
        return None
    return round(_haversine_km(origin, (target.lat, target.lng)), 1)


def producer_stars(producer_id: int, group: str | None = None) -> int:
    """The best counted stars among the producer's public products (in `group` when given)."""
    stmt = (
        sa.select(sa.func.max(effective_stars_expr()))
        .select_from(Product)
        .outerjoin(Certificate, Certificate.product_id == Product.id)
        .where(Product.producer_id == producer_id, public_clause())
    )
    if group:
        stmt = stmt.where(Product.ocop_group == group)
    return int(db.session.scalar(stmt) or 0)


@dataclass
class QuoteRow:
    quote: Quote
    total_vnd: int
    stars: int
    distance_km: float | None
    response: Responsiveness | None
    moq_too_high: bool
    expired: bool
    best_price: bool = False
    fastest: bool = False


def compare_quotes(rfq: Rfq) -> list[QuoteRow]:
    """Quotes side by side, cheapest first (withdrawn ones last)."""
    day = today()
    rows = []
    for quote in rfq.quotes:
        rows.append(
            QuoteRow(
                quote=quote,
                total_vnd=quote.unit_price_vnd * rfq.quantity,
                stars=producer_stars(quote.producer_id, rfq.ocop_group),
                distance_km=distance_km(quote.producer, rfq.delivery_district),
                response=measure(quote.producer_id),
                moq_too_high=quote.moq is not None and quote.moq > rfq.quantity,
                expired=quote.valid_until < day,
            )
        )
    live = [r for r in rows if r.quote.status in ("submitted", "accepted")]
    if live:
        cheapest = min(r.quote.unit_price_vnd for r in live)
        fastest = min(r.quote.lead_time_days for r in live)
        for row in live:
            row.best_price = row.quote.unit_price_vnd == cheapest
            row.fastest = row.quote.lead_time_days == fastest
    order = {"accepted": 0, "submitted": 1, "declined": 2, "withdrawn": 3}
    rows.sort(key=lambda r: (order.get(r.quote.status, 9), r.quote.unit_price_vnd, r.quote.id))
    return rows


# --------------------------------------------------------------------------- lists


def buyer_rfqs_stmt(user: User) -> sa.Select:
    return sa.select(Rfq).where(Rfq.buyer_id == user.id).order_by(Rfq.created_at.desc(), Rfq.id.desc())


def producer_quotes_stmt(user: User) -> sa.Select:
    ids = messaging.managed_producer_ids(user)
    return sa.select(Quote).where(Quote.producer_id.in_(ids or [-1])).order_by(Quote.created_at.desc(), Quote.id.desc())


def reports_on(thread: Thread) -> list[Report]:
    return list(
        db.session.scalars(
            sa.select(Report).join(Message, Message.id == Report.message_id).where(Message.thread_id == thread.id)
        )
    )
