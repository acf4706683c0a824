"""Personal data under Decree 13/2023/NĐ-CP: export a person's data, delete (anonymise) an account.

`export_user_data(user)` gathers everything the marketplace holds about one person into plain JSON
types. `delete_account(user, ...)` erases the person and keeps the trade records: the `users` row
stays (orders, quotes, inquiries, meetings and the audit log point at it) but its e-mail, name,
phone, organisation, password and sessions are gone, and it can never log in again.

Every column that references `users.id` is listed either in `EXPORTED` (with the export section
that carries it) or in `NOT_EXPORTED` (with the reason); a test fails when a new one appears in
neither. Services flush, never commit; they never touch `request`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from marketplace.accounts import passwords
from marketplace.accounts.models import User, new_session_token
from marketplace.banking.models import BankAccountChange
from marketplace.core.errors import ServiceError
from marketplace.core.models import utcnow
from marketplace.core.vn_text import clean_line, normalise_tones
from marketplace.dashboard.models import AuditLog, ListingReport
from marketplace.extensions import db
from marketplace.forums.models import Meeting, MeetingOutcome, Registration
from marketplace.inquiries.models import (
    BuyerProfile,
    Inquiry,
    Message,
    Notification,
    NotificationSetting,
    Quote,
    Report,
    Rfq,
    Thread,
    ThreadRead,
)
from marketplace.mail.models import OutgoingMail
from marketplace.payments.models import Order
from marketplace.producers.models import Producer, ProducerClaim, ProducerInvitation, producer_managers
from marketplace.sales_points.models import CarryRequest, SalesPoint
from marketplace.traceability.models import BatchRevision

EXPORT_FORMAT = "ocop-trade-connect/personal-data/1"
# Shown wherever a deleted person's name would be (stored in `users.name`, so every page shows it).
DELETED_NAME = "Người dùng đã xoá"
DELETED_EMAIL_DOMAIN = "deleted.invalid"  # .invalid never resolves (RFC 2606): no mail can go there
# What the person types to confirm the deletion.
CONFIRM_PHRASE = "XOÁ TÀI KHOẢN"

# Every column referencing users.id, and the section of the export that carries its rows.
EXPORTED: dict[str, str] = {
    "producer_managers.user_id": "producers_managed",
    "producer_claims.user_id": "producer_claims",
    "producer_invitations.used_by_id": "producer_invitations_accepted",
    "buyer_profiles.user_id": "buyer_profile",
    "inquiries.buyer_id": "inquiries",
    "rfqs.buyer_id": "rfqs",
    "quotes.author_id": "quotes",
    "threads.buyer_id": "threads",
    "thread_reads.user_id": "thread_reads",
    "messages.author_id": "messages",
    "notifications.user_id": "notifications",
    "notification_settings.user_id": "notification_settings",
    "message_reports.reporter_id": "message_reports",
    "listing_reports.reporter_id": "listing_reports",
    "audit_logs.actor_id": "audit_log",
    "forum_registrations.user_id": "forum_registrations",
    "sales_points.owner_id": "sales_points",
    "carry_requests.requested_by_id": "carry_requests",
    "payment_orders.buyer_id": "orders",
    "producer_bank_account_changes.actor_id": "bank_account_changes",
    "trace_batch_revisions.user_id": "batch_revisions",
}
# Columns referencing users.id that the export leaves out, and why.
_STAFF = "a staff member's work record (the organisation's, not the person's); the action is in the audit log"
NOT_EXPORTED: dict[str, str] = {
    "certificates.reviewed_by_id": _STAFF,
    "forums.created_by_id": _STAFF,
    "forum_registrations.decided_by_id": _STAFF,
    "forum_registrations.checked_in_by_id": _STAFF,
    "producer_claims.decided_by_id": _STAFF,
    "producer_invitations.created_by_id": _STAFF,
    "sales_point_reviews.reviewer_id": _STAFF,
    "payment_orders.settled_by_id": _STAFF,
    "payment_refunds.actor_id": _STAFF,
    "dashboard_targets.updated_by_id": _STAFF,
    "listing_reports.handled_by_id": _STAFF,
    "message_reports.handled_by_id": _STAFF,
    "carry_requests.decided_by_id": "a sales point's answer to a producer: the point's record (exported with the point)",
    "payment_order_terms.updated_by_id": "a producer's payment terms on a quote: the producer's record",
    "payment_order_events.actor_id": "events of the person's own orders are exported with each order; "
    "others are the counterparty's records",
    "trace_batches.created_by_id": "a producer's batch record: the producer's data, not the person's",
    "producer_bank_accounts.created_by_id": "the producer's bank account; changes are exported as bank_account_changes",
    "producer_bank_accounts.updated_by_id": "the producer's bank account; changes are exported as bank_account_changes",
}


def user_references() -> list[str]:
    """Every `table.column` in the schema that references users.id."""
    found = []
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "users" and fk.column.name == "id":
                found.append(f"{table.name}.{fk.parent.name}")
    return sorted(found)


# --- export -----------------------------------------------------------------------------------------


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _row(obj: Any, *names: str) -> dict[str, Any]:
    return {name: _value(getattr(obj, name)) for name in names}


def _all(statement) -> list:
    return list(db.session.scalars(statement))


def _account(user: User) -> dict[str, Any]:
    # Never the password hash or the session token.
    return {
        **_row(
            user,
            "id",
            "email",
            "name",
            "phone",
            "organisation",
            "locale",
            "email_verified_at",
            "suspended",
            "created_at",
            "updated_at",
            "last_login_at",
            "privacy_consent_at",
            "deleted_at",
        ),
        "roles": sorted(user.roles),
    }


def _orders(user: User) -> list[dict[str, Any]]:
    rows = []
    for order in _all(sa.select(Order).where(Order.buyer_id == user.id).order_by(Order.id)):
        item = _row(
            order,
            "id",
            "reference",
            "kind",
            "description",
            "amount_vnd",
            "refunded_vnd",
            "state",
            "method",
            "producer_id",
            "quote_id",
            "forum_registration_id",
            "paid_at",
            "transfer_marked_at",
            "created_at",
        )
        item["producer_name"] = order.producer.name if order.producer else ""
        # Card details never reach this server (Stripe holds them); attempts carry only their status.
        item["payment_attempts"] = [_row(a, "attempt_no", "status", "created_at") for a in order.attempts]
        item["refunds"] = [_row(r, "refund_no", "amount_vnd", "reason", "created_at") for r in order.refunds]
        item["events"] = [_row(e, "action", "from_state", "to_state", "cause", "created_at") for e in order.events]
        rows.append(item)
    return rows


def _forum_registrations(user: User) -> list[dict[str, Any]]:
    rows = []
    for reg in _all(sa.select(Registration).where(Registration.user_id == user.id).order_by(Registration.id)):
        item = _row(
            reg,
            "id",
            "forum_id",
            "kind",
            "producer_id",
            "organisation",
            "contact_name",
            "phone",
            "email",
            "offers",
            "seeks",
            "groups",
            "opt_in_recommended",
            "status",
            "refusal_reason",
            "decided_at",
            "checked_in_at",
            "created_at",
        )
        item["forum_title"] = reg.forum.title
        meetings = _all(
            sa.select(Meeting)
            .where(sa.or_(Meeting.requester_id == reg.id, Meeting.invitee_id == reg.id))
            .order_by(Meeting.id)
        )
        item["meetings"] = []
        for meeting in meetings:
            other = meeting.invitee if meeting.requester_id == reg.id else meeting.requester
            entry = _row(meeting, "id", "origin", "status", "message", "table_no", "created_at", "responded_at")
            entry["with"] = other.organisation or other.contact_name
            entry["starts_at"] = _value(meeting.slot.starts_at) if meeting.slot else None
            entry["my_outcome"] = next(
                (
                    _row(o, "result", "deal_value_vnd", "note", "recorded_at")
                    for o in _all(sa.select(MeetingOutcome).where(MeetingOutcome.meeting_id == meeting.id))
                    if o.registration_id == reg.id
                ),
                None,
            )
            item["meetings"].append(entry)
        rows.append(item)
    return rows


def export_user_data(user: User) -> dict[str, Any]:
    """Everything the marketplace holds about `user`, as JSON-ready types (Decree 13, right of access)."""
    uid = user.id
    profile = db.session.scalar(sa.select(BuyerProfile).where(BuyerProfile.user_id == uid))
    setting = db.session.get(NotificationSetting, uid)
    managed = _all(
        sa.select(Producer).join(producer_managers).where(producer_managers.c.user_id == uid).order_by(Producer.id)
    )
    audit = _all(
        sa.select(AuditLog)
        .where(sa.or_(AuditLog.actor_id == uid, sa.and_(AuditLog.object_type == "user", AuditLog.object_id == uid)))
        .order_by(AuditLog.id)
    )
    return {
        "format": EXPORT_FORMAT,
        "exported_at": _value(utcnow()),
        "controller": "OCOP Trade Connect, Hà Nội",
        "legal_basis": "Nghị định 13/2023/NĐ-CP",
        "account": _account(user),
        "buyer_profile": _row(profile, "organisation", "kind", "district", "contact_name", "phone", "created_at")
        if profile
        else None,
        "producers_managed": [_row(p, "id", "name", "district", "commune") for p in managed],
        "producer_claims": [
            _row(c, "id", "producer_id", "evidence", "message", "status", "reason", "created_at", "decided_at")
            for c in _all(sa.select(ProducerClaim).where(ProducerClaim.user_id == uid).order_by(ProducerClaim.id))
        ],
        "producer_invitations_accepted": [
            _row(i, "id", "producer_id", "email", "used_at")
            for i in _all(
                sa.select(ProducerInvitation)
                .where(ProducerInvitation.used_by_id == uid)
                .order_by(ProducerInvitation.id)
            )
        ],
        "inquiries": [
            _row(
                i,
                *("id", "producer_id", "product_id", "quantity", "unit", "target_price_vnd", "needed_by"),
                *("delivery_district", "message", "status", "created_at", "closed_at"),
            )
            for i in _all(sa.select(Inquiry).where(Inquiry.buyer_id == uid).order_by(Inquiry.id))
        ],
        "rfqs": [
            _row(
                r,
                *("id", "title", "details", "ocop_group", "quantity", "unit", "min_stars", "target_price_vnd"),
                *("deadline", "delivery_district", "visibility", "status", "created_at", "closed_at"),
            )
            for r in _all(sa.select(Rfq).where(Rfq.buyer_id == uid).order_by(Rfq.id))
        ],
        "quotes": [
            _row(
                q,
                *("id", "rfq_id", "producer_id", "unit_price_vnd", "moq", "lead_time_days", "valid_until"),
                *("note", "sample_offer", "status", "decision_note", "created_at", "decided_at"),
            )
            for q in _all(sa.select(Quote).where(Quote.author_id == uid).order_by(Quote.id))
        ],
        "threads": [
            _row(t, "id", "inquiry_id", "quote_id", "producer_id", "created_at", "last_message_at")
            for t in _all(sa.select(Thread).where(Thread.buyer_id == uid).order_by(Thread.id))
        ],
        "thread_reads": [
            _row(r, "thread_id", "last_read_message_id")
            for r in _all(sa.select(ThreadRead).where(ThreadRead.user_id == uid).order_by(ThreadRead.thread_id))
        ],
        "messages": [
            {
                **_row(m, "id", "thread_id", "body", "created_at", "hidden"),
                "attachments": [_row(a, "original_name", "content_type", "size") for a in m.attachments],
            }
            for m in _all(sa.select(Message).where(Message.author_id == uid).order_by(Message.id))
        ],
        "notifications": [
            _row(n, "id", "kind", "text", "link", "created_at", "read_at", "email_state")
            for n in _all(sa.select(Notification).where(Notification.user_id == uid).order_by(Notification.id))
        ],
        "notification_settings": _row(setting, "email_mode", "last_digest_on") if setting else None,
        "message_reports": [
            _row(r, "id", "message_id", "reason", "status", "created_at")
            for r in _all(sa.select(Report).where(Report.reporter_id == uid).order_by(Report.id))
        ],
        "listing_reports": [
            _row(r, "id", "product_id", "reason", "status", "created_at")
            for r in _all(sa.select(ListingReport).where(ListingReport.reporter_id == uid).order_by(ListingReport.id))
        ],
        "audit_log": [
            {
                **_row(a, "id", "action", "object_type", "object_id", "object_label", "reason", "created_at"),
                "by_me": a.actor_id == uid,
            }
            for a in audit
        ],
        "forum_registrations": _forum_registrations(user),
        "sales_points": [
            _row(s, "id", "ref", "name", "kind", "status", "district", "address", "phone", "created_at")
            for s in _all(sa.select(SalesPoint).where(SalesPoint.owner_id == uid).order_by(SalesPoint.id))
        ],
        "carry_requests": [
            _row(c, "id", "sales_point_id", "product_id", "message", "status", "response", "created_at")
            for c in _all(sa.select(CarryRequest).where(CarryRequest.requested_by_id == uid).order_by(CarryRequest.id))
        ],
        "orders": _orders(user),
        "bank_account_changes": [
            _row(c, "id", "producer_id", "action", "actor_email", "created_at")
            for c in _all(
                sa.select(BankAccountChange).where(BankAccountChange.actor_id == uid).order_by(BankAccountChange.id)
            )
        ],
        "batch_revisions": [
            _row(r, "id", "batch_id", "user_name", "entity", "action", "entity_label", "created_at")
            for r in _all(sa.select(BatchRevision).where(BatchRevision.user_id == uid).order_by(BatchRevision.id))
        ],
        # Subjects and dates only: mail bodies hold sign-in and reset links.
        "emails_sent_to_me": [
            _row(m, "subject", "created_at", "sent_at")
            for m in _all(sa.select(OutgoingMail).where(OutgoingMail.to == user.email).order_by(OutgoingMail.id))
        ],
    }


# --- deletion ---------------------------------------------------------------------------------------


@dataclass
class DeletionData:
    password: str
    confirmation: str


def deleted_email(user: User) -> str:
    return f"deleted-{user.id}-{secrets.token_hex(4)}@{DELETED_EMAIL_DOMAIN}"


def is_deleted(user: User) -> bool:
    return user.deleted_at is not None


def _other_active_admins(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(User)
        .where(
            User.id != user.id,
            User.roles_text.contains("admin"),
            User.suspended.is_(False),
            User.deleted_at.is_(None),
        )
    )


def check_can_delete(user: User) -> None:
    """Refuse when deleting the account would leave the site without an administrator."""
    if is_deleted(user):
        raise ServiceError(None, _("Tài khoản này đã bị xoá."), code="deleted")
    if user.has_role("admin") and not _other_active_admins(user):
        raise ServiceError(
            None,
            _(
                "Bạn là quản trị viên cuối cùng. Hãy cấp quyền quản trị cho một người khác "
                "trước khi xoá tài khoản của mình."
            ),
            code="last_admin",
        )


def confirmation_matches(typed: str | None) -> bool:
    """The typed phrase, in any case and with either tone placement (XOÁ or XÓA)."""

    def fold(text: str) -> str:
        return normalise_tones(clean_line(text).strip().lower())

    return fold(typed or "") == fold(CONFIRM_PHRASE)


def delete_account(user: User, data: DeletionData) -> User:
    """Check the password and the typed confirmation, then anonymise `user` (see module docstring).
    Raises ServiceError before anything changed."""
    check_can_delete(user)
    if not passwords.verify_password(user.password_hash, data.password or ""):
        raise ServiceError("password", _("Mật khẩu không đúng."))
    if not confirmation_matches(data.confirmation):
        raise ServiceError("confirmation", _("Vui lòng gõ đúng cụm từ %(phrase)s để xác nhận.", phrase=CONFIRM_PHRASE))
    anonymise(user)
    return user


def anonymise(user: User) -> None:
    """Erase the person, keep the trade records (orders, quotes, inquiries, messages, meetings, audit)."""
    uid = user.id
    old_email = user.email
    # Mail to the old address: bodies carry personal data and sign-in links.
    db.session.execute(sa.delete(OutgoingMail).where(OutgoingMail.to == old_email))
    # Data that only served the person.
    db.session.execute(sa.delete(Notification).where(Notification.user_id == uid))
    db.session.execute(sa.delete(NotificationSetting).where(NotificationSetting.user_id == uid))
    db.session.execute(sa.delete(ThreadRead).where(ThreadRead.user_id == uid))
    db.session.execute(sa.delete(BuyerProfile).where(BuyerProfile.user_id == uid))
    # No longer manages storefronts or operates sales points (they belong to the producer / the point).
    db.session.execute(sa.delete(producer_managers).where(producer_managers.c.user_id == uid))
    db.session.execute(sa.update(SalesPoint).where(SalesPoint.owner_id == uid).values(owner_id=None))
    # Forum registrations stay (meetings and outcomes point at them); their contact fields go.
    db.session.execute(
        sa.update(Registration)
        .where(Registration.user_id == uid)
        .values(contact_name=DELETED_NAME, phone="", email="", organisation="")
    )
    db.session.execute(sa.update(ProducerInvitation).where(ProducerInvitation.email == old_email).values(email=""))
    db.session.execute(sa.update(BatchRevision).where(BatchRevision.user_id == uid).values(user_name=DELETED_NAME))
    new_email = deleted_email(user)
    db.session.execute(
        sa.update(AuditLog)
        .where(AuditLog.object_type == "user", AuditLog.object_id == uid)
        .values(object_label=DELETED_NAME)
    )
    user.email = new_email
    user.name = DELETED_NAME
    user.phone = ""
    user.organisation = ""
    # Not an argon2 hash: verify_password is always False, and no reset mail can reach .invalid.
    user.password_hash = "!deleted:" + secrets.token_hex(16)
    user.session_token = new_session_token()  # every session and remember-me cookie ends
    user.roles = set()
    user.email_verified_at = None
    user.suspended = True
    user.deleted_at = utcnow()
    db.session.flush()
    db.session.expire_all()  # relationships loaded before the bulk changes
    from marketplace.dashboard.audit import log_action  # (dashboard imports accounts)

    log_action(user, "user.delete", "user", uid, DELETED_NAME)
