"""Orders and their payments: Stripe card payments and VietQR bank transfers.

An `Order` is a sample or a deposit on an accepted quote, or a forum registration fee. Its amount
is computed on the server (integer VND). Its state moves forward only (services.TRANSITIONS) and
every change is an `OrderEvent` naming its cause. A card payment is a numbered `PaymentAttempt`
(unique on order and number, created before Stripe is called); each Stripe webhook event id is
stored once in `StripeEvent`, in the same transaction as the order change it causes. `OrderRefund`
rows record refunds; `OrderTerms` holds what the producer sets on a quote (deposit share, sample
price) without touching the inquiries tables.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import TimestampMixin, utcnow
from marketplace.extensions import db
from marketplace.forums import models as _forum_models  # noqa: F401  (forum_registrations on the metadata)

ORDER_KINDS = ("sample", "deposit", "forum_fee")
ORDER_STATES = ("pending", "failed", "paid", "partially_refunded", "refunded", "cancelled")
# States in which an order still counts (a new one for the same subject is refused).
OPEN_STATES = ("pending", "failed", "paid", "partially_refunded")
METHODS = ("card", "bank_transfer")
# "none": nothing to pay out (a bank transfer went straight to the producer; a forum fee is the platform's).
SETTLEMENT_STATES = ("unsettled", "settled", "none")
ATTEMPT_STATUSES = ("creating", "requires_action", "processing", "succeeded", "failed")

_OPEN_SQL = "state IN ('pending', 'failed', 'paid', 'partially_refunded')"


class OrderTerms(TimestampMixin, db.Model):
    """The producer's payment terms on one quote: deposit share in percent and sample price."""

    __tablename__ = "payment_order_terms"
    __table_args__ = (
        sa.CheckConstraint("deposit_percent IS NULL OR (deposit_percent BETWEEN 1 AND 100)", name="deposit_percent"),
        sa.CheckConstraint("sample_price_vnd IS NULL OR sample_price_vnd > 0", name="sample_price"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(sa.ForeignKey("quotes.id", ondelete="CASCADE"), unique=True)
    deposit_percent: Mapped[int | None]
    sample_price_vnd: Mapped[int | None] = mapped_column(sa.BigInteger)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    quote = relationship("Quote")


class Order(TimestampMixin, db.Model):
    __tablename__ = "payment_orders"
    __table_args__ = (
        sa.CheckConstraint("amount_vnd > 0", name="amount_positive"),
        sa.CheckConstraint("refunded_vnd >= 0 AND refunded_vnd <= amount_vnd", name="refund_within_amount"),
        sa.CheckConstraint("producer_share_vnd + platform_fee_vnd = amount_vnd", name="shares_add_up"),
        # One open order of a kind per quote, and one open fee order per forum registration,
        # whatever the application does (two clicks, two tabs).
        sa.Index(
            "uq_payment_orders_open_quote_kind",
            "quote_id",
            "kind",
            unique=True,
            sqlite_where=sa.text(f"quote_id IS NOT NULL AND {_OPEN_SQL}"),
            postgresql_where=sa.text(f"quote_id IS NOT NULL AND {_OPEN_SQL}"),
        ),
        sa.Index(
            "uq_payment_orders_open_registration",
            "forum_registration_id",
            unique=True,
            sqlite_where=sa.text(f"forum_registration_id IS NOT NULL AND {_OPEN_SQL}"),
            postgresql_where=sa.text(f"forum_registration_id IS NOT NULL AND {_OPEN_SQL}"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Short human code: the transfer content in VietQR tag 62 and on receipts.
    reference: Mapped[str] = mapped_column(sa.String(20), unique=True)
    buyer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    producer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("producers.id", ondelete="SET NULL"), index=True)
    quote_id: Mapped[int | None] = mapped_column(sa.ForeignKey("quotes.id", ondelete="SET NULL"), index=True)
    forum_registration_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("forum_registrations.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(12), index=True)
    description: Mapped[str] = mapped_column(sa.String(300), default="")
    amount_vnd: Mapped[int] = mapped_column(sa.BigInteger)
    producer_share_vnd: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    platform_fee_vnd: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    refunded_vnd: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    state: Mapped[str] = mapped_column(sa.String(20), default="pending", index=True)
    method: Mapped[str] = mapped_column(sa.String(16), default="", index=True)  # '' until the buyer chooses
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    paid_at: Mapped[datetime | None]
    transfer_marked_at: Mapped[datetime | None]  # the buyer says the bank transfer is done
    settlement_state: Mapped[str] = mapped_column(sa.String(12), default="unsettled", index=True)
    settled_on: Mapped[date | None]
    settlement_reference: Mapped[str] = mapped_column(sa.String(100), default="")
    settled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    buyer = relationship("User", foreign_keys=[buyer_id])
    producer = relationship("Producer")
    quote = relationship("Quote")
    forum_registration = relationship("Registration")
    settled_by = relationship("User", foreign_keys=[settled_by_id])
    events = relationship("OrderEvent", back_populates="order", order_by="OrderEvent.id")
    attempts = relationship("PaymentAttempt", back_populates="order", order_by="PaymentAttempt.attempt_no")
    refunds = relationship("OrderRefund", back_populates="order", order_by="OrderRefund.refund_no")

    @property
    def remaining_vnd(self) -> int:
        return self.amount_vnd - self.refunded_vnd


class OrderEvent(db.Model):
    """One thing that happened to an order: a state change (from_state -> to_state) or a note
    (from_state == to_state), with its cause: 'user', 'stripe_api', 'webhook', 'system'."""

    __tablename__ = "payment_order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("payment_orders.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(sa.String(30))
    from_state: Mapped[str] = mapped_column(sa.String(20))
    to_state: Mapped[str] = mapped_column(sa.String(20))
    cause: Mapped[str] = mapped_column(sa.String(20))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    stripe_event_id: Mapped[str | None] = mapped_column(sa.String(100))
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    order = relationship("Order", back_populates="events")
    actor = relationship("User")


class PaymentAttempt(TimestampMixin, db.Model):
    """One try to charge a card. Inserted (and committed) before Stripe is called, so that a
    second click finds it; its number makes the idempotency key `order-<id>-attempt-<n>`."""

    __tablename__ = "payment_attempts"
    __table_args__ = (sa.UniqueConstraint("order_id", "attempt_no", name="uq_payment_attempts_order_attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("payment_orders.id", ondelete="CASCADE"), index=True)
    attempt_no: Mapped[int]
    payment_method_id: Mapped[str] = mapped_column(sa.String(100))
    payment_intent_id: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    client_secret: Mapped[str | None] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(20), default="creating")
    error: Mapped[str] = mapped_column(sa.String(500), default="")

    order = relationship("Order", back_populates="attempts")

    @property
    def idempotency_key(self) -> str:
        return f"order-{self.order_id}-attempt-{self.attempt_no}"


class OrderRefund(db.Model):
    __tablename__ = "payment_refunds"
    __table_args__ = (
        sa.UniqueConstraint("order_id", "refund_no", name="uq_payment_refunds_order_no"),
        sa.CheckConstraint("amount_vnd > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("payment_orders.id", ondelete="CASCADE"), index=True)
    refund_no: Mapped[int]
    amount_vnd: Mapped[int] = mapped_column(sa.BigInteger)
    stripe_refund_id: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    reason: Mapped[str] = mapped_column(sa.String(300), default="")
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    order = relationship("Order", back_populates="refunds")
    actor = relationship("User")


class StripeEvent(db.Model):
    """Each webhook event id once: inserted in the transaction that applies the event."""

    __tablename__ = "payment_stripe_events"

    event_id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(60))
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payment_orders.id", ondelete="SET NULL"), index=True)
    outcome: Mapped[str] = mapped_column(sa.String(30), default="")  # applied | ignored | unknown_order ...
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
