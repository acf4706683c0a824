"""Registration of buyers and producers to a forum, approval by organisers, the directory."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from marketplace.accounts.models import User
from marketplace.catalog.models import Product
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.core.pagination import Page, paginate
from marketplace.core.validation import limit_length
from marketplace.core.vn_text import clean_line, fold, nfc
from marketplace.data import OCOP_GROUPS
from marketplace.extensions import db
from marketplace.forums.models import Forum, ForumSlot, Meeting, MeetingSeat, Registration, registration_sessions
from marketplace.forums.setup import ensure_organiser, registration_open
from marketplace.inquiries.notifications import notify
from marketplace.payments.services import create_forum_fee_order, fee_paid
from marketplace.producers.models import Producer

PHONE_CHARS = set("0123456789+().- ")


@dataclass
class RegistrationData:
    kind: str
    contact_name: str
    phone: str = ""
    email: str = ""
    organisation: str = ""
    producer_id: int | None = None
    offers: str = ""
    seeks: str = ""
    groups: Sequence[str] = ()
    session_ids: Sequence[int] = ()
    product_ids: Sequence[int] = ()
    opt_in_recommended: bool = True


def group_codes(registration: Registration) -> list[str]:
    return [g for g in registration.groups.split(",") if g]


def fee_settled(registration: Registration) -> bool:
    """Free forums need nothing; otherwise the registration's fee order must be paid."""
    return not registration.forum.fee_vnd or fee_paid(registration.id)


def is_active(registration: Registration) -> bool:
    """An approved registration whose fee (if any) is paid: it may meet and be scheduled."""
    return registration.status == "approved" and fee_settled(registration)


def own_registration(forum: Forum, user: User | None) -> Registration | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        sa.select(Registration).where(Registration.forum_id == forum.id, Registration.user_id == user.id)
    )


def capacity_of(forum: Forum, kind: str) -> int:
    return forum.capacity_buyers if kind == "buyer" else forum.capacity_producers


def count_registrations(forum: Forum, kind: str, statuses: Sequence[str]) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Registration)
            .where(Registration.forum_id == forum.id, Registration.kind == kind, Registration.status.in_(statuses))
        )
        or 0
    )


def _managed_producer(user: User, producer_id: int | None) -> Producer:
    producer = db.session.get(Producer, producer_id) if producer_id else None
    if producer is None or not producer.is_managed_by(user):
        raise ServiceError("producer_id", _("Hãy chọn một cơ sở sản xuất bạn quản lý."))
    return producer


def _clean(forum: Forum, user: User, data: RegistrationData) -> dict:
    if data.kind not in ("buyer", "producer"):
        raise ServiceError("kind", _("Hãy chọn bạn tham gia với tư cách người mua hay nhà sản xuất."))
    if data.kind == "buyer" and not user.has_role("buyer"):
        raise ServiceError("kind", _("Chỉ tài khoản người mua mới đăng ký được với tư cách người mua."))
    producer = None
    products: list[Product] = []
    if data.kind == "producer":
        producer = _managed_producer(user, data.producer_id)
        wanted = list(dict.fromkeys(int(i) for i in data.product_ids))
        if wanted:
            products = list(
                db.session.scalars(
                    sa.select(Product).where(
                        Product.id.in_(wanted), Product.producer_id == producer.id, Product.status == "published"
                    )
                )
            )
            if len(products) != len(wanted):
                raise ServiceError("product_ids", _("Chỉ chọn được sản phẩm đã đăng của cơ sở này."))
    contact = clean_line(data.contact_name)
    if not contact:
        raise ServiceError("contact_name", _("Hãy nhập tên người liên hệ."))
    limit_length(contact, "contact_name", 120)
    phone = clean_line(data.phone)
    email = clean_line(data.email).lower()
    if not phone and not email:
        raise ServiceError("phone", _("Hãy để lại số điện thoại hoặc email liên hệ."))
    if phone and (not set(phone) <= PHONE_CHARS or sum(c.isdigit() for c in phone) < 8):
        raise ServiceError("phone", _("Số điện thoại không hợp lệ."))
    limit_length(phone, "phone", 30)
    if email and ("@" not in email or " " in email or "." not in email.split("@")[-1]):
        raise ServiceError("email", _("Email không hợp lệ."))
    limit_length(email, "email", 254)
    organisation = limit_length(clean_line(data.organisation), "organisation", 200)
    if producer is not None and not organisation:
        organisation = producer.name[:200]
    offers = limit_length(nfc(data.offers or "").strip(), "offers", 2000)
    seeks = limit_length(nfc(data.seeks or "").strip(), "seeks", 2000)
    if not offers and not seeks:
        raise ServiceError("seeks", _("Hãy cho biết bạn chào bán hoặc tìm kiếm gì."))
    groups = list(dict.fromkeys(data.groups))
    if any(g not in OCOP_GROUPS for g in groups):
        raise ServiceError("groups", _("Nhóm sản phẩm OCOP không hợp lệ."))
    session_ids = set(int(i) for i in data.session_ids)
    sessions = [s for s in forum.sessions if s.id in session_ids]
    if not sessions or len(sessions) != len(session_ids):
        raise ServiceError("session_ids", _("Hãy chọn ít nhất một phiên bạn có thể tham gia."))
    return {
        "kind": data.kind,
        "producer_id": producer.id if producer is not None else None,
        "organisation": organisation,
        "contact_name": contact,
        "phone": phone,
        "email": email,
        "offers": offers,
        "seeks": seeks,
        "groups": ",".join(groups),
        "opt_in_recommended": bool(data.opt_in_recommended),
        "sessions": sessions,
        "products": products,
    }


