"""Public reads of the sales point registry: filters, the list and map, a point's page, the open
data exports (CSV and GeoJSON) and the "where to buy" stock flags. Only approved points."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import lazyload

from marketplace.api.queries import SalesPointFilters, haversine_km, point_position, sales_point_conditions
from marketplace.catalog.models import Product
from marketplace.core.vn_text import clean_line, fold
from marketplace.data import OCOP_GROUPS, SALES_POINT_KINDS, find_district
from marketplace.extensions import db
from marketplace.imports.rows import SALES_POINT_COLUMNS
from marketplace.sales_points import hours
from marketplace.sales_points.models import SalesPoint, SalesPointProduct

# The open-data export writes the same columns `flask import sales-points` reads (CONTRACT.md).
CSV_COLUMNS = SALES_POINT_COLUMNS


def public_product_clause() -> sa.ColumnElement[bool]:
    return sa.and_(Product.status == "published", Product.hidden.is_(False))


@dataclass(frozen=True)
class RegistryFilters:
    district: str = ""
    kind: str = ""
    group: str = ""
    open_now: bool = False
    q: str = ""
    near: tuple[float, float] | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> RegistryFilters:
        """Lenient parsing for the HTML page: unknown values are ignored, never an error."""
        district = find_district(args.get("district"))
        kind = args.get("kind") or ""
        group = args.get("group") or ""
        return cls(
            district=district.name if district else "",
            kind=kind if kind in SALES_POINT_KINDS else "",
            group=group if group in OCOP_GROUPS else "",
            open_now=(args.get("open") or "") in ("1", "on", "true", "yes"),
            q=clean_line(args.get("q"))[:100],
            near=parse_near(args.get("near")),
        )

    @property
    def active(self) -> bool:
        return bool(self.district or self.kind or self.group or self.open_now or self.q)

    def query_args(self) -> dict[str, str]:
        """The filters as query-string arguments (for the export links)."""
        args = {"district": self.district, "kind": self.kind, "group": self.group, "q": self.q}
        if self.open_now:
            args["open"] = "1"
        return {k: v for k, v in args.items() if v}


def parse_near(text: str | None) -> tuple[float, float] | None:
    """'lat,lng' in range, else None (the page ignores a bad value)."""
    parts = (text or "").split(",")
    if len(parts) != 2:
        return None
    try:
        lat, lng = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):  # also refuses NaN
        return None
    return lat, lng


@dataclass(frozen=True)
class RegistryRow:
    point: SalesPoint
    open_now: bool | None
    distance_km: float | None
    products: int  # public products carried


def _conditions(filters: RegistryFilters) -> list[sa.ColumnElement[bool]]:
    conditions = sales_point_conditions(SalesPointFilters(district=filters.district, kind=filters.kind))
    if filters.group:
        carrying = (
            sa.select(SalesPointProduct.sales_point_id)
            .join(Product, Product.id == SalesPointProduct.product_id)
            .where(Product.ocop_group == filters.group, public_product_clause())
        )
        conditions.append(SalesPoint.id.in_(carrying))
    return conditions


def product_counts(point_ids: Sequence[int]) -> dict[int, int]:
    if not point_ids:
        return {}
    rows = db.session.execute(
        sa.select(SalesPointProduct.sales_point_id, sa.func.count())
        .join(Product, Product.id == SalesPointProduct.product_id)
        .where(SalesPointProduct.sales_point_id.in_(point_ids), public_product_clause())
        .group_by(SalesPointProduct.sales_point_id)
    ).all()
    return {point_id: n for point_id, n in rows}


def registry_rows(filters: RegistryFilters, now: datetime) -> list[RegistryRow]:
    """Every approved point matching `filters`: by distance from `near`, else by district and name.

    The registry is small (hundreds of points in a city), so text, opening hours and distance are
    worked out in Python on the SQL-filtered rows."""
    points = db.session.scalars(
        sa.select(SalesPoint)
        .options(lazyload(SalesPoint.products))
        .where(*_conditions(filters))
        .order_by(SalesPoint.district, SalesPoint.name, SalesPoint.id)
    ).all()
    if filters.q:
        needle = fold(filters.q)
        points = [p for p in points if needle in fold(f"{p.name} {p.address} {p.commune} {p.district}")]
    counts = product_counts([p.id for p in points])
    rows: list[RegistryRow] = []
    for point in points:
        state = hours.is_open(point.opening_hours, now)
        if filters.open_now and state is not True:
            continue
        distance = None
        if filters.near is not None:
            position = point_position(point.lat, point.lng, point.district)
            distance = haversine_km(*filters.near, *position) if position else None
        rows.append(RegistryRow(point, state, distance, counts.get(point.id, 0)))
    if filters.near is not None:
        rows.sort(key=lambda r: (r.distance_km is None, r.distance_km or 0.0))
    return rows


def marker(point: SalesPoint, url: str, kind_label) -> dict[str, Any]:
    """What the map script shows for one point (see static/js/sales_points_map.js)."""
    return {
        "ref": point.ref,
        "name": point.name,
        "kind": kind_label(point.kind),
        "address": ", ".join(x for x in (point.address, point.commune, point.district) if x),
        "hours": point.opening_hours,
        "lat": point.lat,
        "lng": point.lng,
        "url": url,
    }


def map_points(rows: Iterable[RegistryRow], url_for_point, kind_label) -> list[dict[str, Any]]:
    """Marker data for the map script (only points with coordinates)."""
    return [
        marker(r.point, url_for_point(r.point), kind_label)
        for r in rows
        if r.point.lat is not None and r.point.lng is not None
    ]


def public_point(ref: str) -> SalesPoint | None:
    """Any point by ref (the caller checks who may see it)."""
    if not ref or len(ref) > 60 or "\x00" in ref:
        return None
    return db.session.scalar(sa.select(SalesPoint).where(SalesPoint.ref == ref))


@dataclass(frozen=True)
class CarriedProduct:
    product: Product
    in_stock: bool
    stock_updated_at: datetime | None


def point_products(point: SalesPoint, group: str = "") -> list[CarriedProduct]:
    """The public products a point carries, in stock first, then by group and name."""
    stmt = (
        sa.select(SalesPointProduct)
        .join(Product, Product.id == SalesPointProduct.product_id)
        .where(SalesPointProduct.sales_point_id == point.id, public_product_clause())
        .order_by(SalesPointProduct.in_stock.desc(), Product.ocop_group, Product.name, Product.id)
    )
    if group:
        stmt = stmt.where(Product.ocop_group == group)
    return [CarriedProduct(r.product, r.in_stock, r.stock_updated_at) for r in db.session.scalars(stmt)]


def stock_by_point(product: Product) -> dict[int, bool]:
    """sales point id -> in stock, for the points that carry `product`."""
    rows = db.session.execute(
        sa.select(SalesPointProduct.sales_point_id, SalesPointProduct.in_stock).where(
            SalesPointProduct.product_id == product.id
        )
    ).all()
    return {point_id: bool(flag) for point_id, flag in rows}


# --------------------------------------------------------------------------- open data


def export_points(filters: RegistryFilters, now: datetime) -> list[tuple[SalesPoint, list[str]]]:
    """The approved points matching `filters` (by ref) with the refs of the public products they carry."""
    rows = registry_rows(RegistryFilters(**{**filters.__dict__, "near": None}), now)
    points = sorted((r.point for r in rows), key=lambda p: p.ref)
    refs: dict[int, list[str]] = {p.id: [] for p in points}
    if points:
        for point_id, ref in db.session.execute(
            sa.select(SalesPointProduct.sales_point_id, Product.ref)
            .join(Product, Product.id == SalesPointProduct.product_id)
            .where(SalesPointProduct.sales_point_id.in_(list(refs)), public_product_clause())
            .order_by(Product.ref)
        ):
            refs[point_id].append(ref)
    return [(p, refs[p.id]) for p in points]


def _cell(value: Any) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula is prefixed with a quote."""
    if value is None:
        return ""
    text = str(value)
    if text[:1] in ("=", "@", "\t", "\r") or (text[:1] in ("+", "-") and not text[1:2].isdigit()):
        return "'" + text
    return text


