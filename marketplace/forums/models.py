"""Trade-connection forums ("diễn đàn kết nối giao thương").

An organiser sets up a `Forum` with `ForumSession`s (a day, start/end in Hà Nội time, meeting
length, one optional break); the sessions are cut into `ForumSlot`s (UTC start/end). Buyers and
producers `Registration`s are approved or refused by organisers; each registration says which
sessions it is available in (`registration_sessions`) and, for producers, which products it
brings (`registration_products`).

A `Meeting` joins two registrations: a request (requested → accepted / declined / expired /
cancelled) or a recommendation from the matching module (status "recommended"; the scheduler may
place it when both sides opted in). A scheduled meeting has a slot and a table; the database
refuses two meetings at one table in one slot (`uq_forum_meetings_slot_table`) and a participant in
two meetings in one slot (`MeetingSeat`, one row per participant of a placed meeting, unique on
slot and registration). `MeetingOutcome` is each side's record after the meeting.
"""

from __future__ import annotations

from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import TimestampMixin, utcnow
from marketplace.extensions import db

FORUM_STATUSES = ("draft", "open", "closed", "finished")
PARTICIPANT_KINDS = ("buyer", "producer")
REGISTRATION_STATUSES = ("pending", "approved", "refused", "cancelled")
MEETING_STATUSES = ("requested", "accepted", "declined", "expired", "cancelled", "recommended", "released")
MEETING_ORIGINS = ("request", "recommended")
OUTCOME_RESULTS = ("held", "no_show", "negotiating", "agreement")

