"""Audit log of organiser actions, the organisers' targets and sent expiry reminders."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import utcnow
from marketplace.extensions import db


class AuditLog(db.Model):
    """Who did what to which object, why and when."""

    __tablename__ = "audit_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(sa.String(40), index=True)  # e.g. certificate.verify
    object_type: Mapped[str] = mapped_column(sa.String(40), default="")
    object_id: Mapped[int | None]
    object_label: Mapped[str] = mapped_column(sa.String(300), default="")
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    actor = relationship("User")


class DashboardTarget(db.Model):
    """A programme target, e.g. 1,000 products rated 3 stars or more."""

    __tablename__ = "dashboard_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(40), unique=True)
    min_stars: Mapped[int] = mapped_column(default=3)
    goal: Mapped[int] = mapped_column(default=1000)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CertificateReminder(db.Model):
    """One expiry reminder sent: never the same (certificate, expiry date, days) twice."""

    __tablename__ = "certificate_reminders"
    __table_args__ = (sa.UniqueConstraint("certificate_id", "expires_on", "days", name="uq_certificate_reminders"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(sa.ForeignKey("certificates.id", ondelete="CASCADE"), index=True)
    expires_on: Mapped[date]
    days: Mapped[int]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class ListingReport(db.Model):
    """A logged-in user reports a product listing; an organiser hides it or dismisses the report."""

    __tablename__ = "listing_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), index=True)
    reporter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(12), default="open", index=True)  # open|hidden|dismissed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    handled_at: Mapped[datetime | None]

    product = relationship("Product")
    reporter = relationship("User", foreign_keys=[reporter_id])
