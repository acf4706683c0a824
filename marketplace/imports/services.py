"""Importing validated product and sales point rows into the database (CONTRACT.md, "CSV: products" and "CSV: sales points").

Two steps, both usable without the CLI (seed-demo and the tests call them directly):

1. ``reading.validate_products(path)`` / ``reading.validate_sales_points(path)`` read the file and
   return the valid typed rows (``rows.py``) and every problem found.
2. ``import_products(rows)`` / ``import_sales_points(rows)`` (here) upsert the valid rows by ``ref``
   in the current transaction: they flush, never commit (the CLI commits once).

Decisions the contract leaves open:
- A column absent from the header leaves that field of an existing row alone; a column that is
  present overwrites the field, also with an empty value.
- ``producer_kind`` empty: a new producer is a cooperative, an existing producer keeps its kind.
  Producer details (kind, commune, craft village, lat/lng) take the first non-empty value among the
  file's rows for that producer; empty cells never blank out what a producer already has.
- ``status`` empty: new products are published, new sales points approved (both are the city's own
  records); existing rows keep their status.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from marketplace.catalog.models import Certificate, Product
from marketplace.core.dates import certificate_expiry
from marketplace.core.errors import ServiceError
from marketplace.core.models import utcnow
from marketplace.core.vn_text import exact_key
from marketplace.extensions import db
from marketplace.imports.rows import ProductRow, SalesPointRow
from marketplace.producers.models import Producer
from marketplace.sales_points.models import SalesPoint

CHUNK = 500

Progress = Callable[[int], Any]


@dataclass
class ImportReport:
    """What an import did; `skipped_lines` are the invalid lines left out with --skip-invalid."""

    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    producers_created: int = 0
    producers_updated: int = 0
    skipped_lines: tuple[int, ...] = ()

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def summary(self) -> str:
        if self.kind == "products":
            text = _(
                "Đã nhập %(total)d sản phẩm (%(created)d mới, %(updated)d cập nhật, %(unchanged)d không đổi); "
                "%(producers)d nhà sản xuất mới, %(producers_updated)d cập nhật.",
                total=self.total,
                created=self.created,
                updated=self.updated,
                unchanged=self.unchanged,
                producers=self.producers_created,
                producers_updated=self.producers_updated,
            )
        else:
            text = _(
                "Đã nhập %(total)d điểm bán (%(created)d mới, %(updated)d cập nhật, %(unchanged)d không đổi).",
                total=self.total,
                created=self.created,
                updated=self.updated,
                unchanged=self.unchanged,
            )
        if self.skipped_lines:
            text += " " + _("Bỏ qua %(n)d dòng không hợp lệ.", n=len(self.skipped_lines))
        return text


# --------------------------------------------------------------------------- loading in bulk


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def existing_product_refs(refs: set[str]) -> set[str]:
    """The refs among `refs` that a product in the database has (validation of sales points uses it)."""
    found: set[str] = set()
    for chunk in _chunks(sorted(refs)):
        found.update(db.session.scalars(sa.select(Product.ref).where(Product.ref.in_(chunk))))
    return found


def _products_by_ref(refs: Sequence[str]) -> dict[str, Product]:
    found: dict[str, Product] = {}
    for chunk in _chunks(sorted(set(refs))):
        for product in db.session.scalars(sa.select(Product).where(Product.ref.in_(chunk))).unique():
            found[product.ref] = product
    return found


def _producer_key(name: str, district: str) -> tuple[str, str]:
    return exact_key(name), district


def _producers_in(districts: Iterable[str]) -> dict[tuple[str, str], Producer]:
    found: dict[tuple[str, str], Producer] = {}
    names = sorted(set(districts))
    if names:
        for producer in db.session.scalars(sa.select(Producer).where(Producer.district.in_(names))):
            found.setdefault(_producer_key(producer.name, producer.district), producer)
    return found


def _assign(obj: Any, values: dict[str, Any]) -> bool:
    """Set only the attributes that differ, so unchanged rows get no UPDATE (updated_at stays)."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


# --------------------------------------------------------------------------- upserts


_PRODUCER_FIELDS = ("kind", "commune", "craft_village", "lat", "lng")


def import_products(rows: Sequence[ProductRow], progress: Progress | None = None) -> ImportReport:
    """Upsert valid rows by ref (producers by name + district); flush, never commit."""
    report = ImportReport("products")
    existing = _products_by_ref([r.ref for r in rows])
    producers = _producers_in(r.district for r in rows)
    created_producers: set[int] = set()
    producer_values: dict[int, dict[str, Any]] = {}
    now = utcnow()
    with db.session.no_autoflush:
        for row in rows:
            producer = producers.get(_producer_key(row.producer_name, row.district))
            if producer is None:
                producer = Producer(
                    name=row.producer_name, district=row.district, kind=row.producer_kind or "cooperative"
                )
                db.session.add(producer)
                producers[_producer_key(row.producer_name, row.district)] = producer
                created_producers.add(id(producer))
            values = producer_values.setdefault(id(producer), {"_producer": producer})
            for name in _PRODUCER_FIELDS:
                value = row.producer_kind if name == "kind" else getattr(row, name)
                column = "producer_kind" if name == "kind" else name
                if row.has(column) and value not in (None, "") and name not in values:
                    values[name] = value
            product = existing.get(row.ref)
            if product is None:
                product = _new_product(row, producer, now)
                db.session.add(product)
                existing[row.ref] = product
                report.created += 1
            elif _update_product(product, row, producer, now):
                report.updated += 1
            else:
                report.unchanged += 1
            if progress is not None:
                progress(1)
        for values in producer_values.values():
            producer = values.pop("_producer")
            if _assign(producer, values) and id(producer) not in created_producers:
                report.producers_updated += 1
    report.producers_created = len(created_producers)
    db.session.flush()
    return report


