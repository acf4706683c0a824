"""The sample data the fuzzers and benchmarks run on: `seed-demo` (the sample files plus a
generated city) and one published, traceable batch, so every API route has real objects.

Shared by tests/fuzz/conftest.py (a small city) and bench/load_data.py (any size)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.catalog.models import Product
from marketplace.demo.services import seed_demo
from marketplace.extensions import db
from marketplace.producers.models import Producer
from marketplace.search import reindex
from marketplace.traceability import services as trace
from marketplace.traceability.validation import BatchData, InputData, StepData

SAMPLE_BATCH_CODE = "FUZZ-LO-01"


def load_sample_data(products: int = 300, seed: int = 42) -> dict[str, list[str]]:
    """Fill an empty database (schema already created) and the search index; commit.
    Returns a few real identifiers: product refs and the public code of a published batch."""
    seed_demo(products, seed)
    db.session.commit()
    owner = db.session.scalars(sa.select(User).where(User.email == "producer@demo.ocop.vn")).one()
    product = db.session.scalars(
        sa.select(Product)
        .join(Producer, Product.producer_id == Producer.id)
        .where(Producer.managers.contains(owner))
        .order_by(Product.id)
        .limit(1)
    ).first()
    codes: list[str] = []
    if product is not None:
        batch = trace.create_batch(
            owner,
            product,
            BatchData(
                code=SAMPLE_BATCH_CODE,
                produced_on=date(2026, 11, 20),
                quantity=Decimal("120.5"),
                unit="kg",
                expires_on=date(2027, 5, 20),
                notes="Lô mẫu cho kiểm thử",
            ),
        )
        trace.add_item(owner, batch, trace.ITEM_KINDS["inputs"], InputData(name="Nguyên liệu", origin="Hà Nội"))
        trace.add_item(
            owner,
            batch,
            trace.ITEM_KINDS["steps"],
            StepData(name="Đóng gói", started_on=date(2026, 11, 18), ended_on=date(2026, 11, 19)),
        )
        trace.publish_batch(owner, batch)
        db.session.commit()
        codes.append(batch.public_code)
    reindex()
    refs = list(db.session.scalars(sa.select(Product.ref).order_by(Product.id).limit(20)))
    return {"product_refs": refs, "trace_codes": codes}
