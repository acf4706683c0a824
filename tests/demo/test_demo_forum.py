"""seed-demo's trade-connection forum: open, approved participants, a schedule without clashes."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.core.dates import today
from marketplace.demo.forums import FORUM_TITLE, forum_dates
from marketplace.extensions import db
from marketplace.forums.agenda import agenda_items
from marketplace.forums.models import Forum, Meeting, MeetingSeat, Registration
from marketplace.producers.models import Producer


def _forum() -> Forum:
    return db.session.scalars(sa.select(Forum).where(Forum.title == FORUM_TITLE)).one()


def _user(email: str) -> User:
    return db.session.scalars(sa.select(User).where(User.email == email)).one()


def test_seed_demo_builds_an_open_scheduled_forum(runner):
    result = runner.invoke(args=["seed-demo", "--products", "60", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "Diễn đàn mẫu" in result.output
    forum = _forum()
    assert forum.status == "open"
    assert forum.starts_on == forum_dates(today())[0] and forum.starts_on.month == 12
    assert forum.tables == 20 and "Hoàng Mai" in forum.venue
    assert [s.name for s in forum.sessions] == ["Phiên sáng", "Phiên chiều"]
    assert all(s.meeting_minutes == 20 and s.break_starts_at is not None for s in forum.sessions)
    assert len(forum.slots) >= 16
    statuses = Counter((r.kind, r.status) for r in forum.registrations)
    assert statuses[("buyer", "approved")] == 12
    assert statuses[("producer", "approved")] == 24
    assert statuses[("buyer", "pending")] + statuses[("producer", "pending")] >= 3
    # Producers register with producers their user manages; the demo accounts take part.
    for registration in forum.registrations:
        if registration.kind == "producer":
            assert registration.producer.is_managed_by(registration.user)
    by_user = {r.user.email: r for r in forum.registrations}
    assert by_user["buyer@demo.ocop.vn"].status == "approved"
    producer_user = _user("producer@demo.ocop.vn")
    managed = db.session.scalars(sa.select(Producer).where(Producer.managers.contains(producer_user))).all()
    registered = {r.producer_id for r in forum.registrations if r.kind == "producer"}
    assert {p.id for p in managed} <= registered
    assert by_user["producer@demo.ocop.vn"].status == "approved"

    meetings = db.session.scalars(sa.select(Meeting).where(Meeting.forum_id == forum.id)).all()
    requests = Counter(m.status for m in meetings if m.origin == "request")
    assert 35 <= sum(requests.values()) <= 45
    assert requests["accepted"] > requests["requested"] > 0 and requests["declined"] > 0
    assert any(m.status == "recommended" for m in meetings)
    placed = [m for m in meetings if m.slot_id is not None]
    assert len(placed) >= 25
    assert forum.scheduled_at is not None
    # No double booking: one meeting per table and slot, one seat per participant and slot.
    assert len({(m.slot_id, m.table_no) for m in placed}) == len(placed)
    assert all(1 <= m.table_no <= 20 for m in placed)
    seats = db.session.execute(sa.select(MeetingSeat.slot_id, MeetingSeat.registration_id)).all()
    assert len(seats) == 2 * len(placed) == len(set(seats))
    # Only meetings between approved participants are scheduled, within their sessions.
    for m in placed:
        assert m.requester.status == m.invitee.status == "approved"
        assert m.slot.session_id in {s.id for s in m.requester.sessions}
        assert m.slot.session_id in {s.id for s in m.invitee.sessions}
    # The demo buyer has meetings on their agenda and an invitation to answer.
    buyer_registration = by_user["buyer@demo.ocop.vn"]
    mine = agenda_items(buyer_registration)
    assert len(mine) >= 1
    assert any(m.status == "requested" and m.invitee_id == buyer_registration.id for m in meetings)


def test_forum_is_deterministic_and_not_duplicated(runner):
    assert runner.invoke(args=["seed-demo", "--products", "40", "--seed", "9"]).exit_code == 0
    first = sorted((r.kind, r.user.email, r.organisation, r.status) for r in _forum().registrations)
    users = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    meetings = db.session.scalar(sa.select(sa.func.count()).select_from(Meeting))
    again = runner.invoke(args=["seed-demo", "--products", "40", "--seed", "9"])
    assert again.exit_code == 0, again.output
    assert "Diễn đàn mẫu đã có" in again.output
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Forum)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == users
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == meetings
    skipped = runner.invoke(args=["seed-demo", "--products", "40", "--if-empty"])
    assert skipped.exit_code == 0 and "Diễn đàn" not in skipped.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == len(first)
    assert first == sorted((r.kind, r.user.email, r.organisation, r.status) for r in _forum().registrations)


def test_same_seed_same_participants(app):
    from marketplace.demo import forums, services

    services.seed_demo(40, 4)
    forums.seed_forum(4)

    def participants(seed: int) -> list[tuple[str, str, str]]:
        forum = _forum()
        db.session.execute(sa.delete(Meeting).where(Meeting.forum_id == forum.id))
        db.session.delete(forum)
        db.session.flush()
        forums.seed_forum(seed)
        return sorted((r.user.email, r.organisation, r.status) for r in _forum().registrations)

    one, two, other = participants(4), participants(4), participants(5)
    assert one == two
    assert one != other
