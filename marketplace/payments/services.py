"""Orders and payments: the business rules. Services flush, never commit (the views commit).

States move forward only (TRANSITIONS). Every change goes through `move()`, a conditional UPDATE
(`... WHERE id = :id AND state = :from`) so that two writers (the API answer and a webhook, or 20
copies of one webhook) cannot both apply it: exactly one wins, records an OrderEvent and queues the
receipt e-mail. Amounts are computed here from the quote, the producer's terms or the forum fee;
nothing posted by a browser is ever an amount to charge.

Card payments and Stripe's webhooks are in cards.py, the order lists and the CSV in listing.py.

Public for other features:
- `create_forum_fee_order(registration) -> Order` (idempotent: one open fee order per registration)
- `fee_paid(registration_id) -> bool`
"""

from __future__ import annotations

import re
import secrets
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
    OPEN_STATES,
    Order,
    OrderEvent,
    OrderRefund,
    OrderTerms,
    PaymentAttempt,
)
from marketplace.producers.models import producer_managers

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
PAYMENT_METHOD_ID = re.compile(r"^pm_[A-Za-z0-9_]{1,96}$")


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
    add_event(
        order, "created", order.state, order.state, "user" if order.kind != "forum_fee" else "system", order.buyer
    )
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


def add_event(
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


def move(
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
    add_event(order, action, from_state, to_state, cause, actor, stripe_event_id, note)
    if to_state == "paid":
        _announce_paid(order)
    return True


def refusal(message: str) -> ServiceError:
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


def latest_attempt(order: Order) -> PaymentAttempt | None:
    return db.session.scalar(
        sa.select(PaymentAttempt).where(PaymentAttempt.order_id == order.id).order_by(PaymentAttempt.attempt_no.desc())
    )


def in_flight_attempt(order: Order) -> PaymentAttempt | None:
    """The card attempt still being processed (a new payment or a cancel must wait for it)."""
    latest = latest_attempt(order)
    return latest if latest is not None and latest.status in IN_FLIGHT else None


def method_label(method: str) -> str:
    return {"card": _("Thẻ (Stripe)"), "bank_transfer": _("Chuyển khoản (VietQR)")}.get(method, _("Chưa chọn"))


def cancel(user: User, order: Order) -> None:
    if not (order.buyer_id == user.id or user.is_staff):
        raise NotAllowed()
    if order.state not in PAYABLE_STATES:
        raise refusal(_("Không thể huỷ đơn ở trạng thái này."))
    if in_flight_attempt(order) is not None:
        raise refusal(_("Một lần thanh toán bằng thẻ đang xử lý; không thể huỷ đơn."))
    if order.transfer_marked_at is not None and not user.is_staff:
        raise refusal(_("Bạn đã báo chuyển khoản; hãy liên hệ nhà sản xuất hoặc ban tổ chức để huỷ."))
    if not move(order, "cancelled", "cancelled", "user", user):
        raise refusal(_("Không thể huỷ đơn ở trạng thái này."))


# --------------------------------------------------------------------------- refunds


def refund(user: User, order: Order, amount_vnd: int | None, reason: str = "") -> OrderRefund:
    """Full (amount None) or partial refund by the order's producer or an organiser."""
    if not can_refund(user, order):
        raise NotAllowed()
    if order.state not in ("paid", "partially_refunded"):
        raise refusal(_("Chỉ hoàn tiền được cho đơn đã thanh toán."))
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
    add_event(order, "refunded", from_state, target, "user", user, note=f"{format_vnd(amount)} {reason}".strip())
    return row


# --------------------------------------------------------------------------- bank transfer (VietQR)


def bank_qr(order: Order) -> Any:
    """The VietQR data of the producer's bank account for this order, or None (no account, or a
    forum fee, which is paid to the platform by card)."""
    if order.producer_id is None or order.kind == "forum_fee":
        return None
    from marketplace.banking import services as banking

    return banking.vietqr_for(order.producer_id, order.amount_vnd, order.reference)


def producer_can_be_paid(producer_id: int) -> bool:
    """Whether a buyer has a way to pay this producer now: cards are on, or it has a bank account
    for VietQR transfers. Without either an order could only wait (it becomes payable as soon as
    the producer registers an account), so the quote page says so instead of offering it."""
    if stripe_client.enabled():
        return True
    from marketplace.banking import services as banking

    return banking.account_for_producer(producer_id) is not None


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
        raise refusal(_("Đơn hàng này không còn chờ thanh toán."))
    if order.transfer_marked_at is not None:
        raise refusal(_("Bạn đã báo chuyển khoản cho đơn này rồi."))
    if in_flight_attempt(order) is not None:
        raise refusal(_("Một lần thanh toán bằng thẻ đang xử lý cho đơn này."))
    if bank_qr(order) is None:
        raise refusal(_("Nhà sản xuất chưa có tài khoản ngân hàng để nhận chuyển khoản."))
    order.transfer_marked_at = utcnow()
    order.method = "bank_transfer"
    db.session.flush()
    add_event(order, "transfer_marked", order.state, order.state, "user", user)
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
        raise refusal(_("Một lần thanh toán bằng thẻ đang xử lý cho đơn này."))
    moved = order.state in PAYABLE_STATES and move(
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
        raise refusal(_("Đơn hàng này không còn chờ thanh toán."))


# --------------------------------------------------------------------------- settlement


def settle(user: User, order: Order, settled_on: date | None, reference: str) -> None:
    """An organiser records the bank transfer of the producer's share."""
    if not user.is_staff:
        raise NotAllowed()
    if order.settlement_state != "unsettled":
        raise refusal(_("Đơn này không có khoản cần chuyển cho nhà sản xuất hoặc đã được đối soát."))
    if order.state not in ("paid", "partially_refunded"):
        raise refusal(_("Chỉ đối soát được đơn đã thanh toán."))
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
        raise refusal(_("Đơn này đã được đối soát."))
    add_event(order, "settled", order.state, order.state, "user", user, note=f"{settled_on.isoformat()} {reference}")


def payout_vnd(order: Order) -> int:
    """What the platform owes the producer: its share less what was refunded."""
    return max(0, order.producer_share_vnd - order.refunded_vnd)