def register(forum: Forum, user: User, data: RegistrationData) -> Registration:
    """A pending registration of `user`; organisers approve it."""
    if not registration_open(forum):
        raise ServiceError(None, _("Diễn đàn này không còn nhận đăng ký."))
    if own_registration(forum, user) is not None:
        raise ServiceError(None, _("Bạn đã đăng ký diễn đàn này."))
    values = _clean(forum, user, data)
    if count_registrations(forum, values["kind"], ("pending", "approved")) >= capacity_of(forum, values["kind"]):
        raise ServiceError("kind", _("Diễn đàn đã đủ chỗ cho đối tượng này."))
    sessions, products = values.pop("sessions"), values.pop("products")
    registration = Registration(forum_id=forum.id, user_id=user.id, checkin_code=secrets.token_urlsafe(12), **values)
    registration.sessions = sessions
    registration.products = products
    db.session.add(registration)
    db.session.flush()
    organisers = [forum.created_by] if forum.created_by is not None else []
    notify(
        organisers,
        "forum_registration",
        f"/forums/{forum.id}/registrations",
        lambda: _(
            "Đăng ký mới cho diễn đàn “%(title)s”: %(name)s.",
            title=forum.title,
            name=registration.organisation or registration.contact_name,
        ),
    )
    return registration


def update_registration(registration: Registration, user: User, data: RegistrationData) -> Registration:
    """The participant edits their own registration while registration is open."""
    if registration.user_id != user.id:
        raise NotAllowed()
    forum = registration.forum
    if registration.status in ("refused", "cancelled"):
        raise ServiceError(None, _("Đăng ký này không còn hiệu lực."))
    if not registration_open(forum):
        raise ServiceError(None, _("Đã hết hạn sửa đăng ký."))
    data.kind = registration.kind
    values = _clean(forum, user, data)
    removed = {s.id for s in registration.sessions} - {s.id for s in values["sessions"]}
    if removed and _seated_in_sessions(registration, removed):
        raise ServiceError("session_ids", _("Bạn đã có cuộc gặp được xếp lịch trong phiên bỏ chọn."))
    sessions, products = values.pop("sessions"), values.pop("products")
    for key, value in values.items():
        setattr(registration, key, value)
    registration.sessions = sessions
    registration.products = products
    db.session.flush()
    return registration


def _seated_in_sessions(registration: Registration, session_ids: set[int]) -> bool:
    return bool(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(MeetingSeat)
            .join(ForumSlot, ForumSlot.id == MeetingSeat.slot_id)
            .where(MeetingSeat.registration_id == registration.id, ForumSlot.session_id.in_(session_ids))
        )
    )


def _drop_meetings(registration: Registration) -> None:
    """Cancel the active meetings of a registration that leaves, freeing their slots."""
    meetings = db.session.scalars(
        sa.select(Meeting).where(
            sa.or_(Meeting.requester_id == registration.id, Meeting.invitee_id == registration.id),
            Meeting.status.in_(("requested", "accepted", "recommended")),
        )
    )
    for meeting in meetings:
        meeting.status = "cancelled"
        meeting.slot_id = None
        meeting.table_no = None
        meeting.locked = False
        for seat in list(meeting.seats):
            meeting.seats.remove(seat)
    db.session.flush()


def cancel_registration(registration: Registration, user: User) -> Registration:
    if registration.user_id != user.id:
        raise NotAllowed()
    if registration.status not in ("pending", "approved"):
        raise ServiceError(None, _("Đăng ký này không còn hiệu lực."))
    if registration.forum.status == "finished":
        raise ServiceError(None, _("Diễn đàn đã kết thúc."))
    registration.status = "cancelled"
    _drop_meetings(registration)
    return registration


