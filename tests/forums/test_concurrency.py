"""The database refuses double bookings even when two writers race (PostgreSQL only: SQLite
serialises writers, so there is no race to show)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace.extensions import db
from marketplace.forums.models import ForumSlot, Meeting, MeetingSeat
from tests.forums.factories import make_forum, make_meeting, make_registration


def _setup():
    forum = make_forum(sessions=1, slots_per_session=2, tables=3)
    buyer = make_registration(forum, kind="buyer")
    p1, p2, p3 = (make_registration(forum, kind="producer") for _ in range(3))
    m1, m2 = make_meeting(forum, buyer, p1), make_meeting(forum, buyer, p2)
    m3 = make_meeting(forum, make_registration(forum, kind="buyer"), p3)
    db.session.commit()
    return forum, (m1.id, m2.id, m3.id), forum.slots[0].id


def _race(writes):
    """Run each write(session) in its own thread and connection; both reach the database after
    both have read (a barrier), then each commits. Returns the outcomes."""
    barrier = threading.Barrier(len(writes))
    outcomes: list[str] = [""] * len(writes)
    engine = db.engine  # threads have no app context

    def run(i, write):
        with Session(engine) as session:
            try:
                write(session)  # reads and checks: nothing conflicts yet
                barrier.wait(timeout=10)
                session.flush()
                session.commit()
                outcomes[i] = "ok"
            except IntegrityError:
                session.rollback()
                outcomes[i] = "refused"

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(writes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def _place(meeting_id, slot_id, table):
    def write(session):
        meeting = session.get(Meeting, meeting_id)
        assert session.scalar(sa.select(Meeting).where(Meeting.slot_id == slot_id, Meeting.table_no == table)) is None
        meeting.slot_id, meeting.table_no = slot_id, table
        session.add_all(
            [
                MeetingSeat(meeting_id=meeting.id, slot_id=slot_id, registration_id=meeting.requester_id),
                MeetingSeat(meeting_id=meeting.id, slot_id=slot_id, registration_id=meeting.invitee_id),
            ]
        )

    return write


@pytest.fixture
def postgres_only(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises writes)")


def test_two_writers_one_table_exactly_one_wins(app, postgres_only):
    _forum, (_m1, m2, m3), slot_id = _setup()
    outcomes = _race([_place(m2, slot_id, 1), _place(m3, slot_id, 1)])
    assert sorted(outcomes) == ["ok", "refused"]
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting).where(Meeting.slot_id == slot_id)) == 1


def test_two_writers_one_participant_in_one_slot_exactly_one_wins(app, postgres_only):
    _forum, (m1, m2, _m3), slot_id = _setup()
    # the same buyer at two different tables in the same slot
    outcomes = _race([_place(m1, slot_id, 1), _place(m2, slot_id, 2)])
    assert sorted(outcomes) == ["ok", "refused"]
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MeetingSeat)) == 2


def test_the_constraints_exist_on_every_backend(app):
    """Without a race: a second booking at one table, or a participant twice in a slot, fails."""
    forum, (m1, m2, m3), slot_id = _setup()
    meeting1, meeting3 = db.session.get(Meeting, m1), db.session.get(Meeting, m3)
    from marketplace.forums.scheduling import write_placement

    write_placement(meeting1, slot_id, 1)
    db.session.flush()
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            write_placement(meeting3, slot_id, 1)
            db.session.flush()
    meeting2 = db.session.get(Meeting, m2)
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            write_placement(meeting2, slot_id, 2)  # same buyer as meeting1
            db.session.flush()
    assert db.session.get(ForumSlot, slot_id) is not None
