"""Producers (HTX, enterprises, households, groups), their managers, claims and invitations."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import TimestampMixin, utcnow
from marketplace.extensions import db

producer_managers = sa.Table(
    "producer_managers",
    db.metadata,
    sa.Column("producer_id", sa.ForeignKey("producers.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Producer(TimestampMixin, db.Model):
    __tablename__ = "producers"
    __table_args__ = (sa.UniqueConstraint("name", "district", name="uq_producers_name_district"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20), default="cooperative")
    district: Mapped[str] = mapped_column(sa.String(80), default="", index=True)
    commune: Mapped[str] = mapped_column(sa.String(80), default="")
    craft_village: Mapped[str] = mapped_column(sa.String(120), default="")
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    story: Mapped[str] = mapped_column(sa.Text, default="")
    phone: Mapped[str] = mapped_column(sa.String(30), default="")
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    website: Mapped[str] = mapped_column(sa.String(300), default="")
    certifications: Mapped[str] = mapped_column(sa.String(500), default="")  # ';'-separated
    lat: Mapped[float | None]
    lng: Mapped[float | None]

    managers = relationship("User", secondary=producer_managers, lazy="selectin")
    products = relationship("Product", back_populates="producer", lazy="dynamic")
    photos = relationship(
        "ProducerPhoto", back_populates="producer", order_by="ProducerPhoto.position", cascade="all, delete-orphan"
    )

    def is_managed_by(self, user) -> bool:
        return user is not None and getattr(user, "id", None) in {m.id for m in self.managers}


class ProducerPhoto(db.Model):
    __tablename__ = "producer_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(sa.ForeignKey("producers.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(80))
    thumb_filename: Mapped[str] = mapped_column(sa.String(80))
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    producer = relationship("Producer", back_populates="photos")


class ProducerClaim(db.Model):
    """A producer user asks to manage an imported storefront; an organiser decides."""

    __tablename__ = "producer_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(sa.ForeignKey("producers.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    evidence: Mapped[str] = mapped_column(sa.String(200))  # the OCOP certificate number
    message: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(12), default="pending")  # pending|approved|rejected
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    producer = relationship("Producer")
    user = relationship("User", foreign_keys=[user_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])


class ProducerInvitation(db.Model):
    """An organiser's single-use link that makes its recipient a manager of a producer."""

    __tablename__ = "producer_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(sa.ForeignKey("producers.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    producer = relationship("Producer")
