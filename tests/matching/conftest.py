"""Matching fixtures: the repository's sample files imported and committed (the commit makes the
products visible to the matching index, which reads through its own session)."""

from __future__ import annotations

import pytest

from marketplace.catalog.models import Product
from marketplace.extensions import db
from marketplace.sales_points.models import SalesPoint


def load_samples() -> None:
    from marketplace.data import SAMPLE_PRODUCTS, SAMPLE_SALES_POINTS
    from marketplace.imports.reading import validate_products, validate_sales_points
    from marketplace.imports.services import import_products, import_sales_points

    rows, problems = validate_products(SAMPLE_PRODUCTS)
    assert not problems, problems
    import_products(rows)
    points, problems = validate_sales_points(SAMPLE_SALES_POINTS)
    assert not problems, problems
    import_sales_points(points)
    db.session.commit()


@pytest.fixture
def sample(app):
    """The 35 sample products and 8 sample sales points."""
    load_samples()
    return app


def product(ref: str) -> Product:
    return db.session.execute(db.select(Product).where(Product.ref == ref)).scalar_one()


def point(ref: str) -> SalesPoint:
    return db.session.execute(db.select(SalesPoint).where(SalesPoint.ref == ref)).scalar_one()
