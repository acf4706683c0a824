"""JSON shapes of the API (CONTRACT.md "JSON API"); the matching module reuses them.

Serializers only read attributes that are already loaded: the callers eager-load a product's
producer and certificate (lazy="joined" on Product) and a sales point's products (selectin).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import current_app, url_for
from werkzeug.routing import BuildError

from marketplace.api.queries import approved_points_carrying
from marketplace.catalog.models import Product
from marketplace.catalog.stars import certificate_status
from marketplace.core.dates import today
from marketplace.sales_points.models import SalesPoint


def product_url(ref: str) -> str:
    """The product's public page (a path)."""
    if "catalog.product" in current_app.view_functions:
        try:
            return url_for("catalog.product", ref=ref)
        except BuildError:
            pass
    return f"/san-pham/{quote(ref, safe='')}"


def product_item(product: Product) -> dict[str, Any]:
    cert = product.certificate
    status = certificate_status(cert, today())
    producer = product.producer
    return {
        "ref": product.ref,
        "id": product.id,
        "name": product.name,
        "name_en": product.name_en or None,
        "ocop_group": product.ocop_group,
        "ocop_stars": cert.stars if status == "valid" and cert is not None else 0,
        "certificate_status": status,
        "unit": product.unit or None,
        "price_min_vnd": product.price_min_vnd,
        "price_max_vnd": product.price_max_vnd,
        "producer": {
            "id": producer.id,
            "name": producer.name,
            "district": producer.district or None,
            "commune": producer.commune or None,
        },
        "url": product_url(product.ref),
    }


def certificate_data(product: Product) -> dict[str, Any]:
    """Always an object: a product without a certificate has stars 0 and status 'none'."""
    cert = product.certificate
    status = certificate_status(cert, today())
    if cert is None:
        return {"stars": 0, "number": None, "level": None, "issued_on": None, "expires_on": None, "status": status}
    return {
        "stars": cert.stars or 0,
        "number": cert.number or None,
        "level": cert.level or None,
        "issued_on": cert.issued_on.isoformat() if cert.issued_on else None,
        "expires_on": cert.expires_on.isoformat() if cert.expires_on else None,
        "status": status,
    }


def product_detail(product: Product, sales_points: list[SalesPoint] | None = None) -> dict[str, Any]:
    """The item plus description, certificate, a few trade facts and the approved sales points
    that carry it (`sales_points` as loaded by the caller; None: read them from the database)."""
    if sales_points is None:
        sales_points = approved_points_carrying(product)
    data = product_item(product)
    data.update(
        description=product.description or "",
        certificate=certificate_data(product),
        certifications=product.certification_list,
        moq=product.moq,
        monthly_capacity=product.monthly_capacity,
        sales_points=[sales_point_item(point) for point in sales_points],
    )
    return data


def sales_point_item(point: SalesPoint, distance_km: float | None = None) -> dict[str, Any]:
    return {
        "ref": point.ref,
        "name": point.name,
        "kind": point.kind,
        "district": point.district or None,
        "commune": point.commune or None,
        "address": point.address or None,
        "lat": point.lat,
        "lng": point.lng,
        "opening_hours": point.opening_hours or None,
        "product_refs": [p.ref for p in point.products if p.is_public],
        "distance_km": round(distance_km, 2) if distance_km is not None else None,
    }
