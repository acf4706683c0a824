"""Check-in at the door (scanned QR or typed code), the attendance list, releasing no-shows.

Services flush, never commit. `now` is passed in (UTC) so the rules on slot starts are testable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import User
from marketplace.core.dates import to_local
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.core.pagination import Page, paginate
from marketplace.core.vn_text import fold, nfc
from marketplace.extensions import db
from marketplace.forums.agenda import PLACED_STATUSES, display_name
from marketplace.forums.models import Forum, ForumSlot, Meeting, MeetingSeat, Registration
from marketplace.inquiries.common import site_path
from marketplace.inquiries.notifications import notify

ATTENDANCE_STATES = ("in", "out")


def _require_organiser(user: User) -> None:
    if user is None or not user.is_staff:
        raise NotAllowed()


def clean_code(text: str | None) -> str:
    """What a scanner or a person typed: spaces and invisible characters removed."""
    return "".join(ch for ch in nfc(text or "") if not ch.isspace() and ch.isprintable())


def find_by_code(code: str) -> Registration | None:
    """The registration with this check-in code, exact first, then ignoring letter case."""
    if not code:
        return None
    found = db.session.scalar(sa.select(Registration).where(Registration.checkin_code == code))
    if found is not None:
        return found
    matches = db.session.scalars(
        sa.select(Registration).where(sa.func.upper(Registration.checkin_code) == code.upper()).limit(2)
    ).all()
    return matches[0] if len(matches) == 1 else None


@dataclass
class CheckInResult:
    registration: Registration
    already: bool  # checked in earlier: nothing changed

    @property
    def checked_in_at_local(self) -> datetime | None:
        return to_local(self.registration.checked_in_at)


def check_in(organiser: User, forum: Forum, code_text: str, now: datetime | None = None) -> CheckInResult:
    """Record the arrival of the participant holding `code_text` at `forum`."""
    _require_organiser(organiser)
    code = clean_code(code_text)
    if not code:
        raise ServiceError("code", _("Nhập hoặc quét mã check-in."))
    if len(code) > 40:
        raise ServiceError("code", _("Mã check-in không hợp lệ."))
    registration = find_by_code(code)
    if registration is None:
        raise ServiceError("code", _("Không có đăng ký nào với mã “%(code)s”.", code=code), code="unknown")
    if registration.forum_id != forum.id:
        raise ServiceError(
            "code",
            _("Mã này thuộc diễn đàn khác: “%(title)s”.", title=registration.forum.title),
            code="other_forum",
        )
    if registration.status != "approved":
        messages = {
            "pending": _("Đăng ký của %(name)s chưa được duyệt: chưa thể check-in."),
            "refused": _("Đăng ký của %(name)s đã bị từ chối: không thể check-in."),
            "cancelled": _("Đăng ký của %(name)s đã bị huỷ: không thể check-in."),
        }
        message = messages.get(registration.status, messages["pending"])
        raise ServiceError("code", message % {"name": display_name(registration)}, code=registration.status)
    if registration.checked_in_at is not None:
        return CheckInResult(registration, already=True)
    registration.checked_in_at = now or utcnow()
    registration.checked_in_by_id = organiser.id
    db.session.flush()
    return CheckInResult(registration, already=False)


# --------------------------------------------------------------------------- attendance


@dataclass
class AttendanceFilters:
    kind: str = ""  # buyer | producer
    state: str = ""  # in | out
    q: str = ""

    @classmethod
    def from_args(cls, args) -> AttendanceFilters:
        kind = args.get("kind") or ""
        state = args.get("state") or ""
        return cls(
            kind=kind if kind in ("buyer", "producer") else "",
            state=state if state in ATTENDANCE_STATES else "",
            q=nfc(args.get("q") or "").strip()[:100],
        )


def attendance_page(forum: Forum, filters: AttendanceFilters, page: int, per_page: int = 50) -> Page:
    """Approved participants with their arrival time; the name search ignores accents."""
    stmt = sa.select(Registration).where(Registration.forum_id == forum.id, Registration.status == "approved")
    if filters.kind:
        stmt = stmt.where(Registration.kind == filters.kind)
    if filters.state == "in":
        stmt = stmt.where(Registration.checked_in_at.is_not(None))
    elif filters.state == "out":
        stmt = stmt.where(Registration.checked_in_at.is_(None))
    if filters.q:
        ids = _matching_ids(forum, filters.q)
        stmt = stmt.where(Registration.id.in_(ids or [-1]))
    stmt = stmt.order_by(Registration.checked_in_at.is_(None), Registration.organisation, Registration.id)
    return paginate(stmt.options(selectinload(Registration.producer)), page, per_page)


def _matching_ids(forum: Forum, query: str) -> list[int]:
    needle = fold(query)
    rows = db.session.scalars(
        sa.select(Registration).where(Registration.forum_id == forum.id, Registration.status == "approved")
    ).all()
    found = []
    for r in rows:
        haystack = fold(" ".join([display_name(r), r.contact_name, r.email, r.phone, r.checkin_code]))
        if needle in haystack:
            found.append(r.id)
    return found


@dataclass
class AttendanceCounts:
    approved: int
    checked_in: int

    @property
    def absent(self) -> int:
        return self.approved - self.checked_in


def attendance_counts(forum: Forum) -> AttendanceCounts:
    row = db.session.execute(
        sa.select(sa.func.count(Registration.id), sa.func.count(Registration.checked_in_at)).where(
            Registration.forum_id == forum.id, Registration.status == "approved"
        )
    ).one()
    return AttendanceCounts(approved=row[0] or 0, checked_in=row[1] or 0)


# --------------------------------------------------------------------------- no-shows


@dataclass
class NoShow:
    meeting: Meeting
    absent: list[Registration]  # the side(s) not checked in


def releasable(forum: Forum, now: datetime | None = None, registration: Registration | None = None) -> list[NoShow]:
    """Placed meetings whose slot has started, where a side has not checked in and nobody has
    recorded an outcome yet; limited to one participant's meetings when `registration` is given
    (then only that participant counts as absent)."""
    now = now or utcnow()
    stmt = (
        sa.select(Meeting)
        .join(ForumSlot, ForumSlot.id == Meeting.slot_id)
        .where(
            Meeting.forum_id == forum.id,
            Meeting.status.in_(PLACED_STATUSES),
            ForumSlot.starts_at <= now,
            ~Meeting.outcomes.any(),
        )
        .options(selectinload(Meeting.requester), selectinload(Meeting.invitee))
        .order_by(ForumSlot.starts_at, Meeting.table_no)
    )
    if registration is not None:
        stmt = stmt.where(sa.or_(Meeting.requester_id == registration.id, Meeting.invitee_id == registration.id))
    found = []
    for meeting in db.session.scalars(stmt):
        sides = [meeting.requester, meeting.invitee]
        if registration is not None:
            sides = [s for s in sides if s.id == registration.id]
        absent = [s for s in sides if s.checked_in_at is None]
        if absent:
            found.append(NoShow(meeting, absent))
    return found


def release_no_shows(
    organiser: User, forum: Forum, now: datetime | None = None, registration: Registration | None = None
) -> list[Meeting]:
    """Release the meetings of absent participants (slot started): status "released", slot,
    table and seats given back; the other side is told. Returns the released meetings."""
    _require_organiser(organiser)
    if registration is not None and registration.forum_id != forum.id:
        raise ServiceError(None, _("Không tìm thấy người tham dự."))
    now = now or utcnow()
    released = []
    for item in releasable(forum, now, registration):
        meeting = item.meeting
        slot = meeting.slot
        starts = to_local(slot.starts_at)
        table = meeting.table_no
        db.session.execute(sa.delete(MeetingSeat).where(MeetingSeat.meeting_id == meeting.id))
        meeting.status = "released"
        meeting.slot_id = None
        meeting.table_no = None
        meeting.locked = False
        absent_ids = {r.id for r in item.absent}
        for side in (meeting.requester, meeting.invitee):
            other = meeting.invitee if side.id == meeting.requester_id else meeting.requester
            if other.id not in absent_ids:
                continue
            _tell_released(forum, side, other, starts, table)
        released.append(meeting)
    db.session.flush()
    for meeting in released:
        db.session.expire(meeting)
    return released


def _tell_released(forum: Forum, recipient: Registration, absent: Registration, starts: datetime, table) -> None:
    name = display_name(absent)
    moment = starts.strftime("%H:%M %d/%m/%Y")

    def text() -> str:
        return _(
            "Cuộc gặp với %(name)s lúc %(time)s (bàn %(table)s) tại “%(forum)s” đã được giải phóng vì bên kia chưa có mặt.",
            name=name,
            time=moment,
            table=table,
            forum=forum.title,
        )

    notify([recipient.user], "forum_released", site_path("forum_day.agenda", forum_id=forum.id), text)
