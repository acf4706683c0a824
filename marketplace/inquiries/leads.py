"""Which producers fit an RFQ, and each producer user's leads ("Cơ hội").

`fitting_producers(rfq)` is the ONE place that decides fit. Until marketplace.matching exists it
uses the database: public products in the RFQ's OCOP group whose valid stars reach the RFQ's
minimum, ranked by how many words of the RFQ title they share (diacritics folded); without a
group, a shared word is required. The matching module can replace this function's body.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _

from marketplace.catalog.models import Certificate, Product
from marketplace.catalog.services import public_clause
from marketplace.catalog.stars import effective_stars_expr, valid_certificate_clause
from marketplace.core.dates import today
from marketplace.core.vn_text import fold
from marketplace.extensions import db
from marketplace.inquiries.models import Quote, Rfq, RfqInvitation
from marketplace.producers.models import Producer, producer_managers

# Words too common in a request to say anything about the product (compared folded).
STOP_WORDS = frozenset(
    fold(w)
    for w in (
        "cần", "mua", "tìm", "nhà", "cung", "cấp", "số", "lượng", "loại", "sản", "phẩm", "ocop", "và",
        "cho", "các", "có", "của", "với", "hàng", "đơn", "giá", "báo", "yêu", "cầu", "một", "những",
        "tại", "hà", "nội", "kg", "hộp", "chai", "gói", "sao", "chất", "tốt", "đặt", "lô",
    )
)  # fmt: skip


@dataclass(frozen=True)
class Fit:
    producer_id: int
    score: float
    reasons: tuple[str, ...] = field(default_factory=tuple)


def _words(text: str) -> set[str]:
    return {w for w in fold(text).replace("-", " ").split() if len(w) >= 2 and w not in STOP_WORDS and not w.isdigit()}


def fitting_producers(rfq: Rfq, among: Collection[int] | None = None, limit: int | None = None) -> list[Fit]:
    """Producers (with at least one manager to answer) whose public products fit `rfq`, best first.
    `among` restricts the candidates to these producer ids."""
    if among is not None and not among:
        return []
    stars = effective_stars_expr()
    has_manager = sa.exists().where(producer_managers.c.producer_id == Product.producer_id)
    stmt = (
        sa.select(Product.producer_id, Product.name, Product.name_en, stars)
        .outerjoin(Certificate, Certificate.product_id == Product.id)
        .where(public_clause(), has_manager)
    )
    if rfq.ocop_group:
        stmt = stmt.where(Product.ocop_group == rfq.ocop_group)
    if rfq.min_stars:
        stmt = stmt.where(valid_certificate_clause(), Certificate.stars >= rfq.min_stars)
    if among is not None:
        stmt = stmt.where(Product.producer_id.in_(list(among)))
    wanted = _words(rfq.title)
    best: dict[int, tuple[float, tuple[str, ...]]] = {}
    for producer_id, name, name_en, counted in db.session.execute(stmt):
        shared = wanted & (_words(name) | _words(name_en or ""))
        if not rfq.ocop_group and not shared:
            continue
        score = (len(shared) / len(wanted) if wanted else 0.0) + (counted or 0) / 10
        reasons = []
        if shared:
            reasons.append(_("Sản phẩm “%(name)s” khớp với yêu cầu", name=name))
        if rfq.ocop_group:
            reasons.append(_("Cùng nhóm sản phẩm OCOP"))
        if counted:
            reasons.append(_("OCOP %(n)s sao còn hiệu lực", n=counted))
        if producer_id not in best or score > best[producer_id][0]:
            best[producer_id] = (score, tuple(reasons))
    ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))
    fits = [Fit(pid, score, reasons) for pid, (score, reasons) in ranked]
    return fits[:limit] if limit is not None else fits


# --------------------------------------------------------------------------- leads


def open_clause() -> sa.ColumnElement[bool]:
    """The RFQ still takes quotes: open, not past its deadline, not hidden, not full."""
    return sa.and_(
        Rfq.status == "open", Rfq.deadline >= today(), Rfq.hidden.is_(False), Rfq.quote_count < Rfq.max_quotes
    )


def eligible_producer_ids(rfq: Rfq, producer_ids: Collection[int]) -> set[int]:
    """Which of `producer_ids` may quote on (and see) `rfq`: invited ones, and fitting ones when public."""
    if not producer_ids:
        return set()
    invited = set(
        db.session.scalars(
            sa.select(RfqInvitation.producer_id).where(
                RfqInvitation.rfq_id == rfq.id, RfqInvitation.producer_id.in_(list(producer_ids))
            )
        )
    )
    if rfq.visibility == "public":
        others = [pid for pid in producer_ids if pid not in invited]
        invited |= {fit.producer_id for fit in fitting_producers(rfq, among=others)}
    return invited


@dataclass
class Lead:
    rfq: Rfq
    producers: list[Producer]
    quotes: list[Quote]
    invited: bool


def leads_for(producer_ids: Collection[int], buyer_id: int | None = None, max_rfqs: int = 500) -> list[Lead]:
    """Open RFQs that the given producers may quote on, newest first, with their quotes so far."""
    if not producer_ids:
        return []
    ids = list(producer_ids)
    invited_rfqs = sa.select(RfqInvitation.rfq_id).where(RfqInvitation.producer_id.in_(ids))
    stmt = (
        sa.select(Rfq)
        .where(open_clause(), sa.or_(Rfq.visibility == "public", Rfq.id.in_(invited_rfqs)))
        .order_by(Rfq.created_at.desc(), Rfq.id.desc())
        .limit(max_rfqs)
    )
    if buyer_id is not None:
        stmt = stmt.where(Rfq.buyer_id != buyer_id)
    producers = {p.id: p for p in db.session.scalars(sa.select(Producer).where(Producer.id.in_(ids)))}
    leads = []
    for rfq in db.session.scalars(stmt):
        eligible = eligible_producer_ids(rfq, ids)
        if not eligible:
            continue
        invited = bool({inv.producer_id for inv in rfq.invitations} & eligible)
        quotes = [q for q in rfq.quotes if q.producer_id in producers]
        leads.append(Lead(rfq, [producers[pid] for pid in sorted(eligible)], quotes, invited))
    return leads
