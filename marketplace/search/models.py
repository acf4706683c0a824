"""Search tables: the outbox of index changes and, for the PostgreSQL backend, its documents."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.models import utcnow
from marketplace.extensions import db

OUTBOX_ENTITIES = ("product", "producer")
OUTBOX_OPS = ("upsert", "delete")


class SearchOutbox(db.Model):
    """A change the index must apply, written in the same transaction as the change itself.
    Rows are deleted once applied; a busy index leaves them for the next drain (any process)."""

    __tablename__ = "search_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(sa.String(20))  # product | producer
    entity_id: Mapped[int] = mapped_column(sa.BigInteger)
    op: Mapped[str] = mapped_column(sa.String(10))  # upsert | delete
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SearchDocument(db.Model):
    """PostgreSQL backend: one row per public product, maintained by the outbox drain.
    `document` is a weighted tsvector built from our own Vietnamese analysis (exact and folded
    syllables and bigrams); GIN and trigram indexes are created by ensure_schema()."""

    __tablename__ = "search_documents"

    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    producer_id: Mapped[int] = mapped_column(sa.Integer, index=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    name_en: Mapped[str] = mapped_column(sa.String(200), default="")
    producer_name: Mapped[str] = mapped_column(sa.String(200), default="")
    district: Mapped[str] = mapped_column(sa.String(80), default="")
    district_key: Mapped[str] = mapped_column(sa.String(80), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    ocop_group: Mapped[str] = mapped_column(sa.String(20), default="")
    certifications: Mapped[str] = mapped_column(sa.String(500), default="")  # ';code;code;'
    price_min: Mapped[int | None] = mapped_column(sa.BigInteger)
    price_max: Mapped[int | None] = mapped_column(sa.BigInteger)
    price_band: Mapped[str | None] = mapped_column(sa.String(12))
    cert_stars: Mapped[int] = mapped_column(default=0)
    cert_verified: Mapped[bool] = mapped_column(default=False)
    cert_issued_on: Mapped[date | None]
    cert_expires_on: Mapped[date | None]
    published_at: Mapped[datetime | None]
    document: Mapped[str] = mapped_column(postgresql.TSVECTOR().with_variant(sa.Text(), "sqlite"))
    # The name/producer/place lexemes only (weights A, B): what ranking reads. Kept small and
    # inline while `document` is stored out of line (TOAST), so broad queries stay cheap.
    rank_document: Mapped[str] = mapped_column(
        postgresql.TSVECTOR().with_variant(sa.Text(), "sqlite"), default="", server_default=""
    )


class SearchWord(db.Model):
    """PostgreSQL backend: the words of the index (exact and folded), for spelling suggestions
    by trigram similarity. Words are only added; a reindex rebuilds the list."""

    __tablename__ = "search_words"

    word: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    folded: Mapped[str] = mapped_column(sa.String(60), index=True)
