"""Factories and helpers for tests: real objects through the ORM, logins without passwords."""

from __future__ import annotations

import io
import itertools
from datetime import date

from PIL import Image

from marketplace.accounts.models import User
from marketplace.catalog.models import Certificate, Product
from marketplace.core.dates import certificate_expiry
from marketplace.extensions import db
from marketplace.producers.models import Producer
from marketplace.sales_points.models import SalesPoint

_seq = itertools.count(1)
# A cheap argon2id hash of "matkhau-an-toan-123", made with TestConfig's parameters.
PASSWORD = "matkhau-an-toan-123"


def make_user(roles=("buyer",), email: str | None = None, verified: bool = True, **fields) -> User:
    from marketplace.accounts.passwords import hash_password
    from marketplace.core.models import utcnow

    n = next(_seq)
    user = User(
        email=email or f"user{n}@example.vn",
        password_hash=hash_password(PASSWORD),
        name=fields.pop("name", f"Người dùng {n}"),
        **fields,
    )
    user.roles = set(roles)
    if verified:
        user.email_verified_at = utcnow()
    db.session.add(user)
    db.session.flush()
    return user


def make_producer(managers=(), **fields) -> Producer:
    n = next(_seq)
    producer = Producer(
        name=fields.pop("name", f"HTX Thử nghiệm {n}"),
        kind=fields.pop("kind", "cooperative"),
        district=fields.pop("district", "Chương Mỹ"),
        commune=fields.pop("commune", "Phú Nghĩa"),
        **fields,
    )
    producer.managers.extend(managers)
    db.session.add(producer)
    db.session.flush()
    return producer


def make_product(
    producer: Producer | None = None,
    stars: int = 4,
    issued_on: date | None = date(2025, 3, 1),
    verified: bool = True,
    **fields,
) -> Product:
    n = next(_seq)
    producer = producer or make_producer()
    product = Product(
        ref=fields.pop("ref", f"T-{n:05d}"),
        producer=producer,
        name=fields.pop("name", f"Sản phẩm thử {n}"),
        ocop_group=fields.pop("ocop_group", "food"),
        unit=fields.pop("unit", "kg"),
        status=fields.pop("status", "published"),
        **fields,
    )
    if stars:
        product.certificate = Certificate(
            stars=stars,
            number=f"CN-{n}",
            level="province",
            issued_on=issued_on,
            expires_on=certificate_expiry(issued_on) if issued_on else None,
            verified=verified,
        )
    db.session.add(product)
    db.session.flush()
    return product


def make_sales_point(products=(), status: str = "approved", **fields) -> SalesPoint:
    n = next(_seq)
    point = SalesPoint(
        ref=fields.pop("ref", f"SPT-{n}"),
        name=fields.pop("name", f"Điểm bán OCOP {n}"),
        kind=fields.pop("kind", "shop"),
        district=fields.pop("district", "Hoàn Kiếm"),
        status=status,
        **fields,
    )
    point.products.extend(products)
    db.session.add(point)
    db.session.flush()
    return point


def login(client, user: User) -> None:
    """Log `user` in on `client` without going through the form."""
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True


def image_bytes(fmt: str = "JPEG", size=(64, 48), color=(200, 120, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()
