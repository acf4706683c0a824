"""The organiser's schedule: build the scheduler's `Problem` from the database, write its result,
and edit it by hand (lock, move, unschedule) on the grid of slots × tables.

Placing a meeting writes `Meeting.slot_id/table_no` and one `MeetingSeat` per participant; the
database's unique constraints (one meeting per slot and table, one seat per participant and slot)
refuse a double booking even when two organisers write at the same moment.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from marketplace.accounts.models import User
from marketplace.core.errors import ServiceError
from marketplace.core.models import utcnow
from marketplace.extensions import db
from marketplace.forums import schedule_problem, scheduler
from marketplace.forums.meetings import unschedule
from marketplace.forums.models import Forum, ForumSlot, Meeting, MeetingSeat, Registration, registration_sessions
from marketplace.forums.registration import is_active
from marketplace.forums.setup import ensure_organiser

SCHEDULABLE = ("accepted", "recommended")


def _editable(forum: Forum) -> None:
    if forum.status == "finished":
        raise ServiceError(None, _("Diễn đàn đã kết thúc, không sửa lịch được nữa."))
    if forum.status == "draft":
        raise ServiceError(None, _("Hãy mở diễn đàn trước khi xếp lịch."))


def _both_approved(meeting: Meeting) -> bool:
    """Both sides approved, with their fee paid when the forum has one."""
    return is_active(meeting.requester) and is_active(meeting.invitee)


def candidates(forum: Forum) -> list[Meeting]:
    """Meetings the scheduler may place: accepted requests, recommendations both sides opted in
    to, and every locked meeting (the organiser's decision) — between approved participants."""
    rows = db.session.scalars(
        sa.select(Meeting).where(Meeting.forum_id == forum.id, Meeting.status.in_(SCHEDULABLE)).order_by(Meeting.id)
    ).all()
    out = []
    for m in rows:
        if not _both_approved(m):
            continue
        if m.status == "accepted" or m.locked or (m.requester.opt_in_recommended and m.invitee.opt_in_recommended):
            out.append(m)
    return out


def availability(forum: Forum) -> dict[int, frozenset[int]]:
    """Registration id -> the slot ids of the sessions it is available in."""
    rows = db.session.execute(
        sa.select(registration_sessions.c.registration_id, ForumSlot.id)
        .join(ForumSlot, ForumSlot.session_id == registration_sessions.c.session_id)
        .join(Registration, Registration.id == registration_sessions.c.registration_id)
        .where(Registration.forum_id == forum.id)
    ).all()
    out: dict[int, set[int]] = {}
    for registration_id, slot_id in rows:
        out.setdefault(registration_id, set()).add(slot_id)
    return {k: frozenset(v) for k, v in out.items()}


def build_problem(forum: Forum, time_limit_s: float = 3.0) -> schedule_problem.Problem:
    slots = tuple(
        schedule_problem.Slot(id=s.id, order=i, session_id=s.session_id)
        for i, s in enumerate(sorted(forum.slots, key=lambda s: (s.starts_at, s.id)))
    )
    meetings = candidates(forum)
    avail = availability(forum)
    participants = {p for m in meetings for p in (m.requester_id, m.invitee_id)}
    return schedule_problem.Problem(
        slots=slots,
        tables=forum.tables,
        # Somebody without any session is available nowhere (never "everywhere").
        availability={p: avail.get(p, frozenset()) for p in participants},
        max_per_participant=forum.max_meetings_per_participant,
        meetings=tuple(
            schedule_problem.Meeting(
                id=m.id,
                a=m.requester_id,
                b=m.invitee_id,
                score=max(0.0, min(1.0, m.score or 0.0)),
                accepted=m.status == "accepted",
                locked=(m.slot_id, m.table_no) if m.locked and m.slot_id is not None and m.table_no else None,
            )
            for m in meetings
        ),
        time_limit_s=time_limit_s,
    )


def write_placement(meeting: Meeting, slot_id: int, table_no: int) -> None:
    """Put `meeting` at (slot, table) with its two seats. The caller has freed its old place."""
    meeting.slot_id = slot_id
    meeting.table_no = table_no
    db.session.add_all(
        [
            MeetingSeat(meeting_id=meeting.id, slot_id=slot_id, registration_id=meeting.requester_id),
            MeetingSeat(meeting_id=meeting.id, slot_id=slot_id, registration_id=meeting.invitee_id),
        ]
    )


def _free(meeting: Meeting) -> None:
    db.session.execute(sa.delete(MeetingSeat).where(MeetingSeat.meeting_id == meeting.id))
    meeting.slot_id = None
    meeting.table_no = None
    db.session.expire(meeting, ["seats"])


@dataclass
class RunReport:
    placed: int
    accepted_placed: int
    accepted_total: int
    unplaced: int
    locked_conflicts: list[int]
    total_score: float
    idle_slots: int


def run_schedule(organiser: User, forum: Forum, time_limit_s: float = 3.0) -> RunReport:
    """Re-place every unlocked meeting; locked ones stay. One flush sequence, no commit."""
    ensure_organiser(organiser)
    _editable(forum)
    problem = build_problem(forum, time_limit_s)
    result = scheduler.schedule(problem)
    by_id = {m.id: m for m in db.session.scalars(sa.select(Meeting).where(Meeting.forum_id == forum.id))}
    for meeting in by_id.values():
        if meeting.slot_id is not None and not meeting.locked:
            _free(meeting)
    db.session.flush()
    locked_ids = {m.id for m in problem.meetings if m.locked is not None}
    for placement in result.placements:
        if placement.meeting_id in locked_ids:
            continue
        write_placement(by_id[placement.meeting_id], placement.slot_id, placement.table)
    forum.scheduled_at = utcnow()
    db.session.flush()
    return RunReport(
        placed=len(result.placements),
        accepted_placed=result.accepted_placed,
        accepted_total=sum(1 for m in problem.meetings if m.accepted),
        unplaced=len(result.unplaced),
        locked_conflicts=result.locked_conflicts,
        total_score=result.total_score,
        idle_slots=result.idle_slots,
    )


# --------------------------------------------------------------------------- editing by hand


def get_forum_meeting(forum: Forum, meeting_id: int) -> Meeting | None:
    meeting = db.session.get(Meeting, meeting_id)
    return meeting if meeting is not None and meeting.forum_id == forum.id else None


def set_locked(organiser: User, meeting: Meeting, locked: bool) -> Meeting:
    ensure_organiser(organiser)
    _editable(meeting.forum)
    if locked and meeting.slot_id is None:
        raise ServiceError(None, _("Chỉ khoá được cuộc gặp đã xếp lịch."))
    meeting.locked = locked
    db.session.flush()
    return meeting


def _name(registration: Registration) -> str:
    return registration.organisation or registration.contact_name


def move(organiser: User, meeting: Meeting, slot_id: int | None, table_no: int | None) -> Meeting:
    """Place `meeting` at (slot, table) by hand; it is locked there so a re-run keeps it."""
    ensure_organiser(organiser)
    forum = meeting.forum
    _editable(forum)
    if meeting.status not in SCHEDULABLE or not _both_approved(meeting):
        raise ServiceError(None, _("Chỉ xếp lịch được cuộc gặp đã nhận lời hoặc được gợi ý."))
    slot = db.session.get(ForumSlot, slot_id) if slot_id else None
    if slot is None or slot.forum_id != forum.id:
        raise ServiceError("slot_id", _("Hãy chọn một khung giờ của diễn đàn."))
    if table_no is None or not 1 <= table_no <= forum.tables:
        raise ServiceError("table_no", _("Số bàn phải từ 1 đến %(n)s.", n=forum.tables))
    taken = db.session.scalar(
        sa.select(Meeting).where(Meeting.slot_id == slot.id, Meeting.table_no == table_no, Meeting.id != meeting.id)
    )
    if taken is not None:
        raise ServiceError("table_no", _("Bàn %(n)s đã có cuộc gặp ở khung giờ này.", n=table_no))
    for registration in (meeting.requester, meeting.invitee):
        busy = db.session.scalar(
            sa.select(MeetingSeat).where(
                MeetingSeat.slot_id == slot.id,
                MeetingSeat.registration_id == registration.id,
                MeetingSeat.meeting_id != meeting.id,
            )
        )
        if busy is not None:
            raise ServiceError("slot_id", _("%(name)s đã có cuộc gặp khác ở khung giờ này.", name=_name(registration)))
    try:
        with db.session.begin_nested():
            _free(meeting)
            db.session.flush()
            write_placement(meeting, slot.id, table_no)
            meeting.locked = True
            db.session.flush()
    except IntegrityError:
        raise ServiceError("slot_id", _("Chỗ này vừa được người khác xếp; hãy tải lại lịch.")) from None
    return meeting


def unschedule_meeting(organiser: User, meeting: Meeting) -> Meeting:
    ensure_organiser(organiser)
    _editable(meeting.forum)
    if meeting.slot_id is None:
        raise ServiceError(None, _("Cuộc gặp này chưa được xếp lịch."))
    unschedule(meeting)
    db.session.flush()
    return meeting


# --------------------------------------------------------------------------- the grid


@dataclass
class Grid:
    slots: list[ForumSlot]
    tables: list[int]
    cells: dict[tuple[int, int], Meeting]
    conflicts: dict[int, list[str]]  # meeting id -> problems, in Vietnamese
    unplaced: list[Meeting]  # schedulable, not placed
    placed_count: int = 0


def conflicts_of(forum: Forum, placed: list[Meeting], avail: dict[int, frozenset[int]]) -> dict[int, list[str]]:
    load: Counter[int] = Counter()
    for m in placed:
        load[m.requester_id] += 1
        load[m.invitee_id] += 1
    out: dict[int, list[str]] = {}
    for m in placed:
        problems = []
        if m.status not in SCHEDULABLE:
            problems.append(_("Cuộc gặp không còn hiệu lực."))
        for registration in (m.requester, m.invitee):
            if not is_active(registration):
                problems.append(
                    _("%(name)s chưa được duyệt, đã rời diễn đàn hoặc chưa nộp phí.", name=_name(registration))
                )
            if m.slot_id not in avail.get(registration.id, frozenset()):
                problems.append(_("%(name)s không rảnh ở phiên này.", name=_name(registration)))
            if load[registration.id] > forum.max_meetings_per_participant:
                problems.append(
                    _(
                        "%(name)s có %(n)s cuộc gặp, quá mức %(max)s.",
                        name=_name(registration),
                        n=load[registration.id],
                        max=forum.max_meetings_per_participant,
                    )
                )
        if m.table_no is not None and m.table_no > forum.tables:
            problems.append(_("Bàn %(n)s không tồn tại.", n=m.table_no))
        if problems:
            out[m.id] = problems
    return out


def grid(forum: Forum) -> Grid:
    placed = list(
        db.session.scalars(
            sa.select(Meeting).where(Meeting.forum_id == forum.id, Meeting.slot_id.is_not(None)).order_by(Meeting.id)
        )
    )
    avail = availability(forum)
    placed_ids = {m.id for m in placed}
    unplaced = [m for m in candidates(forum) if m.id not in placed_ids]
    unplaced.sort(key=lambda m: (m.status != "accepted", -(m.score or 0), m.id))
    return Grid(
        slots=list(forum.slots),
        tables=list(range(1, forum.tables + 1)),
        cells={(m.slot_id, m.table_no): m for m in placed},  # type: ignore[misc]
        conflicts=conflicts_of(forum, placed, avail),
        unplaced=unplaced,
        placed_count=len(placed),
    )
