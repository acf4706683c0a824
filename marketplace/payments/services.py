"""Orders and payments: the business rules. Services flush, never commit (the views commit).

States move forward only (TRANSITIONS). Every change goes through `_move()`, a conditional UPDATE
(`... WHERE id = :id AND state = :from`) so that two writers (the API answer and a webhook, or 20
copies of one webhook) cannot both apply it: exactly one wins, records an OrderEvent and queues the
receipt e-mail. Amounts are computed here from the quote, the producer's terms or the forum fee;
nothing posted by a browser is ever an amount to charge.

Public for other features:
- `create_forum_fee_order(registration) -> Order` (idempotent: one open fee order per registration)
- `fee_paid(registration_id) -> bool`
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
import stripe
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from marketplace.accounts.models import User
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.core.money import format_vnd
from marketplace.core.vn_text import clean_line
from marketplace.extensions import db
from marketplace.inquiries.models import Quote
from marketplace.payments import stripe_client
from marketplace.payments.models import (
    METHODS,
    OPEN_STATES,
    ORDER_KINDS,
    ORDER_STATES,
    SETTLEMENT_STATES,
    Order,
    OrderEvent,
    OrderRefund,
    OrderTerms,
    PaymentAttempt,
    StripeEvent,
)
from marketplace.producers.models import Producer, producer_managers

TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"paid", "failed", "cancelled"}),
    "failed": frozenset({"paid", "cancelled"}),  # a retry (or a late success) may still pay it
    "paid": frozenset({"partially_refunded", "refunded"}),
    "partially_refunded": frozenset({"partially_refunded", "refunded"}),
    "refunded": frozenset(),
    "cancelled": frozenset(),
}
PAYABLE_STATES = ("pending", "failed")
IN_FLIGHT = ("creating", "requires_action", "processing", "succeeded")
STALE_CREATING = timedelta(seconds=60)
PLATFORM_FEE_PERCENT = 0  # payments go to the platform's Stripe account; the producer's share is settled by transfer
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_PAYMENT_METHOD_ID = re.compile(r"^pm_[A-Za-z0-9_]{1,96}$")


# --------------------------------------------------------------------------- access


def manages_producer(user: User | None, producer_id: int | None) -> bool:
    if user is None or producer_id is None or not getattr(user, "is_authenticated", True):
        return False
    return bool(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(producer_managers)
            .where(producer_managers.c.user_id == user.id, producer_managers.c.producer_id == producer_id)
        )
    )


def can_view(user: User | None, order: Order) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return order.buyer_id == user.id or user.is_staff or manages_producer(user, order.producer_id)


def visible_order(user: User | None, order_id: int) -> Order | None:
    """The order if `user` may see it (buyer, the producer's managers, organisers), else None."""
    order = db.session.get(Order, order_id)
    return order if order is not None and can_view(user, order) else None


def can_refund(user: User | None, order: Order) -> bool:
    if user is None:
        return False
    if user.is_staff:
        return True
    return order.kind != "forum_fee" and manages_producer(user, order.producer_id)


# --------------------------------------------------------------------------- terms and amounts


def terms_for(quote: Quote) -> OrderTerms | None:
    return db.session.scalar(sa.select(OrderTerms).where(OrderTerms.quote_id == quote.id))


def deposit_amount(quote: Quote, percent: int) -> int:
    """unit price × RFQ quantity × percent / 100, rounded half up to whole VND."""
    total = int(quote.unit_price_vnd) * int(quote.rfq.quantity) * int(percent)
    return (total + 50) // 100


def set_terms(user: User, quote: Quote, deposit_percent: int | None, sample_price_vnd: int | None) -> OrderTerms:
    if not manages_producer(user, quote.producer_id):
        raise NotAllowed()
    if quote.status not in ("submitted", "accepted"):
        raise ServiceError(None, _("Báo giá này đã đóng, không thể đặt điều khoản thanh toán."))
    if deposit_percent is not None and not 1 <= deposit_percent <= 100:
        raise ServiceError("deposit_percent", _("Tỷ lệ đặt cọc phải từ 1 đến 100%."))
    if sample_price_vnd is not None and not 0 < sample_price_vnd <= 10**12:
        raise ServiceError("sample_price_vnd", _("Giá hàng mẫu phải lớn hơn 0 ₫."))
    if deposit_percent is not None and deposit_amount(quote, deposit_percent) <= 0:
        raise ServiceError("deposit_percent", _("Số tiền đặt cọc tính ra bằng 0 ₫."))
    terms = terms_for(quote) or OrderTerms(quote_id=quote.id)
    terms.deposit_percent = deposit_percent
    terms.sample_price_vnd = sample_price_vnd
    terms.updated_by_id = user.id
    db.session.add(terms)
    db.session.flush()
    return terms


def quote_offers(quote: Quote) -> dict[str, int]:
    """kind -> amount in VND that the buyer can order now on this quote."""
    terms = terms_for(quote)
    offers: dict[str, int] = {}
    if terms is None or quote.status != "accepted":
        return offers
    if terms.sample_price_vnd:
        offers["sample"] = int(terms.sample_price_vnd)
    if terms.deposit_percent:
        amount = deposit_amount(quote, terms.deposit_percent)
        if amount > 0:
            offers["deposit"] = amount
    return offers


def open_orders_for_quote(quote: Quote) -> list[Order]:
    return list(
        db.session.scalars(
            sa.select(Order).where(Order.quote_id == quote.id, Order.state.in_(OPEN_STATES)).order_by(Order.id)
        )
    )


# --------------------------------------------------------------------------- creating orders


def _new_reference() -> str:
    while True:
        code = "OCOP" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
        if db.session.scalar(sa.select(Order.id).where(Order.reference == code)) is None:
            return code


def _insert_order(order: Order, existing: sa.Select) -> Order:
    """Insert in a savepoint; if the open-order unique index refuses it (a second click, another
    tab), return the order that won."""
    try:
        with db.session.begin_nested():
            db.session.add(order)
            db.session.flush()
    except sa.exc.IntegrityError:
        found = db.session.scalar(existing)
        if found is None:
            raise
        return found
    _event(order, "created", order.state, order.state, "user" if order.kind != "forum_fee" else "system", order.buyer)
    return order


def create_quote_order(user: User, quote: Quote, kind: str) -> Order:
    """A sample or deposit order on an accepted quote, by the RFQ's buyer. Returns the open order
    of that kind when there is one already."""
    if kind not in ("sample", "deposit"):
        raise ServiceError("kind", _("Loại đơn hàng không hợp lệ."))
    if quote.rfq.buyer_id != user.id:
        raise NotAllowed()
    if quote.status != "accepted":
        raise ServiceError(None, _("Chỉ có thể đặt hàng trên báo giá đã được chấp nhận."))
    existing = sa.select(Order).where(Order.quote_id == quote.id, Order.kind == kind, Order.state.in_(OPEN_STATES))
    found = db.session.scalar(existing)
    if found is not None:
        return found
    amount = quote_offers(quote).get(kind)
    if amount is None:
        if kind == "sample":
            raise ServiceError("kind", _("Nhà sản xuất chưa đặt giá hàng mẫu cho báo giá này."))
        raise ServiceError("kind", _("Nhà sản xuất chưa đặt tỷ lệ đặt cọc cho báo giá này."))
    terms = terms_for(quote)
    if kind == "sample":
        description = _("Hàng mẫu – báo giá #%(id)s: %(title)s", id=quote.id, title=quote.rfq.title)
    else:
        description = _(
            "Đặt cọc %(pct)s%% – báo giá #%(id)s: %(title)s",
            pct=terms.deposit_percent if terms else 0,
            id=quote.id,
            title=quote.rfq.title,
        )
    fee = amount * PLATFORM_FEE_PERCENT // 100
    order = Order(
        reference=_new_reference(),
        buyer_id=user.id,
        producer_id=quote.producer_id,
        quote_id=quote.id,
        kind=kind,
        description=description[:300],
        amount_vnd=amount,
        platform_fee_vnd=fee,
        producer_share_vnd=amount - fee,
        state="pending",
        settlement_state="unsettled",
    )
    return _insert_order(order, existing)


def create_forum_fee_order(registration: Any) -> Order:
    """The registration fee of a forum as an order of its registrant (idempotent: the open fee
    order of the registration is returned when there is one)."""
    fee = int(registration.forum.fee_vnd or 0)
    if fee <= 0:
        raise ServiceError(None, _("Diễn đàn này không thu phí tham dự."))
    if registration.status in ("refused", "cancelled"):
        raise ServiceError(None, _("Đăng ký này đã bị từ chối hoặc huỷ."))
    existing = sa.select(Order).where(
        Order.forum_registration_id == registration.id, Order.kind == "forum_fee", Order.state.in_(OPEN_STATES)
    )
    found = db.session.scalar(existing)
    if found is not None:
        return found
    order = Order(
        reference=_new_reference(),
        buyer_id=registration.user_id,
        producer_id=None,
        forum_registration_id=registration.id,
        kind="forum_fee",
        description=_("Phí tham dự diễn đàn: %(title)s", title=registration.forum.title)[:300],
        amount_vnd=fee,
        platform_fee_vnd=fee,
        producer_share_vnd=0,
        state="pending",
        settlement_state="none",
    )
    return _insert_order(order, existing)


def fee_paid(registration_id: int) -> bool:
    """True when the registration's fee order is paid (a partial refund still counts as paid)."""
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Order)
            .where(
                Order.forum_registration_id == registration_id,
                Order.kind == "forum_fee",
                Order.state.in_(("paid", "partially_refunded")),
            )
        )
        or 0
    ) > 0


