"""Meeting requests between participants: request, accept, decline, cancel, expiry, reminders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.core.validation import limit_length
from marketplace.core.vn_text import nfc
from marketplace.extensions import db
from marketplace.forums.models import Forum, Meeting, Registration
from marketplace.forums.registration import fee_settled, is_active
from marketplace.forums.setup import effective_request_deadline
from marketplace.inquiries.models import Notification
from marketplace.inquiries.notifications import notify

ACTIVE = ("requested", "accepted")
REMINDER_AFTER = timedelta(hours=48)
REMINDER_KIND = "forum_reminder"


def meetings_link(forum: Forum) -> str:
    return f"/forums/{forum.id}/meetings"


def requests_open(forum: Forum, now: datetime | None = None) -> bool:
    return forum.status in ("open", "closed") and (now or utcnow()) < effective_request_deadline(forum)


def pair_meeting(a: Registration, b: Registration) -> Meeting | None:
    return db.session.scalar(
        sa.select(Meeting).where(
            sa.or_(
                sa.and_(Meeting.requester_id == a.id, Meeting.invitee_id == b.id),
                sa.and_(Meeting.requester_id == b.id, Meeting.invitee_id == a.id),
            )
        )
    )


def unschedule(meeting: Meeting) -> None:
    """Free the meeting's slot, table and seats."""
    meeting.slot_id = None
    meeting.table_no = None
    meeting.locked = False
    for seat in list(meeting.seats):
        meeting.seats.remove(seat)


def request_meeting(requester: Registration, invitee: Registration, message: str = "") -> Meeting:
    forum = requester.forum
    if requester.status != "approved":
        raise ServiceError(None, _("Đăng ký của bạn cần được duyệt trước khi gửi lời mời gặp."))
    if not fee_settled(requester):
        raise ServiceError(None, _("Hãy nộp phí tham dự trước khi gửi lời mời gặp."))
    if invitee.forum_id != forum.id or not is_active(invitee):
        raise ServiceError(None, _("Người này không tham gia diễn đàn."))
    if invitee.id == requester.id:
        raise ServiceError(None, _("Bạn không thể mời chính mình."))
    if not requests_open(forum):
        raise ServiceError(None, _("Đã hết hạn gửi lời mời gặp."))
    message = nfc(message or "").strip()
    limit_length(message, "message", 1000)
    existing = pair_meeting(requester, invitee)
    if existing is not None and existing.status in ACTIVE:
        raise ServiceError(None, _("Hai bên đã có lời mời gặp hoặc cuộc gặp."))
    if existing is not None:
        # A recommendation, or an old declined/expired/cancelled request, becomes this request.
        meeting = existing
        if meeting.status != "recommended":
            unschedule(meeting)
        meeting.requester_id, meeting.invitee_id = requester.id, invitee.id
        meeting.responded_at = None
    else:
        meeting = Meeting(forum_id=forum.id, requester_id=requester.id, invitee_id=invitee.id)
        db.session.add(meeting)
    meeting.origin = "request" if existing is None or existing.status != "recommended" else "recommended"
    meeting.status = "requested"
    meeting.message = message
    meeting.expires_at = effective_request_deadline(forum)
    db.session.flush()
    db.session.refresh(meeting)
    name = requester.organisation or requester.contact_name
    notify(
        [invitee.user],
        "forum_meeting",
        meetings_link(forum),
        lambda: _("%(name)s mời bạn gặp tại diễn đàn “%(title)s”.", name=name, title=forum.title),
    )
    return meeting


def _own_side(meeting: Meeting, registration: Registration) -> None:
    if registration.id not in (meeting.requester_id, meeting.invitee_id):
        raise NotAllowed()


def respond(meeting: Meeting, registration: Registration, accept: bool) -> Meeting:
    if meeting.invitee_id != registration.id:
        raise NotAllowed()
    if meeting.status != "requested":
        raise ServiceError(None, _("Lời mời này không còn chờ trả lời."))
    if meeting.expires_at is not None and meeting.expires_at <= utcnow():
        raise ServiceError(None, _("Lời mời này đã hết hạn."))
    if accept and not fee_settled(registration):
        raise ServiceError(None, _("Hãy nộp phí tham dự trước khi nhận lời gặp."))
    meeting.status = "accepted" if accept else "declined"
    meeting.responded_at = utcnow()
    if not accept:
        unschedule(meeting)
    db.session.flush()
    forum = meeting.forum
    name = registration.organisation or registration.contact_name
    notify(
        [meeting.requester.user],
        "forum_meeting",
        meetings_link(forum),
        (lambda: _("%(name)s đã nhận lời gặp bạn.", name=name))
        if accept
        else (lambda: _("%(name)s đã từ chối lời mời gặp.", name=name)),
    )
    return meeting


