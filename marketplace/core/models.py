"""Declarative base, UTC timestamps."""

from __future__ import annotations

import logging
import time
import weakref
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite drops the offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING),
        type_annotation_map={datetime: UTCDateTime()},
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def refresh_planner_statistics() -> None:
    """ANALYZE after bulk loads (imports, seed-demo): without statistics SQLite picks a poor index
    (products.status) and the registry/map pages slow down tenfold (docs/load.md)."""
    from marketplace.extensions import db

    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()


class PageCacheGeneration(Base):
    """One row (id 1): a counter bumped in the same transaction as every write that can change a
    page shown to anonymous visitors; the page cache keys on it (marketplace/core/page_cache.py)."""

    __tablename__ = "page_cache_generation"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class TableProbe:
    """Does a database have `table_name` yet (not before its migration ran)? A yes is remembered
    per engine; a no is logged once a minute at most and looked for again after a minute."""

    def __init__(self, table_name: str, missing: str) -> None:
        self.table_name = table_name
        self.missing = missing
        self._known: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __call__(self, bind: sa.Engine | sa.Connection) -> bool:
        engine = getattr(bind, "engine", bind)
        known = self._known.get(engine)
        if known is True or (known is not None and time.monotonic() - known < 60):
            return known is True
        try:
            if isinstance(bind, sa.Connection):
                found = sa.inspect(bind).has_table(self.table_name)
            else:
                with engine.connect() as conn:
                    found = sa.inspect(conn).has_table(self.table_name)
        except sa.exc.SQLAlchemyError:
            return False
        if found:
            self._known[engine] = True
        else:
            self._known[engine] = time.monotonic()
            logging.getLogger(__name__).warning("%s table missing: %s", self.table_name, self.missing)
        return found
