"""“Gợi ý gặp gỡ”: meetings the matching module recommends between a forum's buyers and producers.

For each approved buyer, what they seek (free text and their OCOP groups) is a matching `Need`;
`fitting_producers_for_need` ranks the approved producers of the forum by their public products,
with reasons in Vietnamese. The best few become `Meeting` rows with status "recommended" (buyer as
requester). The scheduler places them when both sides opted in.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.extensions import db
from marketplace.forums.meetings import unschedule
from marketplace.forums.models import Forum, Meeting, Registration
from marketplace.forums.registration import group_codes, is_active
from marketplace.matching.need import MAX_TEXT
from marketplace.matching.services import build_need, fitting_producers_for_need

PER_BUYER = 5
MIN_SCORE = 0.0


@dataclass
class RecommendationReport:
    created: int
    updated: int
    removed: int


def _approved(forum: Forum, kind: str) -> list[Registration]:
    rows = db.session.scalars(
        sa.select(Registration)
        .where(Registration.forum_id == forum.id, Registration.kind == kind, Registration.status == "approved")
        .order_by(Registration.id)
    )
    return [r for r in rows if is_active(r)]


def refresh_recommendations(forum: Forum, per_buyer: int = PER_BUYER) -> RecommendationReport:
    """Recompute the forum's recommended meetings. Recommendations already placed in the schedule
    or locked stay; other stale ones are removed; pairs with a request or meeting are skipped."""
    buyers = _approved(forum, "buyer")
    producers = [r for r in _approved(forum, "producer") if r.producer_id is not None]
    by_producer: dict[int, list[Registration]] = {}
    for registration in producers:
        by_producer.setdefault(registration.producer_id, []).append(registration)  # type: ignore[arg-type]
    existing = db.session.scalars(sa.select(Meeting).where(Meeting.forum_id == forum.id)).all()
    pairs: dict[frozenset[int], Meeting] = {frozenset((m.requester_id, m.invitee_id)): m for m in existing}
    wanted: dict[frozenset[int], tuple[Registration, Registration, float, str]] = {}
    for buyer in buyers:
        if not by_producer:
            break
        text = " ".join(x for x in (buyer.seeks, buyer.offers if not buyer.seeks else "") if x).strip()[:MAX_TEXT]
        groups = group_codes(buyer)
        if not text:
            continue
        try:
            need, _warnings = build_need(text, ocop_group=groups[0] if len(groups) == 1 else None)
        except ServiceError:
            continue
        fits = fitting_producers_for_need(need, among=list(by_producer), limit=per_buyer * 2)
        placed = 0
        for fit in fits:
            if placed >= per_buyer:
                break
            score = max(0.0, min(1.0, fit.score / 100.0))
            if score < MIN_SCORE:
                continue
            for producer_registration in by_producer.get(fit.producer_id, []):
                if producer_registration.user_id == buyer.user_id:
                    continue
                key = frozenset((buyer.id, producer_registration.id))
                wanted[key] = (buyer, producer_registration, score, "\n".join(fit.reasons))
                placed += 1
    created = updated = removed = 0
    for key, meeting in pairs.items():
        if meeting.status != "recommended":
            continue
        if key in wanted:
            _buyer, _producer, score, reasons = wanted[key]
            meeting.score, meeting.reasons = score, reasons
            updated += 1
        elif meeting.slot_id is None and not meeting.locked:
            db.session.delete(meeting)
            removed += 1
    for key, (buyer, producer, score, reasons) in wanted.items():
        if key in pairs:
            meeting = pairs[key]
            if meeting.status in ("requested", "accepted") and not meeting.reasons:
                meeting.score, meeting.reasons = score, reasons  # show why the pair fits
            continue
        db.session.add(
            Meeting(
                forum_id=forum.id,
                requester_id=buyer.id,
                invitee_id=producer.id,
                origin="recommended",
                status="recommended",
                score=score,
                reasons=reasons,
            )
        )
        created += 1
    db.session.flush()
    return RecommendationReport(created=created, updated=updated, removed=removed)


def dismiss(meeting: Meeting, registration: Registration) -> None:
    """A participant turns down a recommendation: it is no longer scheduled for them."""
    if registration.id not in (meeting.requester_id, meeting.invitee_id):
        raise NotAllowed()
    if meeting.status != "recommended":
        raise ServiceError(None, _("Đây không phải là một gợi ý."))
    unschedule(meeting)
    meeting.status = "declined"
    db.session.flush()