def _product_values(row: ProductRow) -> dict[str, Any]:
    """The product fields this row sets (only those whose columns the file has)."""
    values: dict[str, Any] = {"name": row.product_name}
    optional = {
        "product_name_en": ("name_en", row.product_name_en),
        "description": ("description", row.description),
        "unit": ("unit", row.unit),
        "price_min_vnd": ("price_min_vnd", row.price_min_vnd),
        "price_max_vnd": ("price_max_vnd", row.price_max_vnd),
        "moq": ("moq", row.moq),
        "monthly_capacity": ("monthly_capacity", row.monthly_capacity),
        "certifications": ("certifications", ";".join(row.certifications)),
        "ocop_group_2019": ("ocop_group_2019", row.ocop_group_2019),
        "lat": ("lat", row.lat),
        "lng": ("lng", row.lng),
    }
    for column, (name, value) in optional.items():
        if row.has(column):
            values[name] = value
    if row.ocop_group:
        values["ocop_group"] = row.ocop_group
    return values


def _certificate_values(row: ProductRow) -> dict[str, Any]:
    assert row.certified_on is not None  # validated: stars > 0 need a date
    values: dict[str, Any] = {
        "stars": row.ocop_stars,
        "level": "province",
        "issued_on": row.certified_on,
        "expires_on": certificate_expiry(row.certified_on),
        "verified": True,
    }
    if row.has("certificate_no"):
        values["number"] = row.certificate_no
    return values


def _new_product(row: ProductRow, producer: Producer, now) -> Product:
    status = row.status or "published"
    product = Product(
        ref=row.ref,
        producer=producer,
        status=status,
        published_at=now if status == "published" else None,
        **_product_values(row),
    )
    if row.ocop_stars > 0:
        product.certificate = Certificate(verified_at=now, **_certificate_values(row))
    return product


def _update_product(product: Product, row: ProductRow, producer: Producer, now) -> bool:
    changed = _assign(product, _product_values(row))
    if product.producer is not producer:
        product.producer = producer
        changed = True
    if row.status and product.status != row.status:
        product.status = row.status
        changed = True
    if product.status == "published" and product.published_at is None:
        product.published_at = now
        changed = True
    if row.has("ocop_stars"):
        certificate = product.certificate
        if row.ocop_stars <= 0:
            if certificate is not None:
                product.certificate = None
                changed = True
        elif certificate is None:
            product.certificate = Certificate(verified_at=now, **_certificate_values(row))
            changed = True
        else:
            was_verified = certificate.verified
            if _assign(certificate, _certificate_values(row)):
                changed = True
                if not was_verified:
                    certificate.verified_at = now
    if changed:
        product.updated_at = now  # also when only the certificate changed: search re-indexes it
    return changed


def import_sales_points(rows: Sequence[SalesPointRow], progress: Progress | None = None) -> ImportReport:
    """Upsert valid sales point rows by ref; the products they carry are replaced by the listed ones."""
    report = ImportReport("sales_points")
    existing: dict[str, SalesPoint] = {}
    for chunk in _chunks(sorted({r.ref for r in rows})):
        for point in db.session.scalars(sa.select(SalesPoint).where(SalesPoint.ref.in_(chunk))):
            existing[point.ref] = point
    products = _products_by_ref([ref for r in rows for ref in r.product_refs])
    now = utcnow()
    with db.session.no_autoflush:
        for row in rows:
            unknown = [ref for ref in row.product_refs if ref not in products]
            if unknown:
                raise ServiceError("product_refs", _("không có sản phẩm mang mã: %(refs)s", refs=", ".join(unknown)))
            values = _sales_point_values(row)
            carried = sorted((products[ref] for ref in row.product_refs), key=lambda p: p.ref)
            point = existing.get(row.ref)
            if point is None:
                point = SalesPoint(ref=row.ref, status=row.status or "approved", **values)
                if row.has("product_refs"):
                    point.products = carried
                db.session.add(point)
                existing[row.ref] = point
                report.created += 1
            else:
                changed = _assign(point, values)
                if row.status and point.status != row.status:
                    point.status = row.status
                    changed = True
                if row.has("product_refs") and {p.ref for p in point.products} != set(row.product_refs):
                    point.products = carried
                    point.updated_at = now
                    changed = True
                if changed:
                    report.updated += 1
                else:
                    report.unchanged += 1
            if progress is not None:
                progress(1)
    db.session.flush()
    return report


def _sales_point_values(row: SalesPointRow) -> dict[str, Any]:
    values: dict[str, Any] = {"name": row.name, "kind": row.kind, "district": row.district}
    for column in ("commune", "address", "lat", "lng", "opening_hours", "phone"):
        if row.has(column):
            values[column] = getattr(row, column)
    return values