def export_csv(points: Sequence[tuple[SalesPoint, list[str]]]) -> str:
    """CONTRACT.md's sales point CSV: `flask import sales-points` reads it back unchanged."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for point, refs in points:
        writer.writerow(
            [
                _cell(point.ref),
                _cell(point.name),
                point.kind,
                _cell(point.district),
                _cell(point.commune),
                _cell(point.address),
                "" if point.lat is None else repr(point.lat),
                "" if point.lng is None else repr(point.lng),
                _cell(point.opening_hours),
                _cell(point.phone),
                point.status,
                ";".join(refs),
            ]
        )
    return buffer.getvalue()


def export_geojson(points: Sequence[tuple[SalesPoint, list[str]]], url_for_point=None) -> dict[str, Any]:
    """An RFC 7946 FeatureCollection; a point without coordinates has a null geometry."""
    features = []
    for point, refs in points:
        geometry = (
            {"type": "Point", "coordinates": [point.lng, point.lat]}
            if point.lat is not None and point.lng is not None
            else None
        )
        properties = {
            "ref": point.ref,
            "name": point.name,
            "kind": point.kind,
            "district": point.district or None,
            "commune": point.commune or None,
            "address": point.address or None,
            "opening_hours": point.opening_hours or None,
            "phone": point.phone or None,
            "status": point.status,
            "product_refs": refs,
        }
        if url_for_point is not None:
            properties["url"] = url_for_point(point)
        features.append({"type": "Feature", "id": point.ref, "geometry": geometry, "properties": properties})
    return {"type": "FeatureCollection", "features": features}
