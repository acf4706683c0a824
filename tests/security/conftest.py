"""Fixtures for the security tests: a small world of real objects, and apps with limits switched on."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from config import TestConfig
from marketplace import create_app
from marketplace.extensions import db
from tests.helpers import make_producer, make_product, make_sales_point, make_user


@pytest.fixture
def world(app):
    """Objects whose ids fill the URL rules: a buyer, a producer with a product, a published
    traceability batch with an input, an approved sales point, an inquiry."""
    from marketplace.inquiries import services as inquiries
    from marketplace.traceability import services as trace
    from marketplace.traceability.validation import BatchData, InputData

    buyer = make_user(roles=("buyer",), name="Người mua")
    owner = make_user(roles=("producer",), name="Chủ HTX")
    admin = make_user(roles=("admin", "organiser"), name="Quản trị")
    producer = make_producer(managers=[owner], name="HTX Mây tre Phú Vinh")
    product = make_product(producer, ref="MAY-01", name="Giỏ mây Phú Vinh")
    point = make_sales_point(products=[product], name="Điểm bán OCOP Hàng Bông", lat=21.03, lng=105.85)
    batch = trace.create_batch(
        owner,
        product,
        BatchData(code="LO-01", produced_on=date(2026, 11, 20), quantity=Decimal("10"), unit="kg"),
    )
    item = trace.add_item(
        owner, batch, trace.ITEM_KINDS["inputs"], InputData(name="Mây", supplier="Hộ ông Tư", origin="Phú Nghĩa")
    )
    trace.publish_batch(owner, batch)
    inquiry = inquiries.create_inquiry(
        buyer, producer, inquiries.InquiryData(quantity=100, unit="cái", message="Xin báo giá giỏ mây."), product
    )
    db.session.commit()
    return SimpleNamespace(
        buyer=buyer,
        owner=owner,
        admin=admin,
        producer=producer,
        product=product,
        point=point,
        batch=batch,
        item=item,
        inquiry=inquiry,
    )


@pytest.fixture
def make_limited_app(app, _schema, tmp_path):
    """Apps on the test database with rate limits on (and whatever else a test sets)."""
    made = []

    def build(**overrides):
        db.session.commit()  # the test's rows are visible to the other app's connections
        config = {
            "SQLALCHEMY_DATABASE_URI": _schema,
            "DATA_DIR": tmp_path / f"limited-{len(made)}",
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
        other = create_app(TestConfig, {**config, **overrides})
        made.append(other)
        return other

    yield build
    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