def approve(organiser: User, registration: Registration) -> Registration:
    ensure_organiser(organiser)
    if registration.status != "pending":
        raise ServiceError(None, _("Chỉ duyệt được đăng ký đang chờ."))
    forum = registration.forum
    if forum.status == "finished":
        raise ServiceError(None, _("Diễn đàn đã kết thúc."))
    if count_registrations(forum, registration.kind, ("approved",)) >= capacity_of(forum, registration.kind):
        raise ServiceError(None, _("Diễn đàn đã đủ chỗ cho đối tượng này."))
    registration.status = "approved"
    registration.refusal_reason = ""
    registration.decided_at = utcnow()
    registration.decided_by_id = organiser.id
    db.session.flush()
    if forum.fee_vnd:
        # The fee is due once approved: its order waits in the participant's orders.
        create_forum_fee_order(registration)
        notify(
            [registration.user],
            "forum_registration",
            f"/forums/{forum.id}",
            lambda: _(
                "Đăng ký của bạn tại diễn đàn “%(title)s” đã được duyệt. Hãy nộp phí tham dự để bắt đầu hẹn gặp.",
                title=forum.title,
            ),
        )
        return registration
    notify(
        [registration.user],
        "forum_registration",
        f"/forums/{forum.id}",
        lambda: _("Đăng ký của bạn tại diễn đàn “%(title)s” đã được duyệt.", title=forum.title),
    )
    return registration


def refuse(organiser: User, registration: Registration, reason: str) -> Registration:
    ensure_organiser(organiser)
    if registration.status not in ("pending", "approved"):
        raise ServiceError(None, _("Đăng ký này không còn hiệu lực."))
    reason = nfc(reason or "").strip()
    if not reason:
        raise ServiceError("reason", _("Hãy nêu lý do từ chối."))
    limit_length(reason, "reason", 1000)
    forum = registration.forum
    registration.status = "refused"
    registration.refusal_reason = reason
    registration.decided_at = utcnow()
    registration.decided_by_id = organiser.id
    _drop_meetings(registration)
    notify(
        [registration.user],
        "forum_registration",
        f"/forums/{forum.id}",
        lambda: _(
            "Đăng ký của bạn tại diễn đàn “%(title)s” không được chấp nhận: %(reason)s",
            title=forum.title,
            reason=reason,
        ),
    )
    return registration


def registrations_for_review(forum: Forum, status: str | None, page: int, per_page: int = 30) -> Page:
    stmt = sa.select(Registration).where(Registration.forum_id == forum.id)
    if status:
        stmt = stmt.where(Registration.status == status)
    return paginate(stmt.order_by(Registration.created_at, Registration.id), page, per_page)


@dataclass
class DirectoryQuery:
    q: str = ""
    kind: str = ""
    group: str = ""
    session_id: int | None = None


def directory(forum: Forum, query: DirectoryQuery, page: int, per_page: int = 24) -> Page:
    """Active participants (approved, fee paid when there is one), filtered; words match
    organisation, offers, seeks and products without diacritics mattering."""
    stmt = sa.select(Registration).where(Registration.forum_id == forum.id, Registration.status == "approved")
    if query.kind in ("buyer", "producer"):
        stmt = stmt.where(Registration.kind == query.kind)
    if query.group in OCOP_GROUPS:
        stmt = stmt.where(sa.or_(Registration.groups == query.group, Registration.groups.like(f"%{query.group}%")))
    if query.session_id:
        stmt = stmt.where(
            Registration.id.in_(
                sa.select(registration_sessions.c.registration_id).where(
                    registration_sessions.c.session_id == query.session_id
                )
            )
        )
    words = fold(query.q).split()
    if words or forum.fee_vnd:  # words and fees are checked here, in Python
        rows = db.session.scalars(stmt.order_by(Registration.organisation, Registration.id)).all()
        matched = [r for r in rows if all(w in _haystack(r) for w in words) and fee_settled(r)]
        total = len(matched)
        pages = max(1, -(-total // per_page))
        page = min(page, pages)
        return Page(items=matched[(page - 1) * per_page : page * per_page], total=total, page=page, per_page=per_page)
    return paginate(stmt.order_by(Registration.organisation, Registration.id), page, per_page)


def _haystack(registration: Registration) -> str:
    parts = [registration.organisation, registration.contact_name, registration.offers, registration.seeks]
    parts += [p.name for p in registration.products]
    return fold(" ".join(parts))