def fee_order_for(registration_id: int) -> Order | None:
    return db.session.scalar(
        sa.select(Order)
        .where(Order.forum_registration_id == registration_id, Order.state.in_(OPEN_STATES))
        .order_by(Order.id.desc())
    )


# --------------------------------------------------------------------------- state changes


def _event(
    order: Order,
    action: str,
    from_state: str,
    to_state: str,
    cause: str,
    actor: User | None = None,
    stripe_event_id: str | None = None,
    note: str = "",
) -> OrderEvent:
    event = OrderEvent(
        order_id=order.id,
        action=action,
        from_state=from_state,
        to_state=to_state,
        cause=cause,
        actor_id=actor.id if actor is not None else None,
        stripe_event_id=stripe_event_id,
        note=note[:500],
    )
    db.session.add(event)
    db.session.flush()
    return event


def _move(
    order: Order,
    to_state: str,
    action: str,
    cause: str,
    actor: User | None = None,
    stripe_event_id: str | None = None,
    note: str = "",
    **values: Any,
) -> bool:
    """Apply one forward transition atomically; False when it is not allowed from the state the
    database holds now (already applied by someone else, or backwards)."""
    db.session.flush()
    from_state = order.state
    if to_state not in TRANSITIONS.get(from_state, frozenset()):
        return False
    result = db.session.execute(
        sa.update(Order)
        .where(Order.id == order.id, Order.state == from_state)
        .values(state=to_state, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(order)
    if result.rowcount != 1:
        return False
    _event(order, action, from_state, to_state, cause, actor, stripe_event_id, note)
    if to_state == "paid":
        _announce_paid(order)
    return True


def _refuse(message: str) -> ServiceError:
    return ServiceError(None, message, code="illegal_transition")


def _announce_paid(order: Order) -> None:
    """The buyer's receipt e-mail and the producer's notification, in the same transaction."""
    from marketplace.inquiries.common import absolute_url, site_path
    from marketplace.inquiries.notifications import notify
    from marketplace.mail.services import queue_mail

    buyer = order.buyer
    link = site_path("payments.receipt", order_id=order.id)
    with force_locale(buyer.locale or "vi"):
        subject = _("Biên nhận thanh toán %(ref)s", ref=order.reference)
        body = "\n".join(
            [
                _("Xin chào %(name)s,", name=buyer.name or buyer.email),
                "",
                _("Chúng tôi đã nhận được khoản thanh toán của bạn."),
                _("Mã đơn: %(ref)s", ref=order.reference),
                _("Nội dung: %(text)s", text=order.description),
                _("Số tiền: %(amount)s", amount=format_vnd(order.amount_vnd)),
                _("Hình thức: %(method)s", method=method_label(order.method)),
                "",
                _("Xem biên nhận: %(url)s", url=absolute_url(link)),
            ]
        )
    queue_mail(buyer.email, str(subject), str(body))
    if order.producer is not None:
        notify(
            order.producer.managers,
            "order_paid",
            site_path("payments.order", order_id=order.id),
            lambda: _(
                "Đơn %(ref)s đã được thanh toán: %(amount)s.", ref=order.reference, amount=format_vnd(order.amount_vnd)
            ),
        )


def method_label(method: str) -> str:
    return {"card": _("Thẻ (Stripe)"), "bank_transfer": _("Chuyển khoản (VietQR)")}.get(method, _("Chưa chọn"))


def cancel(user: User, order: Order) -> None:
    if not (order.buyer_id == user.id or user.is_staff):
        raise NotAllowed()
    if order.state not in PAYABLE_STATES:
        raise _refuse(_("Không thể huỷ đơn ở trạng thái này."))
    if _latest_attempt(order) is not None and _latest_attempt(order).status in IN_FLIGHT:
        raise _refuse(_("Một lần thanh toán bằng thẻ đang xử lý; không thể huỷ đơn."))
    if order.transfer_marked_at is not None and not user.is_staff:
        raise _refuse(_("Bạn đã báo chuyển khoản; hãy liên hệ nhà sản xuất hoặc ban tổ chức để huỷ."))
    if not _move(order, "cancelled", "cancelled", "user", user):
        raise _refuse(_("Không thể huỷ đơn ở trạng thái này."))


# --------------------------------------------------------------------------- card payments


@dataclass(frozen=True)
class AttemptStart:
    attempt: PaymentAttempt
    call_stripe: bool  # False: an attempt is already in flight; report its state


def _latest_attempt(order: Order) -> PaymentAttempt | None:
    return db.session.scalar(
        sa.select(PaymentAttempt).where(PaymentAttempt.order_id == order.id).order_by(PaymentAttempt.attempt_no.desc())
    )


def start_attempt(user: User, order: Order, payment_method_id: str) -> AttemptStart:
    """Find the attempt in flight (a double click) or add the next one. The caller commits the
    new row BEFORE calling Stripe, so the (order, attempt_no) unique key guards every copy."""
    if order.buyer_id != user.id:
        raise NotAllowed()
    if not stripe_client.enabled():
        raise ServiceError(None, _("Thanh toán bằng thẻ đang tắt."), code="payments_off")
    payment_method_id = (payment_method_id or "").strip()
    if not _PAYMENT_METHOD_ID.match(payment_method_id):
        raise ServiceError("payment_method", _("Thông tin thẻ không hợp lệ. Vui lòng nhập lại."))
    latest = _latest_attempt(order)
    if latest is not None:
        if latest.status in ("processing", "succeeded"):
            return AttemptStart(latest, call_stripe=False)
        if latest.status == "creating":
            stale = latest.updated_at < utcnow() - STALE_CREATING and latest.payment_intent_id is None
            return AttemptStart(latest, call_stripe=stale)  # a stale one is retried with the same key
        if latest.status == "requires_action" and latest.payment_method_id == payment_method_id:
            return AttemptStart(latest, call_stripe=False)
    if order.state not in PAYABLE_STATES:
        raise _refuse(_("Đơn hàng này không còn chờ thanh toán."))
    if order.transfer_marked_at is not None:
        raise _refuse(_("Bạn đã báo chuyển khoản cho đơn này; vui lòng chờ nhà sản xuất xác nhận."))
    attempt = PaymentAttempt(
        order_id=order.id,
        attempt_no=(latest.attempt_no + 1) if latest else 1,
        payment_method_id=payment_method_id,
        status="creating",
    )
    db.session.add(attempt)
    db.session.flush()
    return AttemptStart(attempt, call_stripe=True)


def in_flight_attempt(order: Order) -> PaymentAttempt | None:
    latest = _latest_attempt(order)
    return latest if latest is not None and latest.status in IN_FLIGHT else None


def run_attempt(attempt: PaymentAttempt) -> PaymentAttempt:
    """Create and confirm the PaymentIntent (idempotency key order-<id>-attempt-<n>)."""
    order = attempt.order
    try:
        intent = stripe_client.create_payment_intent(
            order.amount_vnd, attempt.payment_method_id, order.id, order.reference, attempt.idempotency_key
        )
    except stripe.CardError as error:
        attempt.status = "failed"
        attempt.error = (error.user_message or _("Thẻ bị từ chối."))[:500]
        failed_intent = getattr(error.error, "payment_intent", None) if error.error else None
        if failed_intent is not None and getattr(failed_intent, "id", None):
            attempt.payment_intent_id = str(failed_intent.id)
        db.session.flush()
        _move(order, "failed", "payment_failed", "stripe_api", note=attempt.error)
        return attempt
    except (stripe.APIConnectionError, stripe.RateLimitError) as error:
        # Unknown outcome: keep "creating"; the next try re-sends the same idempotency key.
        attempt.error = _("Không kết nối được cổng thanh toán. Vui lòng thử lại sau ít phút.")
        attempt.updated_at = utcnow() - STALE_CREATING  # retryable at once
        db.session.flush()
        current_app.logger.warning("stripe unreachable for %s: %s", attempt.idempotency_key, error)
        return attempt
    except stripe.StripeError as error:
        attempt.status = "failed"
        attempt.error = (error.user_message or _("Cổng thanh toán từ chối giao dịch."))[:500]
        db.session.flush()
        current_app.logger.warning("stripe error for %s: %s", attempt.idempotency_key, error)
        _move(order, "failed", "payment_failed", "stripe_api", note=attempt.error)
        return attempt
    attempt.payment_intent_id = intent.id
    attempt.client_secret = intent.client_secret
    _apply_intent(attempt, _intent_dict(intent), cause="stripe_api")
    return attempt


def _intent_dict(intent: Any) -> dict:
    """A plain dict of a stripe object (stripe 16's objects are not dicts)."""
    return intent.to_dict() if hasattr(intent, "to_dict") else dict(intent)


def _apply_intent(attempt: PaymentAttempt, intent: dict, cause: str, stripe_event_id: str | None = None) -> str:
    """Bring an attempt and its order in line with a PaymentIntent Stripe reported."""
    order = attempt.order
    status = intent.get("status")
    if status == "succeeded":
        if not _intent_matches(order, intent):
            _event(
                order, "amount_mismatch", order.state, order.state, cause, None, stripe_event_id, str(intent.get("id"))
            )
            return "amount_mismatch"
        attempt.status = "succeeded"
        attempt.error = ""
        db.session.flush()
        moved = _move(
            order,
            "paid",
            "paid",
            cause,
            stripe_event_id=stripe_event_id,
            note=str(intent.get("id")),
            method="card",
            paid_at=utcnow(),
            stripe_payment_intent_id=str(intent.get("id")),
        )
        return "applied" if moved else "ignored"
    if status == "requires_action":
        if attempt.status == "creating":
            attempt.status = "requires_action"
        db.session.flush()
        return "ignored"
    if status == "processing":
        if attempt.status in ("creating", "requires_action"):
            attempt.status = "processing"
        db.session.flush()
        return "ignored"
    if status in ("requires_payment_method", "canceled"):
        error = (intent.get("last_payment_error") or {}).get("message") or _("Thanh toán không thành công.")
        if attempt.status != "succeeded":
            attempt.status = "failed"
            attempt.error = str(error)[:500]
        db.session.flush()
        moved = _move(order, "failed", "payment_failed", cause, stripe_event_id=stripe_event_id, note=str(error))
        return "applied" if moved else "ignored"
    return "ignored"


def _intent_matches(order: Order, intent: dict) -> bool:
    return int(intent.get("amount") or 0) == order.amount_vnd and str(intent.get("currency", "")).lower() == "vnd"


def sync_order(order: Order) -> None:
    """Ask Stripe for the true state of the attempt in flight (the receipt page)."""
    if order.state not in PAYABLE_STATES or not stripe_client.enabled():
        return
    attempt = _latest_attempt(order)
    if attempt is None or attempt.payment_intent_id is None or attempt.status in ("failed", "succeeded"):
        return
    try:
        intent = stripe_client.retrieve_payment_intent(attempt.payment_intent_id)
    except stripe.StripeError as error:
        current_app.logger.warning("could not refresh %s: %s", attempt.payment_intent_id, error)
        return
    _apply_intent(attempt, _intent_dict(intent), cause="stripe_api")


# --------------------------------------------------------------------------- webhooks


def record_event(event_id: str, event_type: str) -> StripeEvent:
    """Insert the event id first: a copy of the event fails here with IntegrityError (the caller
    rolls back and answers 200). Nothing else has been written in the transaction yet."""
    row = StripeEvent(event_id=event_id[:100], type=event_type[:60])
    db.session.add(row)
    db.session.flush()
    return row


def handle_event(event: dict) -> str:
    """Apply one verified Stripe event; returns the outcome recorded with its id."""
    row = record_event(str(event.get("id", "")), str(event.get("type", "")))
    obj = (event.get("data") or {}).get("object") or {}
    kind = row.type
    if kind in ("payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled"):
        outcome, order = _on_intent_event(obj, row.event_id)
    elif kind == "charge.refunded":
        outcome, order = _on_charge_refunded(obj, row.event_id)
    else:
        outcome, order = "unhandled", None
    row.order_id = order.id if order is not None else None
    row.outcome = outcome
    db.session.flush()
    return outcome


def _order_for_intent(obj: dict) -> tuple[Order | None, PaymentAttempt | None]:
    intent_id = str(obj.get("id") or "")
    attempt = db.session.scalar(sa.select(PaymentAttempt).where(PaymentAttempt.payment_intent_id == intent_id))
    if attempt is not None:
        return attempt.order, attempt
    # Stripe created it but we never stored its id (the process stopped mid-call): the metadata
    # names the order; its attempt still "creating" takes the id. The order's reference must match
    # too: ids are reused after a database restore (and between test databases).
    metadata = obj.get("metadata") or {}
    order_id = str(metadata.get("order_id") or "")
    order = db.session.get(Order, int(order_id)) if order_id.isdigit() else None
    if order is None or str(metadata.get("reference") or "") != order.reference:
        return None, None
    attempt = db.session.scalar(
        sa.select(PaymentAttempt)
        .where(PaymentAttempt.order_id == order.id, PaymentAttempt.payment_intent_id.is_(None))
        .order_by(PaymentAttempt.attempt_no.desc())
    )
    if attempt is not None:
        attempt.payment_intent_id = intent_id
    return order, attempt


def _on_intent_event(obj: dict, event_id: str) -> tuple[str, Order | None]:
    order, attempt = _order_for_intent(obj)
    if order is None or attempt is None:
        return "unknown_order", order
    outcome = _apply_intent(attempt, obj, cause="webhook", stripe_event_id=event_id)
    if outcome == "ignored":
        _event(order, "webhook_ignored", order.state, order.state, "webhook", None, event_id, str(obj.get("status")))
    return outcome, order


def _on_charge_refunded(obj: dict, event_id: str) -> tuple[str, Order | None]:
    """A refund seen by Stripe (ours, or one made in the Stripe dashboard): the refunded total
    only grows, so an older or repeated event changes nothing."""
    intent_id = str(obj.get("payment_intent") or "")
    order = (
        db.session.scalar(sa.select(Order).where(Order.stripe_payment_intent_id == intent_id)) if intent_id else None
    )
    if order is None:
        return "unknown_order", None
    total = min(int(obj.get("amount_refunded") or 0), order.amount_vnd)
    if total <= order.refunded_vnd or order.state not in ("paid", "partially_refunded"):
        _event(order, "webhook_ignored", order.state, order.state, "webhook", None, event_id, "charge.refunded")
        return "ignored", order
    target = "refunded" if total >= order.amount_vnd else "partially_refunded"
    db.session.flush()
    before = order.refunded_vnd
    result = db.session.execute(
        sa.update(Order)
        .where(Order.id == order.id, Order.refunded_vnd < total, Order.state.in_(("paid", "partially_refunded")))
        .values(refunded_vnd=total, state=target, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    from_state = order.state
    db.session.refresh(order)
    if result.rowcount != 1:
        return "ignored", order
    _event(order, "refunded", from_state, target, "webhook", None, event_id, format_vnd(total - before))
    return "applied", order


# --------------------------------------------------------------------------- refunds


def refund(user: User, order: Order, amount_vnd: int | None, reason: str = "") -> OrderRefund:
    """Full (amount None) or partial refund by the order's producer or an organiser."""
    if not can_refund(user, order):
        raise NotAllowed()
    if order.state not in ("paid", "partially_refunded"):
        raise _refuse(_("Chỉ hoàn tiền được cho đơn đã thanh toán."))
    remaining = order.remaining_vnd
    amount = remaining if amount_vnd is None else int(amount_vnd)
    if amount <= 0:
        raise ServiceError("amount_vnd", _("Số tiền hoàn phải lớn hơn 0 ₫."))
    if amount > remaining:
        raise ServiceError("amount_vnd", _("Số tiền hoàn vượt quá số còn lại (%(left)s).", left=format_vnd(remaining)))
    reason = clean_line(reason)[:300]
    if order.method == "bank_transfer" and not reason:
        raise ServiceError("reason", _("Hãy ghi mã giao dịch chuyển khoản hoàn tiền cho người mua."))
    if order.method == "card" and not stripe_client.enabled():
        raise ServiceError(None, _("Thanh toán bằng thẻ đang tắt; chưa thể hoàn tiền qua Stripe."), code="payments_off")
    db.session.flush()
    from_state = order.state
    target = "refunded" if amount == remaining else "partially_refunded"
    # Reserve the amount first: two refunds at once cannot pass the order's total.
    result = db.session.execute(
        sa.update(Order)
        .where(
            Order.id == order.id,
            Order.state == from_state,
            Order.refunded_vnd == order.refunded_vnd,
            Order.refunded_vnd + amount <= Order.amount_vnd,
        )
        .values(refunded_vnd=Order.refunded_vnd + amount, state=target, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(order)
    if result.rowcount != 1:
        raise ServiceError(None, _("Đơn hàng vừa thay đổi; vui lòng tải lại trang và thử lại."), code="conflict")
    number = (
        db.session.scalar(sa.select(sa.func.max(OrderRefund.refund_no)).where(OrderRefund.order_id == order.id)) or 0
    ) + 1
    stripe_id = None
    if order.method == "card":
        try:
            made = stripe_client.create_refund(
                order.stripe_payment_intent_id or "", amount, order.id, f"order-{order.id}-refund-{number}"
            )
        except stripe.StripeError as error:
            current_app.logger.warning("refund of order %s refused by Stripe: %s", order.id, error)
            raise ServiceError(None, _("Stripe từ chối hoàn tiền: %(msg)s", msg=error.user_message or "")) from error
        stripe_id = made.id
    row = OrderRefund(
        order_id=order.id,
        refund_no=number,
        amount_vnd=amount,
        stripe_refund_id=stripe_id,
        reason=reason,
        actor_id=user.id,
    )
    db.session.add(row)
    db.session.flush()
    _event(order, "refunded", from_state, target, "user", user, note=f"{format_vnd(amount)} {reason}".strip())
    return row


# --------------------------------------------------------------------------- bank transfer (VietQR)


def bank_qr(order: Order) -> Any:
    """The VietQR data of the producer's bank account for this order, or None (no account, or a
    forum fee, which is paid to the platform by card)."""
    if order.producer_id is None or order.kind == "forum_fee":
        return None
    from marketplace.banking import services as banking

    return banking.vietqr_for(order.producer_id, order.amount_vnd, order.reference)


def qr_svg(order: Order) -> bytes | None:
    qr = bank_qr(order)
    if qr is None:
        return None
    from marketplace.banking.vietqr import render_svg

    return render_svg(qr.payload)


def mark_transferred(user: User, order: Order) -> None:
    """The buyer says the transfer is done; the producer confirms receipt (confirm_transfer)."""
    if order.buyer_id != user.id:
        raise NotAllowed()
    if order.state not in PAYABLE_STATES:
        raise _refuse(_("Đơn hàng này không còn chờ thanh toán."))
    if order.transfer_marked_at is not None:
        raise _refuse(_("Bạn đã báo chuyển khoản cho đơn này rồi."))
    if in_flight_attempt(order) is not None:
        raise _refuse(_("Một lần thanh toán bằng thẻ đang xử lý cho đơn này."))
    if bank_qr(order) is None:
        raise _refuse(_("Nhà sản xuất chưa có tài khoản ngân hàng để nhận chuyển khoản."))
    order.transfer_marked_at = utcnow()
    order.method = "bank_transfer"
    db.session.flush()
    _event(order, "transfer_marked", order.state, order.state, "user", user)
    if order.producer is not None:
        from marketplace.inquiries.common import site_path
        from marketplace.inquiries.notifications import notify

        notify(
            order.producer.managers,
            "order_transfer",
            site_path("payments.order", order_id=order.id),
            lambda: _("Người mua báo đã chuyển khoản cho đơn %(ref)s. Hãy kiểm tra và xác nhận.", ref=order.reference),
        )


def confirm_transfer(user: User, order: Order) -> None:
    """The producer (or an organiser) confirms the money arrived on the producer's account."""
    if not (user.is_staff or manages_producer(user, order.producer_id)) or order.kind == "forum_fee":
        raise NotAllowed()
    if in_flight_attempt(order) is not None:
        raise _refuse(_("Một lần thanh toán bằng thẻ đang xử lý cho đơn này."))
    moved = order.state in PAYABLE_STATES and _move(
        order,
        "paid",
        "transfer_confirmed",
        "user",
        user,
        method="bank_transfer",
        paid_at=utcnow(),
        settlement_state="none",
    )
    if not moved:
        raise _refuse(_("Đơn hàng này không còn chờ thanh toán."))


# --------------------------------------------------------------------------- settlement


def settle(user: User, order: Order, settled_on: date | None, reference: str) -> None:
    """An organiser records the bank transfer of the producer's share."""
    if not user.is_staff:
        raise NotAllowed()
    if order.settlement_state != "unsettled":
        raise _refuse(_("Đơn này không có khoản cần chuyển cho nhà sản xuất hoặc đã được đối soát."))
    if order.state not in ("paid", "partially_refunded"):
        raise _refuse(_("Chỉ đối soát được đơn đã thanh toán."))
    reference = clean_line(reference)
    if not reference:
        raise ServiceError("reference", _("Hãy nhập mã giao dịch chuyển khoản."))
    if len(reference) > 100:
        raise ServiceError("reference", _("Mã giao dịch tối đa 100 ký tự."))
    if settled_on is None:
        raise ServiceError("settled_on", _("Hãy nhập ngày chuyển khoản."))
    from marketplace.core.dates import today

    if settled_on > today():
        raise ServiceError("settled_on", _("Ngày chuyển khoản không thể ở tương lai."))
    db.session.flush()
    result = db.session.execute(
        sa.update(Order)
        .where(Order.id == order.id, Order.settlement_state == "unsettled")
        .values(
            settlement_state="settled", settled_on=settled_on, settlement_reference=reference, settled_by_id=user.id
        )
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(order)
    if result.rowcount != 1:
        raise _refuse(_("Đơn này đã được đối soát."))
    _event(order, "settled", order.state, order.state, "user", user, note=f"{settled_on.isoformat()} {reference}")


def payout_vnd(order: Order) -> int:
    """What the platform owes the producer: its share less what was refunded."""
    return max(0, order.producer_share_vnd - order.refunded_vnd)


# --------------------------------------------------------------------------- lists and export


@dataclass(frozen=True)
class OrderFilters:
    state: str = ""
    kind: str = ""
    method: str = ""
    settlement: str = ""
    q: str = ""

    @classmethod
    def from_args(cls, args: Any) -> OrderFilters:
        def pick(name: str, allowed: Iterable[str]) -> str:
            value = str(args.get(name) or "")
            return value if value in allowed else ""

        return cls(
            state=pick("state", ORDER_STATES),
            kind=pick("kind", ORDER_KINDS),
            method=pick("method", METHODS),
            settlement=pick("settlement", SETTLEMENT_STATES),
            q=clean_line(str(args.get("q") or ""))[:40].upper(),
        )


def admin_orders_query(filters: OrderFilters) -> sa.Select:
    stmt = sa.select(Order)
    if filters.state:
        stmt = stmt.where(Order.state == filters.state)
    if filters.kind:
        stmt = stmt.where(Order.kind == filters.kind)
    if filters.method:
        stmt = stmt.where(Order.method == filters.method)
    if filters.settlement:
        stmt = stmt.where(Order.settlement_state == filters.settlement)
    if filters.q:
        stmt = stmt.where(Order.reference.contains(filters.q, autoescape=True))
    return stmt.order_by(Order.created_at.desc(), Order.id.desc())


def user_orders_query(user: User) -> sa.Select:
    managed = sa.select(producer_managers.c.producer_id).where(producer_managers.c.user_id == user.id)
    return (
        sa.select(Order)
        .where(sa.or_(Order.buyer_id == user.id, Order.producer_id.in_(managed)))
        .order_by(Order.created_at.desc(), Order.id.desc())
    )


CSV_COLUMNS = (
    "id",
    "reference",
    "created_at",
    "kind",
    "state",
    "method",
    "buyer_email",
    "producer",
    "amount_vnd",
    "refunded_vnd",
    "producer_share_vnd",
    "platform_fee_vnd",
    "settlement_state",
    "settled_on",
    "settlement_reference",
    "paid_at",
)


def _csv_safe(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def orders_csv(filters: OrderFilters) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield "\ufeff" + buffer.getvalue()
    stmt = admin_orders_query(filters).execution_options(yield_per=500)
    for order in db.session.scalars(stmt):
        buffer.seek(0)
        buffer.truncate()
        producer: Producer | None = order.producer
        writer.writerow(
            [
                order.id,
                order.reference,
                order.created_at.isoformat(),
                order.kind,
                order.state,
                order.method,
                _csv_safe(order.buyer.email),
                _csv_safe(producer.name if producer else ""),
                order.amount_vnd,
                order.refunded_vnd,
                order.producer_share_vnd,
                order.platform_fee_vnd,
                order.settlement_state,
                order.settled_on.isoformat() if order.settled_on else "",
                _csv_safe(order.settlement_reference),
                order.paid_at.isoformat() if order.paid_at else "",
            ]
        )
        yield buffer.getvalue()
