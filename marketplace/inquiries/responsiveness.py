"""How quickly producers answer: response rate and median first-response time.

A producer is asked by an inquiry (answered by its first reply in the thread) or by an RFQ
invitation (answered by a quote or by declining). Requests younger than RESPONSE_GRACE_HOURS that
are still unanswered are left out: they may yet be answered.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from marketplace.core.models import utcnow
from marketplace.extensions import db
from marketplace.inquiries.common import setting
from marketplace.inquiries.models import Inquiry, RfqInvitation


@dataclass(frozen=True)
class Responsiveness:
    response_rate: float  # 0.0 – 1.0
    median_seconds: int | None  # None when nothing was answered yet
    asked: int

    def as_tuple(self) -> tuple[float, int | None]:
        return self.response_rate, self.median_seconds


def measure(producer_id: int) -> Responsiveness | None:
    now = utcnow()
    since = now - timedelta(days=int(setting("RESPONSIVENESS_DAYS")))
    grace = now - timedelta(hours=int(setting("RESPONSE_GRACE_HOURS")))
    rows = list(
        db.session.execute(
            sa.select(Inquiry.created_at, Inquiry.first_response_at).where(
                Inquiry.producer_id == producer_id, Inquiry.created_at >= since
            )
        )
    ) + list(
        db.session.execute(
            sa.select(RfqInvitation.created_at, RfqInvitation.responded_at).where(
                RfqInvitation.producer_id == producer_id, RfqInvitation.created_at >= since
            )
        )
    )
    counted = [(asked, answered) for asked, answered in rows if answered is not None or asked <= grace]
    if not counted:
        return None
    delays = [max(0, int((answered - asked).total_seconds())) for asked, answered in counted if answered is not None]
    rate = len(delays) / len(counted)
    return Responsiveness(rate, int(statistics.median(delays)) if delays else None, len(counted))


def responsiveness(producer_id: int) -> tuple[float, int | None] | None:
    """(response_rate 0–1, median first-response seconds or None), or None without any request
    to judge by. For matching and the storefront."""
    found = measure(producer_id)
    return found.as_tuple() if found is not None else None


def describe_seconds(seconds: int | None) -> str:
    """'trong 40 phút', 'trong 3 giờ', 'trong 2 ngày' (Vietnamese, translated)."""
    from flask_babel import gettext as _

    if seconds is None:
        return ""
    if seconds < 3600:
        return _("trong %(n)s phút", n=max(1, round(seconds / 60)))
    if seconds < 2 * 86400:
        return _("trong %(n)s giờ", n=max(1, round(seconds / 3600)))
    return _("trong %(n)s ngày", n=round(seconds / 86400))
