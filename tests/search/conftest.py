"""Search fixtures: the repository's sample products, loaded through the import service when it
exists (else through the ORM), for the configured backend(s)."""

from __future__ import annotations

import csv
import os
from datetime import date

import pytest

from config import TestConfig
from marketplace import create_app
from marketplace.extensions import db
from marketplace.search import get_backend

SAMPLE_REFS = 35


def load_sample_products() -> None:
    """Import marketplace/data/sample_products.csv and commit (the commit drains the outbox)."""
    from marketplace.data import SAMPLE_PRODUCTS

    try:
        from marketplace.imports.reading import validate_products
        from marketplace.imports.services import import_products
    except ImportError:  # pragma: no cover - the import feature is not there yet
        _orm_load(SAMPLE_PRODUCTS)
    else:
        rows, problems = validate_products(SAMPLE_PRODUCTS)
        assert not problems, problems
        import_products(rows)
    db.session.commit()


def _orm_load(path) -> None:  # pragma: no cover - fallback only
    from marketplace.catalog.models import Certificate, Product
    from marketplace.core.dates import certificate_expiry
    from marketplace.core.models import utcnow
    from marketplace.data import canonical_certification
    from marketplace.producers.models import Producer

    producers: dict[tuple[str, str], Producer] = {}
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            key = (row["producer_name"], row["district"])
            producer = producers.get(key)
            if producer is None:
                producer = Producer(
                    name=row["producer_name"],
                    kind=row["producer_kind"],
                    district=row["district"],
                    commune=row["commune"],
                    craft_village=row["craft_village"],
                )
                producers[key] = producer
                db.session.add(producer)
            product = Product(
                ref=row["ref"],
                producer=producer,
                name=row["product_name"],
                name_en=row["product_name_en"],
                ocop_group=row["ocop_group"],
                description=row["description"],
                unit=row["unit"],
                price_min_vnd=int(row["price_min_vnd"]) if row["price_min_vnd"] else None,
                price_max_vnd=int(row["price_max_vnd"]) if row["price_max_vnd"] else None,
                certifications=";".join(canonical_certification(c) for c in row["certifications"].split(";") if c),
                status="published",
                published_at=utcnow(),
            )
            stars = int(row["ocop_stars"] or 0)
            if stars:
                issued = date.fromisoformat(row["certified_on"])
                product.certificate = Certificate(
                    stars=stars,
                    number=row["certificate_no"],
                    issued_on=issued,
                    expires_on=certificate_expiry(issued),
                    verified=True,
                )
            db.session.add(product)
    db.session.flush()


def _postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL") or None
    return url if url and url.startswith("postgresql") else None


# The same suite runs for every backend; PostgreSQL's only when TEST_DATABASE_URL is a PostgreSQL
# database (test_backends.py reports the skip once, with its reason).
BACKENDS = ["whoosh", "postgres"] if _postgres_url() else ["whoosh"]


@pytest.fixture(params=BACKENDS)
def backend_name(request) -> str:
    return request.param


@pytest.fixture
def search_app(_schema, tmp_path, backend_name):
    """An app on the session's test database with the chosen SEARCH_BACKEND."""
    from tests.conftest import _clean_tables

    app = create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": _schema,
            "DATA_DIR": tmp_path / "data",
            "SEARCH_BACKEND": backend_name,
            "SEARCH_DRAIN_ON": "commit",  # the production behaviour
        },
    )
    with app.app_context():
        yield app
        get_backend(app).close()
        db.session.remove()
        _clean_tables()
        db.engine.dispose()


@pytest.fixture
def sample(search_app):
    """The 35 sample products, imported and searchable."""
    load_sample_products()
    return search_app


@pytest.fixture(scope="module", params=BACKENDS)
def sample_module(request, _schema, tmp_path_factory):
    """The sample products loaded once per module and backend (read-only tests)."""
    from tests.conftest import _clean_tables

    app = create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": _schema,
            "DATA_DIR": tmp_path_factory.mktemp("search-data"),
            "SEARCH_BACKEND": request.param,
            "SEARCH_DRAIN_ON": "commit",
        },
    )
    with app.app_context():
        load_sample_products()
        db.session.remove()
    yield app
    with app.app_context():
        get_backend(app).close()
        db.session.remove()
        _clean_tables()
        db.engine.dispose()


@pytest.fixture
def catalogue(sample_module):
    """An app context on the module's sample catalogue."""
    with sample_module.app_context():
        yield sample_module
        db.session.remove()


def product_id(ref: str) -> int:
    from marketplace.catalog.models import Product

    return db.session.execute(db.select(Product.id).where(Product.ref == ref)).scalar_one()


def refs_of(result) -> list[str]:
    from marketplace.catalog.models import Product

    ids = result.product_ids
    if not ids:
        return []
    by_id = dict(db.session.execute(db.select(Product.id, Product.ref).where(Product.id.in_(ids))).all())
    return [by_id[i] for i in ids]
