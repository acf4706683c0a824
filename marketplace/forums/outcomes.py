"""Outcomes: after a meeting's slot has started, each side records what came of it.

One `MeetingOutcome` per side (its author's registration), edited in place by that side only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import User
from marketplace.core.errors import ServiceError
from marketplace.core.models import utcnow
from marketplace.core.validation import limit_length
from marketplace.core.vn_text import nfc
from marketplace.extensions import db
from marketplace.forums.agenda import PLACED_STATUSES
from marketplace.forums.models import OUTCOME_RESULTS, Meeting, MeetingOutcome, Registration

MAX_DEAL_VND = 10**13
NOTE_LENGTH = 1000
RESULT_LABELS = {
    "held": _l("Đã gặp"),
    "no_show": _l("Bên kia không đến"),
    "negotiating": _l("Đang đàm phán"),
    "agreement": _l("Đã thỏa thuận"),
}


@dataclass
class OutcomeData:
    result: str
    deal_value_vnd: int | None = None
    note: str = ""


def meeting_side(user: User | None, meeting: Meeting) -> Registration | None:
    """The user's registration in this meeting (None: not one of its two participants)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    for side in (meeting.requester, meeting.invitee):
        if side.user_id == user.id:
            return side
    return None


def has_started(meeting: Meeting, now: datetime | None = None) -> bool:
    return meeting.slot is not None and meeting.slot.starts_at <= (now or utcnow())


def can_record(meeting: Meeting, now: datetime | None = None) -> bool:
    return meeting.status in PLACED_STATUSES and has_started(meeting, now)


def own_outcome(meeting: Meeting, registration: Registration) -> MeetingOutcome | None:
    return db.session.scalar(
        sa.select(MeetingOutcome).where(
            MeetingOutcome.meeting_id == meeting.id, MeetingOutcome.registration_id == registration.id
        )
    )


def record_outcome(user: User, meeting: Meeting, data: OutcomeData, now: datetime | None = None) -> MeetingOutcome:
    """Create or update the user's side's outcome of the meeting."""
    side = meeting_side(user, meeting)
    if side is None:
        raise ServiceError(None, _("Không tìm thấy cuộc gặp."), code="not_found")
    if meeting.status not in PLACED_STATUSES or meeting.slot is None:
        raise ServiceError(None, _("Cuộc gặp này không có trong lịch nên không thể ghi kết quả."))
    if not has_started(meeting, now):
        raise ServiceError(None, _("Chỉ ghi kết quả sau khi cuộc gặp đã bắt đầu."))
    if data.result not in OUTCOME_RESULTS:
        raise ServiceError("result", _("Chọn một kết quả."))
    value = data.deal_value_vnd
    if value is not None and not (0 <= value <= MAX_DEAL_VND):
        raise ServiceError("deal_value", _("Giá trị ước tính từ 0 đến 10.000 tỷ đồng."))
    note = limit_length(nfc(data.note or "").strip(), "note", NOTE_LENGTH)
    outcome = own_outcome(meeting, side)
    if outcome is None:
        outcome = MeetingOutcome(meeting_id=meeting.id, registration_id=side.id, result=data.result)
        db.session.add(outcome)
    outcome.result = data.result
    outcome.deal_value_vnd = value
    outcome.note = note
    outcome.recorded_at = utcnow()
    db.session.flush()
    return outcome
