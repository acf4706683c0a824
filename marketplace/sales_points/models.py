"""Official OCOP sales points (Decision 950/QĐ-BCT). Only approved ones are public.

A point is registered by its operator (a user with the sales_point role, `owner`), reviewed by
organisers (every decision is a `SalesPointReview`), carries products (`SalesPointProduct`, with an
in-stock flag the operator keeps current) and answers producers' `CarryRequest`s.

`SalesPoint.products` (the carried products, sorted by ref) stays a plain many-to-many over the
association table for the readers (API, catalogue, imports); `SalesPoint.carried` gives the
association rows with their in-stock flags.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import TimestampMixin, UTCDateTime, utcnow
from marketplace.extensions import db

# The statuses of the CSV contract; "rejected" is an application refused by an organiser (never
# imported, never public).
SALES_POINT_STATUSES = ("pending", "approved", "suspended")
ALL_STATUSES = (*SALES_POINT_STATUSES, "rejected")
REVIEW_DECISIONS = ("approved", "rejected", "suspended", "reinstated")
CARRY_REQUEST_STATUSES = ("pending", "accepted", "declined", "withdrawn")

sales_point_products = sa.Table(
    "sales_point_products",
    db.metadata,
    sa.Column("sales_point_id", sa.ForeignKey("sales_points.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("product_id", sa.ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, index=True),
    sa.Column("in_stock", sa.Boolean, nullable=False, default=True, server_default=sa.true()),
    sa.Column("stock_updated_at", UTCDateTime(), nullable=True),
)


class SalesPoint(TimestampMixin, db.Model):
    __tablename__ = "sales_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(60), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20))
    district: Mapped[str] = mapped_column(sa.String(80), default="", index=True)
    commune: Mapped[str] = mapped_column(sa.String(80), default="")
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    opening_hours: Mapped[str] = mapped_column(sa.String(120), default="")
    phone: Mapped[str] = mapped_column(sa.String(30), default="")
    status: Mapped[str] = mapped_column(sa.String(12), default="pending", index=True)
    # The operator who registered the point (None for imported points).
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    display_area_m2: Mapped[int | None]  # the OCOP display area (Decision 950 checklist)

    products = relationship(
        "Product",
        secondary=sales_point_products,
        lazy="selectin",
        order_by="Product.ref",
        overlaps="carried,sales_point,product",
    )
    carried = relationship(
        "SalesPointProduct",
        back_populates="sales_point",
        cascade="all, delete-orphan",
        overlaps="products",
    )
    owner = relationship("User", foreign_keys=[owner_id])
    photos = relationship(
        "SalesPointPhoto",
        back_populates="sales_point",
        order_by="SalesPointPhoto.position, SalesPointPhoto.id",
        cascade="all, delete-orphan",
    )
    reviews = relationship(
        "SalesPointReview",
        back_populates="sales_point",
        order_by="SalesPointReview.created_at.desc(), SalesPointReview.id.desc()",
        cascade="all, delete-orphan",
    )

    @property
    def is_public(self) -> bool:
        return self.status == "approved"

    def is_operated_by(self, user) -> bool:
        return self.owner_id is not None and getattr(user, "id", None) == self.owner_id


class SalesPointProduct(db.Model):
    """A product a point carries, with the operator's in-stock flag."""

    __table__ = sales_point_products

    sales_point = relationship("SalesPoint", back_populates="carried", overlaps="products")
    product = relationship("Product", lazy="joined", overlaps="products")


class SalesPointPhoto(db.Model):
    __tablename__ = "sales_point_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    sales_point_id: Mapped[int] = mapped_column(sa.ForeignKey("sales_points.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(80))
    thumb_filename: Mapped[str] = mapped_column(sa.String(80))
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    sales_point = relationship("SalesPoint", back_populates="photos")


class SalesPointReview(db.Model):
    """One organiser decision: who, when, what, why, and the Decision 950 checklist answers."""

    __tablename__ = "sales_point_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    sales_point_id: Mapped[int] = mapped_column(sa.ForeignKey("sales_points.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    decision: Mapped[str] = mapped_column(sa.String(12))  # REVIEW_DECISIONS
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    checklist: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # item code -> bool
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    sales_point = relationship("SalesPoint", back_populates="reviews")
    reviewer = relationship("User")


class CarryRequest(db.Model):
    """A producer asks a point to carry one of its products; the operator accepts or declines."""

    __tablename__ = "carry_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    sales_point_id: Mapped[int] = mapped_column(sa.ForeignKey("sales_points.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    message: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(12), default="pending", index=True)
    response: Mapped[str] = mapped_column(sa.Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    sales_point = relationship("SalesPoint")
    product = relationship("Product")
    requested_by = relationship("User", foreign_keys=[requested_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])
