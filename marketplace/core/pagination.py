"""Page numbers from query strings, and a small page object for templates and the API."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import sqlalchemy as sa

from marketplace.extensions import db

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def window(self, size: int = 2) -> list[int | None]:
        """Page numbers to show, None standing for a gap: [1, None, 4, 5, 6, None, 20]."""
        shown: list[int | None] = []
        for n in range(1, self.pages + 1):
            if n in (1, self.pages) or abs(n - self.page) <= size:
                shown.append(n)
            elif shown and shown[-1] is not None:
                shown.append(None)
        return shown


def page_arg(value: str | None, default: int = 1) -> int:
    """A lenient page number for HTML pages: junk or < 1 gives the default."""
    try:
        number = int(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default
    return number if number >= 1 else default


def paginate(stmt: sa.Select, page: int, per_page: int) -> Page:
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(page, pages)
    items = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=items, total=total, page=page, per_page=per_page)
