"""Fixtures for the traceability tests: two producers, each with a product, and helpers."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from flask import g

from marketplace.extensions import db
from marketplace.traceability import services
from marketplace.traceability.validation import BatchData, InputData, StepData
from tests.helpers import login, make_producer, make_product, make_sales_point, make_user

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\nstartxref\n9\n%%EOF\n"


@pytest.fixture
def as_user(client):
    """Log a user in on `client` (None logs out)."""

    def switch(user) -> None:
        if user is None:
            with client.session_transaction() as sess:
                sess.clear()
        else:
            login(client, user)
        g.pop("_login_user", None)

    return switch


def batch_data(**changes) -> BatchData:
    values = {
        "code": "LO-01",
        "produced_on": date(2026, 11, 20),
        "quantity": Decimal("120.5"),
        "unit": "kg",
        "expires_on": date(2027, 5, 20),
    }
    values.update(changes)
    return BatchData(**values)


@pytest.fixture
def world(app):
    owner = make_user(roles=("producer",), name="Chủ HTX")
    producer = make_producer(managers=[owner], name="HTX Nếp cái hoa vàng", address="Thôn Đông", phone="0243000111")
    product = make_product(producer, ref="NEP-01", name="Gạo nếp cái hoa vàng", name_en="Yellow-flower sticky rice")
    other = make_user(roles=("producer",), name="Chủ HTX khác")
    other_producer = make_producer(managers=[other], name="HTX Khác")
    other_product = make_product(other_producer, ref="KHAC-01", name="Sản phẩm khác")
    point = make_sales_point(products=[product], name="Điểm bán OCOP Hàng Bông", address="12 Hàng Bông")
    hidden_point = make_sales_point(products=[product], status="pending", name="Điểm bán chờ duyệt")
    db.session.commit()
    return SimpleNamespace(
        owner=owner,
        producer=producer,
        product=product,
        other=other,
        other_product=other_product,
        point=point,
        hidden_point=hidden_point,
        buyer=None,
    )


@pytest.fixture
def batch(world):
    """A draft batch of the owner's product, with an input and a processing step."""
    made = services.create_batch(world.owner, world.product, batch_data())
    services.add_item(
        world.owner,
        made,
        services.ITEM_KINDS["inputs"],
        InputData(name="Thóc nếp", supplier="Hộ ông Tư", origin="Xã Đông Anh", received_on=date(2026, 10, 1)),
    )
    services.add_item(
        world.owner,
        made,
        services.ITEM_KINDS["steps"],
        StepData(name="Xay xát và đóng gói", started_on=date(2026, 11, 18), ended_on=date(2026, 11, 19)),
    )
    db.session.commit()
    return made


@pytest.fixture
def published(world, batch):
    services.publish_batch(world.owner, batch)
    db.session.commit()
    return batch


def upload(data: bytes, name: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(data), name
