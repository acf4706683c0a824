"""Factories for forum tests (shared with the forum-day tests: keep these names and signatures).

make_forum(...)  a forum with sessions and their slots (default: open, one session of 4 slots of
                 20 minutes, 4 tables, starting 30 days from now, registration open for 20 days);
make_registration(forum, user, kind, producer=None, sessions=None, status="approved")
make_meeting(forum, a, b, status="accepted", slot=None, table_no=None)  with seats when placed.
"""

from __future__ import annotations

import itertools
import secrets
from datetime import time, timedelta

from marketplace.core.dates import today
from marketplace.core.models import utcnow
from marketplace.extensions import db
from marketplace.forums.models import Forum, ForumSession, Meeting, MeetingSeat, Registration
from marketplace.forums.setup import _generate_slots
from tests.helpers import make_producer, make_user

_seq = itertools.count(1)


def make_forum(
    status: str = "open",
    sessions: int = 1,
    slots_per_session: int = 4,
    meeting_minutes: int = 20,
    tables: int = 4,
    days_ahead: int = 30,
    created_by=None,
    **fields,
) -> Forum:
    """A forum with `sessions` sessions (one a day, from 08:00 Hà Nội time) of `slots_per_session`
    slots each. Other Forum columns through **fields."""
    n = next(_seq)
    starts_on = fields.pop("starts_on", today() + timedelta(days=days_ahead))
    forum = Forum(
        title=fields.pop("title", f"Diễn đàn kết nối giao thương {n}"),
        description=fields.pop("description", "Kết nối người mua với chủ thể OCOP."),
        venue=fields.pop("venue", "Cung Văn hoá Hữu nghị"),
        starts_on=starts_on,
        ends_on=fields.pop("ends_on", starts_on + timedelta(days=max(sessions, 1) - 1)),
        registration_deadline=fields.pop("registration_deadline", utcnow() + timedelta(days=days_ahead - 10)),
        tables=tables,
        status=status,
        created_by_id=created_by.id if created_by is not None else None,
        **fields,
    )
    db.session.add(forum)
    db.session.flush()
    for i in range(sessions):
        start_minutes = 8 * 60
        end_minutes = start_minutes + slots_per_session * meeting_minutes
        session = ForumSession(
            forum_id=forum.id,
            name=f"Phiên {i + 1}",
            day=starts_on + timedelta(days=i),
            starts_at=time(start_minutes // 60, start_minutes % 60),
            ends_at=time(end_minutes // 60, end_minutes % 60),
            meeting_minutes=meeting_minutes,
        )
        db.session.add(session)
        db.session.flush()
        _generate_slots(session)
    db.session.flush()
    db.session.expire(forum, ["sessions", "slots"])
    return forum


def make_registration(
    forum: Forum, user=None, kind: str = "buyer", producer=None, sessions=None, status="approved", **fields
) -> Registration:
    """A registration of `user` (a new user of the right role when None); producers get a new
    Producer managed by the user when none is given. `sessions` defaults to all the forum's."""
    if user is None:
        user = make_user(roles=(kind,))
    if kind == "producer" and producer is None:
        producer = make_producer(managers=[user])
    registration = Registration(
        forum_id=forum.id,
        user_id=user.id,
        kind=kind,
        producer_id=producer.id if producer is not None else None,
        organisation=fields.pop("organisation", producer.name if producer is not None else f"Công ty mua {user.id}"),
        contact_name=fields.pop("contact_name", user.name),
        email=fields.pop("email", user.email),
        phone=fields.pop("phone", "0912345678"),
        status=status,
        checkin_code=fields.pop("checkin_code", secrets.token_urlsafe(12)),
        decided_at=utcnow() if status in ("approved", "refused") else None,
        **fields,
    )
    registration.sessions = list(forum.sessions if sessions is None else sessions)
    db.session.add(registration)
    db.session.flush()
    return registration


def make_meeting(
    forum: Forum, a: Registration, b: Registration, status: str = "accepted", slot=None, table_no=None, **fields
) -> Meeting:
    """A meeting requested by `a` with `b`; placed at (slot, table_no) with its two seats when a
    slot is given (table 1 when table_no is None)."""
    meeting = Meeting(
        forum_id=forum.id,
        requester_id=a.id,
        invitee_id=b.id,
        status=status,
        origin=fields.pop("origin", "recommended" if status == "recommended" else "request"),
        responded_at=utcnow() if status in ("accepted", "declined") else None,
        **fields,
    )
    if slot is not None:
        meeting.slot_id = slot.id
        meeting.table_no = table_no or 1
    db.session.add(meeting)
    db.session.flush()
    if slot is not None:
        db.session.add_all(
            [
                MeetingSeat(meeting_id=meeting.id, slot_id=slot.id, registration_id=a.id),
                MeetingSeat(meeting_id=meeting.id, slot_id=slot.id, registration_id=b.id),
            ]
        )
        db.session.flush()
    return meeting
