"""Products, their OCOP certificates and images."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import TimestampMixin, utcnow
from marketplace.extensions import db

PRODUCT_STATUSES = ("draft", "published", "archived")


class Product(TimestampMixin, db.Model):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(60), unique=True)
    producer_id: Mapped[int] = mapped_column(sa.ForeignKey("producers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200), default="")
    ocop_group: Mapped[str] = mapped_column(sa.String(20), index=True)
    ocop_group_2019: Mapped[str | None] = mapped_column(sa.String(20))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    unit: Mapped[str] = mapped_column(sa.String(30), default="")
    price_min_vnd: Mapped[int | None] = mapped_column(sa.BigInteger)
    price_max_vnd: Mapped[int | None] = mapped_column(sa.BigInteger)
    # "Giá liên hệ": the producer quotes on request instead of giving a price range.
    price_on_request: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    moq: Mapped[int | None] = mapped_column(sa.BigInteger)
    monthly_capacity: Mapped[int | None] = mapped_column(sa.BigInteger)
    certifications: Mapped[str] = mapped_column(sa.String(500), default="")  # ';'-separated codes/text
    status: Mapped[str] = mapped_column(sa.String(12), default="draft", index=True)
    hidden: Mapped[bool] = mapped_column(default=False)  # by an organiser
    hidden_reason: Mapped[str] = mapped_column(sa.Text, default="")
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    published_at: Mapped[datetime | None]

    producer = relationship("Producer", back_populates="products", lazy="joined")
    certificate = relationship(
        "Certificate", back_populates="product", uselist=False, cascade="all, delete-orphan", lazy="joined"
    )
    images = relationship(
        "ProductImage",
        back_populates="product",
        order_by="ProductImage.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    @property
    def is_public(self) -> bool:
        return self.status == "published" and not self.hidden

    @property
    def certification_list(self) -> list[str]:
        return [c for c in self.certifications.split(";") if c]


class Certificate(db.Model):
    """The product's OCOP certificate. Stars count only while verified and not expired."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), unique=True)
    stars: Mapped[int] = mapped_column(default=0)
    number: Mapped[str] = mapped_column(sa.String(80), default="")
    level: Mapped[str] = mapped_column(sa.String(12), default="province")
    issued_on: Mapped[date | None]
    expires_on: Mapped[date | None] = mapped_column(index=True)
    verified: Mapped[bool] = mapped_column(default=False)
    verified_at: Mapped[datetime | None]
    # Organiser review (dashboard): a rejection keeps verified False and says why.
    rejected_reason: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None]
    scan_filename: Mapped[str] = mapped_column(sa.String(80), default="", server_default="")

    product = relationship("Product", back_populates="certificate")


class ProductImage(db.Model):
    __tablename__ = "product_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(80))
    thumb_filename: Mapped[str] = mapped_column(sa.String(80))
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    product = relationship("Product", back_populates="images")
