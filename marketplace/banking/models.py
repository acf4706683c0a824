"""A producer's bank account for VietQR transfers, and the record of every change to it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import TimestampMixin, utcnow
from marketplace.extensions import db

CHANGE_ACTIONS = ("created", "updated", "removed")


class ProducerBankAccount(TimestampMixin, db.Model):
    """The one account a producer receives bank transfers on (unique per producer).

    `holder_name` is what the manager typed (NFC); `holder_name_ascii` is the same name upper-cased
    without diacritics, as banks print it and as the payer's banking app shows it."""

    __tablename__ = "producer_bank_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(sa.ForeignKey("producers.id", ondelete="CASCADE"), unique=True)
    bank_bin: Mapped[str] = mapped_column(sa.String(6))
    account_number: Mapped[str] = mapped_column(sa.String(19))
    holder_name: Mapped[str] = mapped_column(sa.String(100))
    holder_name_ascii: Mapped[str] = mapped_column(sa.String(100))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    producer = relationship("Producer")
    created_by = relationship("User", foreign_keys=[created_by_id])
    updated_by = relationship("User", foreign_keys=[updated_by_id])


class BankAccountChange(db.Model):
    """Who added, changed or removed a producer's account, when, and the values before and after.

    Kept when the account is removed, so a swapped account can always be traced. The actor's
    e-mail is copied because users can be deleted."""

    __tablename__ = "producer_bank_account_changes"
    __table_args__ = (sa.CheckConstraint("action IN ('created', 'updated', 'removed')", name="action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(sa.ForeignKey("producers.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(sa.String(10))  # created | updated | removed
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    actor_email: Mapped[str] = mapped_column(sa.String(254), default="")
    old_bank_bin: Mapped[str] = mapped_column(sa.String(6), default="")
    old_account_number: Mapped[str] = mapped_column(sa.String(19), default="")
    old_holder_name: Mapped[str] = mapped_column(sa.String(100), default="")
    new_bank_bin: Mapped[str] = mapped_column(sa.String(6), default="")
    new_account_number: Mapped[str] = mapped_column(sa.String(19), default="")
    new_holder_name: Mapped[str] = mapped_column(sa.String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor = relationship("User")