registration_sessions = sa.Table(
    "forum_registration_sessions",
    db.metadata,
    sa.Column("registration_id", sa.ForeignKey("forum_registrations.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("session_id", sa.ForeignKey("forum_sessions.id", ondelete="CASCADE"), primary_key=True, index=True),
)

registration_products = sa.Table(
    "forum_registration_products",
    db.metadata,
    sa.Column("registration_id", sa.ForeignKey("forum_registrations.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("product_id", sa.ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Forum(TimestampMixin, db.Model):
    __tablename__ = "forums"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    venue: Mapped[str] = mapped_column(sa.String(300), default="")
    district: Mapped[str] = mapped_column(sa.String(80), default="")
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    # Registrations are accepted until this moment (UTC).
    registration_deadline: Mapped[datetime]
    # Pending meeting requests expire at this moment (UTC); None: at the registration deadline.
    request_deadline: Mapped[datetime | None]
    tables: Mapped[int] = mapped_column(default=20)
    max_meetings_per_participant: Mapped[int] = mapped_column(default=8)
    capacity_buyers: Mapped[int] = mapped_column(default=100)
    capacity_producers: Mapped[int] = mapped_column(default=100)
    fee_vnd: Mapped[int] = mapped_column(sa.BigInteger, default=0)  # 0: free
    status: Mapped[str] = mapped_column(sa.String(12), default="draft", index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # When the scheduler last ran (None: never).
    scheduled_at: Mapped[datetime | None]

    sessions = relationship(
        "ForumSession", back_populates="forum", cascade="all, delete-orphan", order_by="ForumSession.starts_at"
    )
    slots = relationship(
        "ForumSlot", back_populates="forum", cascade="all, delete-orphan", order_by="ForumSlot.starts_at"
    )
    registrations = relationship("Registration", back_populates="forum", cascade="all, delete-orphan")
    created_by = relationship("User")


class ForumSession(db.Model):
    __tablename__ = "forum_sessions"
    __table_args__ = (sa.CheckConstraint("meeting_minutes BETWEEN 15 AND 30", name="meeting_minutes"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    forum_id: Mapped[int] = mapped_column(sa.ForeignKey("forums.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    day: Mapped[date]
    # Local (Asia/Ho_Chi_Minh) wall-clock times of the session and its optional break.
    starts_at: Mapped[time]
    ends_at: Mapped[time]
    meeting_minutes: Mapped[int] = mapped_column(default=20)
    break_starts_at: Mapped[time | None]
    break_ends_at: Mapped[time | None]

    forum = relationship("Forum", back_populates="sessions")
    slots = relationship("ForumSlot", back_populates="session", order_by="ForumSlot.starts_at")


class ForumSlot(db.Model):
    """One meeting time of a session; generated from the session, never edited by hand."""

    __tablename__ = "forum_slots"
    __table_args__ = (sa.UniqueConstraint("session_id", "position", name="uq_forum_slots_session_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    forum_id: Mapped[int] = mapped_column(sa.ForeignKey("forums.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("forum_sessions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]  # 0, 1, 2 ... within the session
    starts_at: Mapped[datetime]  # UTC
    ends_at: Mapped[datetime]  # UTC

    forum = relationship("Forum", back_populates="slots")
    session = relationship("ForumSession", back_populates="slots")


class Registration(db.Model):
    __tablename__ = "forum_registrations"
    __table_args__ = (sa.UniqueConstraint("forum_id", "user_id", name="uq_forum_registrations_forum_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    forum_id: Mapped[int] = mapped_column(sa.ForeignKey("forums.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(12))  # buyer | producer
    producer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("producers.id", ondelete="SET NULL"), index=True)
    organisation: Mapped[str] = mapped_column(sa.String(200), default="")
    contact_name: Mapped[str] = mapped_column(sa.String(120), default="")
    phone: Mapped[str] = mapped_column(sa.String(30), default="")
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    offers: Mapped[str] = mapped_column(sa.Text, default="")  # what they offer (free text)
    seeks: Mapped[str] = mapped_column(sa.Text, default="")  # what they look for (free text)
    groups: Mapped[str] = mapped_column(sa.String(200), default="")  # OCOP group codes, comma-separated
    opt_in_recommended: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(sa.String(12), default="pending", index=True)
    refusal_reason: Mapped[str] = mapped_column(sa.Text, default="")
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # The code printed as a QR on the agenda and scanned (or typed) at the door.
    checkin_code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    checked_in_at: Mapped[datetime | None]
    checked_in_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    forum = relationship("Forum", back_populates="registrations")
    user = relationship("User", foreign_keys=[user_id])
    producer = relationship("Producer")
    decided_by = relationship("User", foreign_keys=[decided_by_id])
    checked_in_by = relationship("User", foreign_keys=[checked_in_by_id])
    sessions = relationship("ForumSession", secondary=registration_sessions, order_by="ForumSession.starts_at")
    products = relationship("Product", secondary=registration_products)


class Meeting(db.Model):
    __tablename__ = "forum_meetings"
    __table_args__ = (
        sa.UniqueConstraint("forum_id", "requester_id", "invitee_id", name="uq_forum_meetings_pair"),
        # One meeting per table per slot, whatever the application does.
        sa.UniqueConstraint("slot_id", "table_no", name="uq_forum_meetings_slot_table"),
        sa.CheckConstraint("requester_id <> invitee_id", name="distinct_sides"),
        sa.CheckConstraint("(slot_id IS NULL) = (table_no IS NULL)", name="slot_with_table"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    forum_id: Mapped[int] = mapped_column(sa.ForeignKey("forums.id", ondelete="CASCADE"), index=True)
    requester_id: Mapped[int] = mapped_column(sa.ForeignKey("forum_registrations.id", ondelete="CASCADE"), index=True)
    invitee_id: Mapped[int] = mapped_column(sa.ForeignKey("forum_registrations.id", ondelete="CASCADE"), index=True)
    origin: Mapped[str] = mapped_column(sa.String(12), default="request")  # request | recommended
    status: Mapped[str] = mapped_column(sa.String(12), default="requested", index=True)
    message: Mapped[str] = mapped_column(sa.Text, default="")
    score: Mapped[float] = mapped_column(default=0.0)  # match score in [0, 1]
    reasons: Mapped[str] = mapped_column(sa.Text, default="")  # one reason per line
    expires_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]
    slot_id: Mapped[int | None] = mapped_column(sa.ForeignKey("forum_slots.id", ondelete="SET NULL"), index=True)
    table_no: Mapped[int | None]
    locked: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    forum = relationship("Forum")
    requester = relationship("Registration", foreign_keys=[requester_id])
    invitee = relationship("Registration", foreign_keys=[invitee_id])
    slot = relationship("ForumSlot")
    seats = relationship("MeetingSeat", back_populates="meeting", cascade="all, delete-orphan")
    outcomes = relationship("MeetingOutcome", back_populates="meeting", cascade="all, delete-orphan")


class MeetingSeat(db.Model):
    """A participant's place in a scheduled meeting: nobody sits in two meetings in one slot.

    Written and deleted together with `Meeting.slot_id` (two rows per placed meeting).
    """

    __tablename__ = "forum_meeting_seats"
    __table_args__ = (
        sa.UniqueConstraint("slot_id", "registration_id", name="uq_forum_meeting_seats_slot_registration"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("forum_meetings.id", ondelete="CASCADE"), index=True)
    slot_id: Mapped[int] = mapped_column(sa.ForeignKey("forum_slots.id", ondelete="CASCADE"), index=True)
    registration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("forum_registrations.id", ondelete="CASCADE"), index=True
    )

    meeting = relationship("Meeting", back_populates="seats")


class MeetingOutcome(db.Model):
    __tablename__ = "forum_meeting_outcomes"
    __table_args__ = (
        sa.UniqueConstraint("meeting_id", "registration_id", name="uq_forum_meeting_outcomes_meeting_registration"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("forum_meetings.id", ondelete="CASCADE"), index=True)
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("forum_registrations.id", ondelete="CASCADE"))
    result: Mapped[str] = mapped_column(sa.String(12))  # held | no_show | negotiating | agreement
    deal_value_vnd: Mapped[int | None] = mapped_column(sa.BigInteger)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    meeting = relationship("Meeting", back_populates="outcomes")
    registration = relationship("Registration")
