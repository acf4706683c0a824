"""Which stars count: those of a valid, verified certificate, else 0 (CONTRACT.md)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from marketplace.catalog.models import Certificate
from marketplace.core.dates import today

CERTIFICATE_STATUSES = ("valid", "expired", "unverified", "none")


def certificate_status(cert: Certificate | None, on: date | None = None) -> str:
    """valid | expired | unverified | none."""
    if cert is None or not cert.stars or cert.stars <= 0:
        return "none"
    on = on or today()
    if cert.expires_on is not None and cert.expires_on <= on:
        return "expired"
    if cert.issued_on is not None and cert.issued_on > on:
        return "unverified"
    if not cert.verified:
        return "unverified"
    return "valid"


def effective_stars(cert: Certificate | None, on: date | None = None) -> int:
    return cert.stars if certificate_status(cert, on) == "valid" else 0


def valid_certificate_clause(on: date | None = None) -> sa.ColumnElement[bool]:
    """SQL condition for 'the certificate counts' (use with an outer join on Certificate)."""
    on = on or today()
    return sa.and_(
        Certificate.verified.is_(True),
        Certificate.stars > 0,
        sa.or_(Certificate.expires_on.is_(None), Certificate.expires_on > on),
        sa.or_(Certificate.issued_on.is_(None), Certificate.issued_on <= on),
    )


def effective_stars_expr(on: date | None = None) -> sa.ColumnElement[int]:
    """SQL expression for a product's counted stars (0 without a valid certificate)."""
    return sa.case((valid_certificate_clause(on), Certificate.stars), else_=0)
