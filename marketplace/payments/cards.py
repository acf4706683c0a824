"""Card payments through Stripe and Stripe's webhooks (the rules of orders are in services.py).

An attempt row is committed BEFORE Stripe is called: the (order, attempt_no) unique key and the
idempotency key per attempt make a double click one PaymentIntent. The webhook stores each event
once, in the order's transaction, and moves the order through `services.move()` like any change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import stripe
from flask import current_app
from flask_babel import gettext as _

from marketplace.accounts.models import User
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.core.money import format_vnd
from marketplace.extensions import db
from marketplace.payments import stripe_client
from marketplace.payments.models import Order, PaymentAttempt, StripeEvent
from marketplace.payments.services import (
    PAYABLE_STATES,
    PAYMENT_METHOD_ID,
    STALE_CREATING,
    add_event,
    latest_attempt,
    move,
    refusal,
)


@dataclass(frozen=True)
class AttemptStart:
    attempt: PaymentAttempt
    call_stripe: bool  # False: an attempt is already in flight; report its state


def start_attempt(user: User, order: Order, payment_method_id: str) -> AttemptStart:
    """Find the attempt in flight (a double click) or add the next one. The caller commits the
    new row BEFORE calling Stripe, so the (order, attempt_no) unique key guards every copy."""
    if order.buyer_id != user.id:
        raise NotAllowed()
    if not stripe_client.enabled():
        raise ServiceError(None, _("Thanh toán bằng thẻ đang tắt."), code="payments_off")
    payment_method_id = (payment_method_id or "").strip()
    if not PAYMENT_METHOD_ID.match(payment_method_id):
        raise ServiceError("payment_method", _("Thông tin thẻ không hợp lệ. Vui lòng nhập lại."))
    latest = latest_attempt(order)
    if latest is not None:
        if latest.status in ("processing", "succeeded"):
            return AttemptStart(latest, call_stripe=False)
        if latest.status == "creating":
            stale = latest.updated_at < utcnow() - STALE_CREATING and latest.payment_intent_id is None
            return AttemptStart(latest, call_stripe=stale)  # a stale one is retried with the same key
        if latest.status == "requires_action" and latest.payment_method_id == payment_method_id:
            return AttemptStart(latest, call_stripe=False)
    if order.state not in PAYABLE_STATES:
        raise refusal(_("Đơn hàng này không còn chờ thanh toán."))
    if order.transfer_marked_at is not None:
        raise refusal(_("Bạn đã báo chuyển khoản cho đơn này; vui lòng chờ nhà sản xuất xác nhận."))
    attempt = PaymentAttempt(
        order_id=order.id,
        attempt_no=(latest.attempt_no + 1) if latest else 1,
        payment_method_id=payment_method_id,
        status="creating",
    )
    db.session.add(attempt)
    db.session.flush()
    return AttemptStart(attempt, call_stripe=True)


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
        move(order, "failed", "payment_failed", "stripe_api", note=attempt.error)
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
        move(order, "failed", "payment_failed", "stripe_api", note=attempt.error)
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
            add_event(
                order, "amount_mismatch", order.state, order.state, cause, None, stripe_event_id, str(intent.get("id"))
            )
            return "amount_mismatch"
        attempt.status = "succeeded"
        attempt.error = ""
        db.session.flush()
        moved = move(
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
        moved = move(order, "failed", "payment_failed", cause, stripe_event_id=stripe_event_id, note=str(error))
        return "applied" if moved else "ignored"
    return "ignored"


def _intent_matches(order: Order, intent: dict) -> bool:
    return int(intent.get("amount") or 0) == order.amount_vnd and str(intent.get("currency", "")).lower() == "vnd"


def sync_order(order: Order) -> None:
    """Ask Stripe for the true state of the attempt in flight (the receipt page)."""
    if order.state not in PAYABLE_STATES or not stripe_client.enabled():
        return
    attempt = latest_attempt(order)
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
        add_event(order, "webhook_ignored", order.state, order.state, "webhook", None, event_id, str(obj.get("status")))
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
        add_event(order, "webhook_ignored", order.state, order.state, "webhook", None, event_id, "charge.refunded")
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
    add_event(order, "refunded", from_state, target, "webhook", None, event_id, format_vnd(total - before))
    return "applied", order
