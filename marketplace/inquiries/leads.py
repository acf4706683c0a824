"""Which producers fit an RFQ, and each producer user's leads ("Cơ hội").

`fitting_producers(rfq)` is the ONE place that decides fit: the matching module's ranking of the
RFQ read as a need (`marketplace.matching.services.need_for_rfq`: text, OCOP group, quantity and
unit, minimum stars, delivery district), kept to producers with at least one manager to answer.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from marketplace.core.dates import today
from marketplace.extensions import db
from marketplace.inquiries.models import Quote, Rfq, RfqInvitation
from marketplace.producers.models import Producer, producer_managers


@dataclass(frozen=True)
class Fit:
    producer_id: int
    score: float  # 0–100, the matching score of the producer's best fitting product
    reasons: tuple[str, ...] = field(default_factory=tuple)


def _managed(producer_ids: Collection[int]) -> set[int]:
    if not producer_ids:
        return set()
    return set(
        db.session.scalars(
            sa.select(producer_managers.c.producer_id)
            .where(producer_managers.c.producer_id.in_(list(producer_ids)))
            .distinct()
        )
    )


def fitting_producers(rfq: Rfq, among: Collection[int] | None = None, limit: int | None = None) -> list[Fit]:
    """Producers (with at least one manager to answer) whose public products fit `rfq`, best first.
    `among` restricts the candidates to these producer ids."""
    if among is not None:
        return fitting_among([rfq], among)[0][:limit]
    from marketplace.matching.services import fitting_producers_for_need, need_for_rfq

    fits = fitting_producers_for_need(need_for_rfq(rfq))
    answering = _managed([f.producer_id for f in fits])
    out = [Fit(f.producer_id, f.score, f.reasons) for f in fits if f.producer_id in answering]
    return out[:limit] if limit is not None else out


def fitting_among(rfqs: Sequence[Rfq], among: Collection[int]) -> list[list[Fit]]:
    """For each RFQ, which of the `among` producers (those with a manager) fit it, best first:
    one pass over their products for all the RFQs (a producer's leads page)."""
    from marketplace.matching.services import fits_among, need_for_rfq

    managed = _managed(among)
    if not managed:
        return [[] for _ in rfqs]
    found = fits_among([need_for_rfq(rfq) for rfq in rfqs], managed)
    return [[Fit(f.producer_id, f.score, f.reasons) for f in fits] for fits in found]


# --------------------------------------------------------------------------- leads


def open_clause() -> sa.ColumnElement[bool]:
    """The RFQ still takes quotes: open, not past its deadline, not hidden, not full."""
    return sa.and_(
        Rfq.status == "open", Rfq.deadline >= today(), Rfq.hidden.is_(False), Rfq.quote_count < Rfq.max_quotes
    )


def _invited(rfq_ids: Collection[int], producer_ids: Collection[int]) -> dict[int, set[int]]:
    """RFQ id -> which of `producer_ids` it invited."""
    out: dict[int, set[int]] = {}
    if rfq_ids and producer_ids:
        rows = db.session.execute(
            sa.select(RfqInvitation.rfq_id, RfqInvitation.producer_id).where(
                RfqInvitation.rfq_id.in_(list(rfq_ids)), RfqInvitation.producer_id.in_(list(producer_ids))
            )
        )
        for rfq_id, producer_id in rows:
            out.setdefault(rfq_id, set()).add(producer_id)
    return out


def _eligibility(rfqs: Sequence[Rfq], producer_ids: Collection[int]) -> list[dict[int, Fit | None]]:
    """For each RFQ, which of `producer_ids` may quote on (and see) it — invited ones, and fitting
    ones when it is public — with their fit (None: invited without fitting)."""
    if not producer_ids or not rfqs:
        return [{} for _ in rfqs]
    invited = _invited([r.id for r in rfqs], producer_ids)
    public = [r for r in rfqs if r.visibility == "public"]
    fitting = dict(zip((r.id for r in public), fitting_among(public, producer_ids), strict=True))
    out: list[dict[int, Fit | None]] = []
    for rfq in rfqs:
        found: dict[int, Fit | None] = dict.fromkeys(invited.get(rfq.id, ()))
        found.update({f.producer_id: f for f in fitting.get(rfq.id, [])})
        out.append(found)
    return out


def eligible_among(rfqs: Sequence[Rfq], producer_ids: Collection[int]) -> list[set[int]]:
    """For each RFQ, which of `producer_ids` may quote on (and see) it."""
    return [set(found) for found in _eligibility(rfqs, producer_ids)]


def eligible_producer_ids(rfq: Rfq, producer_ids: Collection[int]) -> set[int]:
    """Which of `producer_ids` may quote on (and see) `rfq`: invited ones, and fitting ones when public."""
    return eligible_among([rfq], producer_ids)[0]


@dataclass
class Lead:
    rfq: Rfq
    producers: list[Producer]
    quotes: list[Quote]
    invited: bool
    score: float = 0.0  # the best fit among the producers (0–100; 0: invited without fitting)
    reasons: tuple[str, ...] = ()  # why, for the best fitting producer


def leads_for(producer_ids: Collection[int], buyer_id: int | None = None, max_rfqs: int = 500) -> list[Lead]:
    """Open RFQs that the given producers may quote on, with their quotes so far: invitations
    first, then by how well the producers fit (the matching score), then newest first."""
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
    rfqs = list(db.session.scalars(stmt))
    leads = []
    for rfq, eligible in zip(rfqs, _eligibility(rfqs, ids), strict=True):
        if not eligible:
            continue
        invited = bool({inv.producer_id for inv in rfq.invitations} & set(eligible))
        quotes = [q for q in rfq.quotes if q.producer_id in producers]
        fits = sorted((f for f in eligible.values() if f is not None), key=lambda f: -f.score)
        best = fits[0] if fits else None
        leads.append(
            Lead(
                rfq,
                [producers[pid] for pid in sorted(eligible)],
                quotes,
                invited,
                best.score if best else 0.0,
                best.reasons if best else (),
            )
        )
    # Newest first among equals (the query's order; sorted() is stable).
    return sorted(leads, key=lambda lead: (not lead.invited, -round(lead.score, 1)))
