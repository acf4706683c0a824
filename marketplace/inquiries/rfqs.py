"""Requests for quotation (RFQs) and the producers' quotes: posting, inviting, quoting, deciding.

They build on `marketplace.inquiries.services`, which keeps the status machine, the value
validators and the buyer checks shared with direct inquiries. Services validate, change objects and
flush; views commit once. Status changes that can race (accepting, declining, withdrawing
a quote; closing, cancelling, awarding an RFQ; taking one of an RFQ's limited quote places) are
conditional UPDATEs whose row count decides who wins, so the database enforces them; a partial unique
index also allows one accepted quote per RFQ.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from marketplace.accounts.models import User
from marketplace.catalog.models import Certificate, Product
from marketplace.catalog.services import public_clause
from marketplace.catalog.stars import effective_stars_expr
from marketplace.core.dates import today
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.core.money import format_vnd
from marketplace.core.vn_text import clean_line
from marketplace.data import OCOP_GROUPS, find_district
from marketplace.extensions import db
from marketplace.inquiries import messaging
from marketplace.inquiries.common import is_authenticated, is_producer_party, producer_users, setting, site_path
from marketplace.inquiries.leads import eligible_producer_ids, fitting_producers
from marketplace.inquiries.models import RFQ_VISIBILITIES, Quote, Rfq, RfqInvitation
from marketplace.inquiries.notifications import notify
from marketplace.inquiries.responsiveness import Responsiveness, measure
from marketplace.inquiries.services import (
    buyer_name,
    can_transition,
    check_daily_limit,
    guarded_update,
    illegal_transition,
    parse_district,
    parse_future_date,
    parse_int,
    parse_price,
    parse_quantity,
    parse_text,
    parse_unit,
    require_buyer,
    rfq_state,
)
from marketplace.producers.models import Producer

MAX_LEAD_DAYS = 365
MAX_INVITATIONS = 30


def accepts_quotes(rfq: Rfq) -> bool:
    return rfq_state(rfq) == "open" and not rfq.hidden and rfq.quote_count < rfq.max_quotes


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
    require_buyer(buyer)
    title = clean_line(data.title)
    if len(title) < 5:
        raise ServiceError("title", _("Vui lòng mô tả ngắn gọn hàng cần mua (ít nhất 5 ký tự)."))
    if len(title) > 200:
        raise ServiceError("title", _("Tiêu đề tối đa 200 ký tự."))
    details = parse_text(data.details, "details", 5000)
    group = data.ocop_group or None
    if group is not None and group not in OCOP_GROUPS:
        raise ServiceError("ocop_group", _("Nhóm sản phẩm OCOP không hợp lệ."))
    quantity = parse_quantity(data.quantity)
    unit = parse_unit(data.unit)
    stars = parse_int(data.min_stars, "min_stars", _("Hạng sao tối thiểu từ 0 đến 5.")) or 0
    if not 0 <= stars <= 5:
        raise ServiceError("min_stars", _("Hạng sao tối thiểu từ 0 đến 5."))
    target = parse_price(data.target_price_vnd, "target_price_vnd")
    deadline = parse_future_date(data.deadline, "deadline", int(setting("RFQ_MAX_DAYS")), required=True)
    district = parse_district(data.delivery_district)
    if data.visibility not in RFQ_VISIBILITIES:
        raise ServiceError("visibility", _("Vui lòng chọn ai được xem yêu cầu."))
    invited = _invitable(buyer, data.invite_producer_ids)
    if data.visibility == "invited" and not invited:
        raise ServiceError(
            "visibility", _("Yêu cầu chỉ dành cho nhà sản xuất được mời cần ít nhất một nhà sản xuất được mời.")
        )
    check_daily_limit(buyer, Rfq, "RFQ_DAILY_LIMIT", _("yêu cầu báo giá"))
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
        raise illegal_transition(rfq, "cancelled")
    if not guarded_update(rfq, "cancelled", ("open", "closed"), closed_at=utcnow()):
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
        if not guarded_update(rfq, "closed", ("open",), closed_at=utcnow()):
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
    price = parse_price(data.unit_price_vnd, "unit_price_vnd", required=True)
    moq = parse_quantity(data.moq, "moq", required=False)
    lead = parse_int(data.lead_time_days, "lead_time_days", _("Thời gian giao hàng là số ngày, ví dụ 7."))
    if lead is None:
        raise ServiceError("lead_time_days", _("Vui lòng nhập thời gian giao hàng (số ngày)."))
    if not 0 <= lead <= MAX_LEAD_DAYS:
        raise ServiceError("lead_time_days", _("Thời gian giao hàng từ 0 đến %(n)s ngày.", n=MAX_LEAD_DAYS))
    valid_until = parse_future_date(
        data.valid_until, "valid_until", int(setting("QUOTE_MAX_VALID_DAYS")), required=True
    )
    note = parse_text(data.note, "note", 2000).strip()
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
        raise illegal_transition(quote, "accepted")
    if not can_transition(rfq, "awarded"):
        raise illegal_transition(rfq, "awarded")
    if rfq.hidden:
        raise ServiceError(None, _("Yêu cầu báo giá đã bị ban tổ chức ẩn."))
    if quote.valid_until < today():
        raise ServiceError(None, _("Báo giá này đã hết hiệu lực. Hãy nhắn nhà sản xuất để xin báo giá mới."))
    now = utcnow()
    if not guarded_update(rfq, "awarded", ("open", "closed"), closed_at=now):
        raise ServiceError(
            None, _("Yêu cầu báo giá này đã được chốt với một báo giá khác hoặc đã hủy."), code="conflict"
        )
    if not guarded_update(quote, "accepted", ("submitted",), decided_at=now):
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
    if not guarded_update(quote, "declined", ("submitted",), decided_at=utcnow(), decision_note=note[:2000]):
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
        raise illegal_transition(quote, "declined")
    reason = clean_line(note)[:500]
    if not _decline(quote, reason):
        raise ServiceError(None, _("Báo giá này vừa thay đổi trạng thái. Vui lòng tải lại trang."), code="conflict")
    return quote


def withdraw_quote(user: User, quote: Quote) -> Quote:
    if not is_producer_party(user, quote.producer):
        raise NotAllowed()
    if not can_transition(quote, "withdrawn"):
        raise illegal_transition(quote, "withdrawn")
    if not guarded_update(quote, "withdrawn", ("submitted",), decided_at=utcnow()):
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
