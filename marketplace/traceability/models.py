"""Traceability (Circular 02/2024/TT-BKHCN): product batches, their chain and their public code.

A `Batch` is one production (or harvest) lot of a product. Around it, "one step back, one step
forward": the `BatchInput`s it was made from (supplier, place, date), the `ProcessingStep`s, the
`Inspection`s (with a PDF or photo), and the `BatchDestination`s it went to (sales points,
buyers' orders). The batch's `public_code` (random, unguessable) is what its QR code points to.

Once a batch is published, every change is kept as a `BatchRevision` (who, when, field-level
old → new values), shown on the public trace page, so a page cannot be silently rewritten.
Scans are one counter per batch (`BatchScanCounter`): no personal data.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import TimestampMixin, utcnow
from marketplace.extensions import db

BATCH_STATUSES = ("draft", "published", "recalled")
DATE_KINDS = ("production", "harvest")
SHELF_LIFE_UNITS = ("day", "month")
INSPECTION_OUTCOMES = ("pass", "fail", "info")
DESTINATION_KINDS = ("sales_point", "order")
FILE_KINDS = ("pdf", "image")


class Batch(TimestampMixin, db.Model):
    __tablename__ = "trace_batches"
    __table_args__ = (sa.UniqueConstraint("product_id", "code", name="uq_trace_batches_product_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(60))  # the producer's batch code, unique per product
    # What the QR code points to: secrets.token_urlsafe (128 bits), never derived from ids or codes.
    public_code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    external_code: Mapped[str] = mapped_column(sa.String(120), default="")  # the city's system, optional
    date_kind: Mapped[str] = mapped_column(sa.String(12), default="production")
    produced_on: Mapped[date]
    quantity: Mapped[Decimal | None] = mapped_column(sa.Numeric(16, 3))
    unit: Mapped[str] = mapped_column(sa.String(30), default="")
    expires_on: Mapped[date | None]
    shelf_life_value: Mapped[int | None]
    shelf_life_unit: Mapped[str] = mapped_column(sa.String(8), default="month")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(12), default="draft", index=True)
    published_at: Mapped[datetime | None]
    recalled_at: Mapped[datetime | None]
    recall_reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    product = relationship("Product", lazy="joined", innerjoin=True)
    inputs = relationship(
        "BatchInput",
        back_populates="batch",
        order_by="BatchInput.received_on, BatchInput.id",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    steps = relationship(
        "ProcessingStep",
        back_populates="batch",
        order_by="ProcessingStep.started_on, ProcessingStep.id",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    inspections = relationship(
        "Inspection",
        back_populates="batch",
        order_by="Inspection.inspected_on, Inspection.id",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    destinations = relationship(
        "BatchDestination",
        back_populates="batch",
        order_by="BatchDestination.shipped_on, BatchDestination.id",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    revisions = relationship(
        "BatchRevision",
        back_populates="batch",
        order_by="BatchRevision.created_at.desc(), BatchRevision.id.desc()",
        cascade="all, delete-orphan",
        lazy="select",
    )
    counter = relationship(
        "BatchScanCounter", uselist=False, back_populates="batch", cascade="all, delete-orphan", lazy="joined"
    )

    @property
    def is_published(self) -> bool:
        """Public (its trace page answers): published or recalled."""
        return self.status in ("published", "recalled")

    @property
    def is_recalled(self) -> bool:
        return self.status == "recalled"

    @property
    def scan_count(self) -> int:
        return self.counter.scans if self.counter is not None else 0


class BatchInput(db.Model):
    """One step back: a raw material or ingredient, who supplied it, from where, when."""

    __tablename__ = "trace_batch_inputs"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("trace_batches.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    supplier: Mapped[str] = mapped_column(sa.String(200), default="")
    origin: Mapped[str] = mapped_column(sa.String(300), default="")  # place of origin
    received_on: Mapped[date | None]
    quantity: Mapped[str] = mapped_column(sa.String(60), default="")  # free text: "200 kg"
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    batch = relationship("Batch", back_populates="inputs")


class ProcessingStep(db.Model):
    __tablename__ = "trace_processing_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("trace_batches.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    started_on: Mapped[date]
    ended_on: Mapped[date | None]
    place: Mapped[str] = mapped_column(sa.String(300), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    batch = relationship("Batch", back_populates="steps")


class Inspection(db.Model):
    """A test or inspection with its result and, optionally, the report (a PDF or a photo)."""

    __tablename__ = "trace_inspections"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("trace_batches.id", ondelete="CASCADE"), index=True)
    inspected_on: Mapped[date]
    name: Mapped[str] = mapped_column(sa.String(200))  # what was tested
    organisation: Mapped[str] = mapped_column(sa.String(200), default="")  # lab or authority
    result: Mapped[str] = mapped_column(sa.Text)
    outcome: Mapped[str] = mapped_column(sa.String(8), default="pass")  # INSPECTION_OUTCOMES
    # The attached file, stored under a random name in the uploads folder (never the user's name).
    file_name: Mapped[str | None] = mapped_column(sa.String(120))
    file_kind: Mapped[str | None] = mapped_column(sa.String(8))  # FILE_KINDS
    file_thumb: Mapped[str | None] = mapped_column(sa.String(120))
    file_original_name: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    batch = relationship("Batch", back_populates="inspections")


class BatchDestination(db.Model):
    """One step forward: a sales point, or a buyer's order described in free text."""

    __tablename__ = "trace_batch_destinations"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("trace_batches.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(12), default="sales_point")  # DESTINATION_KINDS
    sales_point_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sales_points.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(sa.String(300), default="")
    shipped_on: Mapped[date | None]
    quantity: Mapped[str] = mapped_column(sa.String(60), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    batch = relationship("Batch", back_populates="destinations")
    sales_point = relationship("SalesPoint", lazy="joined")


class BatchRevision(db.Model):
    """One change to a published batch: who, when, what (field-level old → new values)."""

    __tablename__ = "trace_batch_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("trace_batches.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    user_name: Mapped[str] = mapped_column(sa.String(254), default="")  # kept if the account goes
    entity: Mapped[str] = mapped_column(sa.String(20))  # batch|input|step|inspection|destination
    action: Mapped[str] = mapped_column(sa.String(12))  # publish|update|add|delete|recall
    entity_label: Mapped[str] = mapped_column(sa.String(300), default="")
    # [{"field": "quantity", "old": "120 kg", "new": "118 kg"}, ...] as shown on the page.
    changes: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    batch = relationship("Batch", back_populates="revisions")


class BatchScanCounter(db.Model):
    """How many times the trace page was opened: one number, no personal data."""

    __tablename__ = "trace_scan_counters"

    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("trace_batches.id", ondelete="CASCADE"), primary_key=True)
    scans: Mapped[int] = mapped_column(sa.BigInteger, default=0)

    batch = relationship("Batch", back_populates="counter")
