"""Buyer inquiries, requests for quotation (RFQ), quotes, message threads, notifications, reports.

Amounts are integer VND in BigInteger columns; datetimes are aware UTC; dates (deadline,
needed-by, valid-until) are calendar days in Hà Nội.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import TimestampMixin, utcnow
from marketplace.extensions import db

BUYER_KINDS = ("supermarket", "horeca", "exporter", "distributor", "retailer", "agency", "individual")
INQUIRY_STATUSES = ("open", "answered", "closed")
RFQ_STATUSES = ("open", "closed", "awarded", "cancelled")
RFQ_VISIBILITIES = ("public", "invited")
QUOTE_STATUSES = ("submitted", "accepted", "declined", "withdrawn")
EMAIL_MODES = ("instant", "daily", "off")
REPORT_STATUSES = ("open", "hidden", "dismissed")


class BuyerProfile(TimestampMixin, db.Model):
    """Who the buyer is: shown to the producers they contact."""

    __tablename__ = "buyer_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    organisation: Mapped[str] = mapped_column(sa.String(200), default="")
    kind: Mapped[str] = mapped_column(sa.String(20), default="individual")
    district: Mapped[str] = mapped_column(sa.String(80), default="")
    contact_name: Mapped[str] = mapped_column(sa.String(120), default="")
    phone: Mapped[str] = mapped_column(sa.String(30), default="")

    user = relationship("User")


class Inquiry(db.Model):
    """A buyer's 1:1 question to one producer, usually about one product."""

    __tablename__ = "inquiries"

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    producer_id: Mapped[int] = mapped_column(sa.ForeignKey("producers.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(sa.ForeignKey("products.id", ondelete="SET NULL"), index=True)
    quantity: Mapped[int] = mapped_column(sa.BigInteger)
    unit: Mapped[str] = mapped_column(sa.String(30), default="")
    target_price_vnd: Mapped[int | None] = mapped_column(sa.BigInteger)
    needed_by: Mapped[date | None]
    delivery_district: Mapped[str] = mapped_column(sa.String(80), default="")
    message: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(12), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    first_response_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    buyer = relationship("User")
    producer = relationship("Producer")
    product = relationship("Product")
    thread = relationship("Thread", back_populates="inquiry", uselist=False)


class Rfq(db.Model):
    """A request for quotation: one buyer, many producers answer with quotes."""

    __tablename__ = "rfqs"

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    details: Mapped[str] = mapped_column(sa.Text, default="")
    ocop_group: Mapped[str | None] = mapped_column(sa.String(20))
    quantity: Mapped[int] = mapped_column(sa.BigInteger)
    unit: Mapped[str] = mapped_column(sa.String(30), default="")
    min_stars: Mapped[int] = mapped_column(default=0)
    target_price_vnd: Mapped[int | None] = mapped_column(sa.BigInteger)
    deadline: Mapped[date] = mapped_column(index=True)
    delivery_district: Mapped[str] = mapped_column(sa.String(80), default="")
    visibility: Mapped[str] = mapped_column(sa.String(10), default="public")
    status: Mapped[str] = mapped_column(sa.String(12), default="open", index=True)
    max_quotes: Mapped[int] = mapped_column(default=10)
    # Counted with a conditional UPDATE so that two producers cannot both take the last place.
    quote_count: Mapped[int] = mapped_column(default=0)
    hidden: Mapped[bool] = mapped_column(default=False)
    hidden_reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    closed_at: Mapped[datetime | None]

    buyer = relationship("User")
    invitations = relationship("RfqInvitation", back_populates="rfq", cascade="all, delete-orphan")
    quotes = relationship("Quote", back_populates="rfq", order_by="Quote.id")


class RfqInvitation(db.Model):
    __tablename__ = "rfq_invitations"
    __table_args__ = (sa.UniqueConstraint("rfq_id", "producer_id", name="uq_rfq_invitations_rfq_producer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rfq_id: Mapped[int] = mapped_column(sa.ForeignKey("rfqs.id", ondelete="CASCADE"), index=True)
    producer_id: Mapped[int] = mapped_column(sa.ForeignKey("producers.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    responded_at: Mapped[datetime | None]  # quoted or declined: counts for responsiveness
    declined: Mapped[bool] = mapped_column(default=False)

    rfq = relationship("Rfq", back_populates="invitations")
    producer = relationship("Producer")


class Quote(db.Model):
    __tablename__ = "quotes"
    __table_args__ = (
        sa.UniqueConstraint("rfq_id", "producer_id", name="uq_quotes_rfq_producer"),
        # At most one accepted quote per RFQ, whatever the application does.
        sa.Index(
            "uq_quotes_one_accepted",
            "rfq_id",
            unique=True,
            sqlite_where=sa.text("status = 'accepted'"),
            postgresql_where=sa.text("status = 'accepted'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rfq_id: Mapped[int] = mapped_column(sa.ForeignKey("rfqs.id", ondelete="CASCADE"), index=True)
    producer_id: Mapped[int] = mapped_column(sa.ForeignKey("producers.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    unit_price_vnd: Mapped[int] = mapped_column(sa.BigInteger)
    moq: Mapped[int | None] = mapped_column(sa.BigInteger)
    lead_time_days: Mapped[int] = mapped_column(default=0)
    valid_until: Mapped[date]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    sample_offer: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(sa.String(12), default="submitted", index=True)
    decision_note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]

    rfq = relationship("Rfq", back_populates="quotes")
    producer = relationship("Producer")
    author = relationship("User")
    thread = relationship("Thread", back_populates="quote", uselist=False)


class Thread(db.Model):
    """The conversation of one inquiry or one quote, between the buyer and the producer's managers."""

    __tablename__ = "threads"
    __table_args__ = (
        sa.CheckConstraint(
            "(inquiry_id IS NOT NULL AND quote_id IS NULL) OR (inquiry_id IS NULL AND quote_id IS NOT NULL)",
            name="one_subject",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inquiry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inquiries.id", ondelete="CASCADE"), unique=True)
    quote_id: Mapped[int | None] = mapped_column(sa.ForeignKey("quotes.id", ondelete="CASCADE"), unique=True)
    buyer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    producer_id: Mapped[int] = mapped_column(sa.ForeignKey("producers.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_at: Mapped[datetime | None]

    inquiry = relationship("Inquiry", back_populates="thread")
    quote = relationship("Quote", back_populates="thread")
    buyer = relationship("User")
    producer = relationship("Producer")
    messages = relationship("Message", back_populates="thread", order_by="Message.id", cascade="all, delete-orphan")


class ThreadRead(db.Model):
    """How far a user has read a thread (for unread counts)."""

    __tablename__ = "thread_reads"

    thread_id: Mapped[int] = mapped_column(sa.ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    last_read_message_id: Mapped[int] = mapped_column(default=0)


class Message(db.Model):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(sa.ForeignKey("threads.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    body: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    hidden: Mapped[bool] = mapped_column(default=False)
    hidden_reason: Mapped[str] = mapped_column(sa.Text, default="")

    thread = relationship("Thread", back_populates="messages")
    author = relationship("User")
    attachments = relationship(
        "Attachment", back_populates="message", order_by="Attachment.id", cascade="all, delete-orphan", lazy="selectin"
    )


class Attachment(db.Model):
    """An image or PDF stored under a random name outside the public media folder."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(sa.ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    stored_name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    original_name: Mapped[str] = mapped_column(sa.String(200), default="")
    content_type: Mapped[str] = mapped_column(sa.String(60))
    size: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    message = relationship("Message", back_populates="attachments")

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class Notification(db.Model):
    """In-app notice; e-mailed by `flask notifications send` (instantly or in a daily digest)."""

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    text: Mapped[str] = mapped_column(sa.String(500))
    link: Mapped[str] = mapped_column(sa.String(300), default="")  # a path inside the site
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    # pending -> sent (queued in the mail outbox, same transaction) | skipped
    email_state: Mapped[str] = mapped_column(sa.String(10), default="pending", index=True)
    emailed_at: Mapped[datetime | None]
    mail_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outgoing_mail.id", ondelete="SET NULL"))

    user = relationship("User")


class NotificationSetting(db.Model):
    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    email_mode: Mapped[str] = mapped_column(sa.String(10), default="instant")
    last_digest_on: Mapped[date | None]


class Report(db.Model):
    """A party reports a message; an organiser hides it or dismisses the report."""

    __tablename__ = "message_reports"
    __table_args__ = (sa.UniqueConstraint("message_id", "reporter_id", name="uq_message_reports_message_reporter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(sa.ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    reporter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(12), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    handled_at: Mapped[datetime | None]

    message = relationship("Message")
    reporter = relationship("User", foreign_keys=[reporter_id])
    handled_by = relationship("User", foreign_keys=[handled_by_id])
