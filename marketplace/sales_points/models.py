"""Official OCOP sales points (Decision 950/QĐ-BCT). Only approved ones are public."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import TimestampMixin
from marketplace.extensions import db

SALES_POINT_STATUSES = ("pending", "approved", "suspended")

sales_point_products = sa.Table(
    "sales_point_products",
    db.metadata,
    sa.Column("sales_point_id", sa.ForeignKey("sales_points.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("product_id", sa.ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, index=True),
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

    products = relationship("Product", secondary=sales_point_products, lazy="selectin", order_by="Product.ref")