def cancel(meeting: Meeting, registration: Registration) -> Meeting:
    _own_side(meeting, registration)
    if meeting.status not in ACTIVE:
        raise ServiceError(None, _("Cuộc gặp này không còn hiệu lực."))
    if meeting.forum.status == "finished":
        raise ServiceError(None, _("Diễn đàn đã kết thúc."))
    meeting.status = "cancelled"
    unschedule(meeting)
    db.session.flush()
    other = meeting.invitee if meeting.requester_id == registration.id else meeting.requester
    name = registration.organisation or registration.contact_name
    notify(
        [other.user],
        "forum_meeting",
        meetings_link(meeting.forum),
        lambda: _("%(name)s đã huỷ cuộc gặp với bạn.", name=name),
    )
    return meeting


@dataclass
class ParticipantMeetings:
    incoming: list[Meeting]  # requests waiting for my answer
    outgoing: list[Meeting]  # my requests waiting for theirs
    accepted: list[Meeting]
    recommended: list[Meeting]
    closed: list[Meeting]  # declined, expired, cancelled


def participant_meetings(registration: Registration) -> ParticipantMeetings:
    rows = db.session.scalars(
        sa.select(Meeting)
        .where(sa.or_(Meeting.requester_id == registration.id, Meeting.invitee_id == registration.id))
        .order_by(Meeting.score.desc(), Meeting.created_at.desc(), Meeting.id)
    ).all()
    out = ParticipantMeetings([], [], [], [], [])
    for m in rows:
        if m.status == "requested":
            (out.incoming if m.invitee_id == registration.id else out.outgoing).append(m)
        elif m.status == "accepted":
            out.accepted.append(m)
        elif m.status == "recommended":
            out.recommended.append(m)
        elif m.status in ("declined", "expired", "cancelled"):
            out.closed.append(m)
    return out


def other_side(meeting: Meeting, registration: Registration) -> Registration:
    return meeting.invitee if meeting.requester_id == registration.id else meeting.requester


def get_participant_meeting(registration: Registration, meeting_id: int) -> Meeting | None:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None or registration.id not in (meeting.requester_id, meeting.invitee_id):
        return None
    return meeting


# --------------------------------------------------------------------------- expiry and reminders


@dataclass
class ExpiryReport:
    expired: int
    reminded: int


def expire_and_remind(now: datetime | None = None) -> ExpiryReport:
    """Expire pending requests past their deadline; remind invitees of requests pending more than
    48 hours, once (a reminder notification for the meeting marks it). Safe to run again."""
    now = now or utcnow()
    expired = 0
    pending = db.session.scalars(sa.select(Meeting).where(Meeting.status == "requested").order_by(Meeting.id)).all()
    for meeting in pending:
        deadline = meeting.expires_at or effective_request_deadline(meeting.forum)
        if deadline <= now:
            meeting.status = "expired"
            unschedule(meeting)
            expired += 1
            title = meeting.forum.title
            notify(
                [meeting.requester.user, meeting.invitee.user],
                "forum_meeting",
                meetings_link(meeting.forum),
                lambda title=title: _("Một lời mời gặp tại diễn đàn “%(title)s” đã hết hạn.", title=title),
            )
    db.session.flush()
    reminded = 0
    for meeting in pending:
        if meeting.status != "requested" or meeting.created_at > now - REMINDER_AFTER:
            continue
        link = f"{meetings_link(meeting.forum)}#meeting-{meeting.id}"
        invitee = meeting.invitee.user
        already = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.user_id == invitee.id, Notification.kind == REMINDER_KIND, Notification.link == link)
        )
        if already:
            continue
        name = meeting.requester.organisation or meeting.requester.contact_name
        notify(
            [invitee],
            REMINDER_KIND,
            link,
            lambda name=name: _("Nhắc nhở: lời mời gặp của %(name)s đang chờ bạn trả lời.", name=name),
        )
        reminded += 1
    return ExpiryReport(expired=expired, reminded=reminded)
