"""Meeting requests: request, accept, decline, cancel, expiry and reminders."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.extensions import db
from marketplace.forums import meetings
from marketplace.forums.models import Meeting
from marketplace.inquiries.models import Notification
from tests.forums.factories import make_forum, make_meeting, make_registration


@pytest.fixture
def pair(forum):
    return make_registration(forum, kind="buyer"), make_registration(forum, kind="producer")


def _notes(user_id, kind=None):
    stmt = sa.select(Notification).where(Notification.user_id == user_id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    return db.session.scalars(stmt).all()


def test_request_then_accept(app, forum, pair):
    a, b = pair
    m = meetings.request_meeting(a, b, "Xin gặp để bàn về miến dong")
    assert m.status == "requested" and m.origin == "request"
    assert m.expires_at == forum.registration_deadline
    assert any("mời bạn gặp" in n.text for n in _notes(b.user_id))
    with pytest.raises(NotAllowed):
        meetings.respond(m, a, accept=True)  # only the invitee answers
    meetings.respond(m, b, accept=True)
    assert m.status == "accepted" and m.responded_at is not None
    assert any("nhận lời" in n.text for n in _notes(a.user_id))
    with pytest.raises(ServiceError):
        meetings.respond(m, b, accept=False)


def test_request_deadline_is_the_forums_request_deadline(app, pair):
    a, b = pair
    forum = a.forum
    forum.request_deadline = forum.registration_deadline - timedelta(days=1)
    m = meetings.request_meeting(a, b)
    assert m.expires_at == forum.request_deadline


def test_duplicate_requests_in_either_direction_are_refused(app, pair):
    a, b = pair
    meetings.request_meeting(a, b)
    with pytest.raises(ServiceError, match="đã có"):
        meetings.request_meeting(b, a)
    with pytest.raises(ServiceError, match="đã có"):
        meetings.request_meeting(a, b)


def test_a_declined_request_can_be_made_again(app, pair):
    a, b = pair
    m = meetings.request_meeting(a, b)
    meetings.respond(m, b, accept=False)
    again = meetings.request_meeting(b, a)
    assert again.id == m.id and again.status == "requested"
    assert (again.requester_id, again.invitee_id) == (b.id, a.id)


def test_requesting_turns_a_recommendation_into_a_request(app, forum, pair):
    a, b = pair
    rec = make_meeting(forum, a, b, status="recommended", score=0.8, reasons="Cùng nhóm thực phẩm")
    m = meetings.request_meeting(b, a)
    assert m.id == rec.id and m.status == "requested" and m.reasons == "Cùng nhóm thực phẩm"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == 1


def test_request_rules(app, forum, pair):
    a, b = pair
    with pytest.raises(ServiceError):
        meetings.request_meeting(a, a)
    pending = make_registration(forum, kind="producer", status="pending")
    with pytest.raises(ServiceError):
        meetings.request_meeting(a, pending)
    with pytest.raises(ServiceError):
        meetings.request_meeting(pending, a)
    other_forum_reg = make_registration(make_forum(), kind="producer")
    with pytest.raises(ServiceError):
        meetings.request_meeting(a, other_forum_reg)
    with pytest.raises(ServiceError):
        meetings.request_meeting(a, b, "x" * 1001)
    forum.request_deadline = utcnow() - timedelta(minutes=1)
    with pytest.raises(ServiceError, match="hết hạn"):
        meetings.request_meeting(a, b)


def test_cancel_frees_the_slot(app, forum, pair):
    a, b = pair
    m = make_meeting(forum, a, b, slot=forum.slots[0], table_no=1)
    stranger = make_registration(forum, kind="buyer")
    with pytest.raises(NotAllowed):
        meetings.cancel(m, stranger)
    meetings.cancel(m, b)
    assert m.status == "cancelled" and m.slot_id is None and m.seats == []
    assert any("huỷ" in n.text for n in _notes(a.user_id))
    with pytest.raises(ServiceError):
        meetings.cancel(m, a)


def test_participant_meetings_sorts_by_state(app, forum, pair):
    a, b = pair
    c, d, e = (make_registration(forum, kind="producer") for _ in range(3))
    incoming = make_meeting(forum, b, a, status="requested")
    outgoing = make_meeting(forum, a, c, status="requested")
    accepted = make_meeting(forum, a, d)
    recommended = make_meeting(forum, a, e, status="recommended")
    lists = meetings.participant_meetings(a)
    assert lists.incoming == [incoming] and lists.outgoing == [outgoing]
    assert lists.accepted == [accepted] and lists.recommended == [recommended]
    assert meetings.get_participant_meeting(c, incoming.id) is None
    assert meetings.get_participant_meeting(b, incoming.id) is incoming


def test_expire_and_remind(app, forum, pair):
    a, b = pair
    c = make_registration(forum, kind="producer")
    old = make_meeting(forum, a, b, status="requested", created_at=utcnow() - timedelta(hours=49))
    old.expires_at = forum.registration_deadline
    fresh = make_meeting(forum, a, c, status="requested", created_at=utcnow() - timedelta(hours=1))
    fresh.expires_at = forum.registration_deadline
    overdue = make_meeting(forum, b, c, status="requested", created_at=utcnow() - timedelta(days=5))
    overdue.expires_at = utcnow() - timedelta(minutes=1)
    db.session.flush()

    report = meetings.expire_and_remind()
    assert (report.expired, report.reminded) == (1, 1)
    assert overdue.status == "expired" and old.status == "requested" and fresh.status == "requested"
    assert len(_notes(b.user_id, meetings.REMINDER_KIND)) == 1
    assert len(_notes(c.user_id, meetings.REMINDER_KIND)) == 0  # fresh: not yet; overdue: expired instead

    again = meetings.expire_and_remind()
    assert (again.expired, again.reminded) == (0, 0)
    assert len(_notes(b.user_id, meetings.REMINDER_KIND)) == 1


def test_expiry_uses_the_forum_deadline_when_the_request_has_none(app, forum, pair):
    a, b = pair
    m = make_meeting(forum, a, b, status="requested")
    forum.request_deadline = utcnow() - timedelta(seconds=1)
    db.session.flush()
    assert meetings.expire_and_remind().expired == 1
    assert m.status == "expired"


def test_an_expired_request_cannot_be_accepted(app, forum, pair):
    a, b = pair
    m = meetings.request_meeting(a, b)
    m.expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(ServiceError, match="hết hạn"):
        meetings.respond(m, b, accept=True)
