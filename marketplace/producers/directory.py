"""The public producer directory: filters, one page of storefronts with their public product
count and best valid stars, and the craft-village filter options.

Split from `services.py` because it only reads and shares nothing with editing a storefront.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from marketplace.catalog.models import Certificate, Product
from marketplace.catalog.stars import effective_stars_expr
from marketplace.core.pagination import Page
from marketplace.core.vn_text import clean_line, fold
from marketplace.data import PRODUCER_KINDS, find_district
from marketplace.extensions import db
from marketplace.producers.models import Producer


@dataclass(frozen=True)
class DirectoryFilters:
    q: str = ""
    kind: str = ""
    district: str = ""
    craft_village: str = ""

    @property
    def active(self) -> bool:
        return bool(self.q or self.kind or self.district or self.craft_village)


@dataclass(frozen=True)
class DirectoryRow:
    producer: Producer
    product_count: int
    best_stars: int


def normalise_filters(
    q: str | None, kind: str | None, district: str | None, craft_village: str | None
) -> DirectoryFilters:
    """Unknown kinds are dropped; a district typed without diacritics becomes its real name."""
    found = find_district(district)
    return DirectoryFilters(
        q=clean_line(q)[:200],
        kind=kind if kind in PRODUCER_KINDS else "",
        district=found.name if found else clean_line(district)[:80],
        craft_village=clean_line(craft_village)[:120],
    )


def _matches(needles: list[str], *values: str) -> bool:
    haystack = fold(" | ".join(v for v in values if v))
    return all(n in haystack for n in needles)


def directory_page(filters: DirectoryFilters, page: int, per_page: int) -> Page[DirectoryRow]:
    """Producers by name; `q` matches name, district, commune and craft village without diacritics
    ("dong anh" finds "Đông Anh"). Each row carries its public product count and best valid stars."""
    stmt = sa.select(Producer.id).order_by(Producer.name, Producer.id)
    if filters.kind:
        stmt = stmt.where(Producer.kind == filters.kind)
    if filters.district:
        stmt = stmt.where(Producer.district == filters.district)
    if filters.craft_village:
        stmt = stmt.where(Producer.craft_village == filters.craft_village)
    needles = fold(filters.q).split()
    if needles:
        rows = db.session.execute(
            stmt.add_columns(Producer.name, Producer.district, Producer.commune, Producer.craft_village)
        ).all()
        ids = [r.id for r in rows if _matches(needles, r.name, r.district, r.commune, r.craft_village)]
        total = len(ids)
        page = min(page, max(1, math.ceil(total / per_page)))
        page_ids = ids[(page - 1) * per_page : page * per_page]
    else:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0
        page = min(page, max(1, math.ceil(total / per_page)))
        page_ids = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    producers = {
        p.id: p
        for p in db.session.scalars(
            sa.select(Producer).where(Producer.id.in_(page_ids)).options(selectinload(Producer.photos))
        )
    }
    stats = product_stats(page_ids)
    items = [DirectoryRow(producers[i], *stats.get(i, (0, 0))) for i in page_ids if i in producers]
    return Page(items=items, total=total, page=page, per_page=per_page)


def product_stats(producer_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """producer id -> (public product count, best valid stars), in one grouped query."""
    if not producer_ids:
        return {}
    rows = db.session.execute(
        sa.select(Product.producer_id, sa.func.count(Product.id), sa.func.max(effective_stars_expr()))
        .select_from(Product)
        .outerjoin(Certificate, Certificate.product_id == Product.id)
        .where(Product.producer_id.in_(list(producer_ids)), Product.status == "published", Product.hidden.is_(False))
        .group_by(Product.producer_id)
    ).all()
    return {pid: (int(count), int(best or 0)) for pid, count, best in rows}


def craft_village_options() -> list[str]:
    """Craft villages that have at least one producer, for the directory filter."""
    return list(
        db.session.scalars(
            sa.select(Producer.craft_village)
            .where(Producer.craft_village != "")
            .distinct()
            .order_by(Producer.craft_village)
        )
    )
