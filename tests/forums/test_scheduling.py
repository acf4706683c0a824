"""The organiser's schedule: the Problem from the database, writing the result, locks, moves,
unscheduling, the grid's conflicts."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.extensions import db
from marketplace.forums import schedule_problem, scheduling
from marketplace.forums.models import MeetingSeat
from tests.forums.factories import make_forum, make_meeting, make_registration


@pytest.fixture
def people(forum):
    buyers = [make_registration(forum, kind="buyer") for _ in range(2)]
    producers = [make_registration(forum, kind="producer") for _ in range(3)]
    return buyers, producers


def _seats():
    return db.session.execute(sa.select(MeetingSeat.meeting_id, MeetingSeat.slot_id, MeetingSeat.registration_id)).all()


def test_build_problem_takes_accepted_opted_in_recommended_and_locks(app, forum, people):
    (b1, b2), (p1, p2, p3) = people
    p3.opt_in_recommended = False
    accepted = make_meeting(forum, b1, p1)
    rec = make_meeting(forum, b1, p2, status="recommended", score=0.7)
    rec_opted_out = make_meeting(forum, b2, p3, status="recommended", score=0.9)
    make_meeting(forum, b2, p1, status="requested")
    make_meeting(forum, b2, p2, status="declined")
    locked = make_meeting(
        forum,
        b2,
        make_registration(forum, kind="producer"),
        slot=forum.slots[2],
        table_no=2,
        locked=True,
    )
    b2.sessions = [forum.sessions[0]]
    db.session.flush()

    problem = scheduling.build_problem(forum)
    by_id = {m.id: m for m in problem.meetings}
    assert set(by_id) == {accepted.id, rec.id, locked.id}
    assert rec_opted_out.id not in by_id
    assert by_id[accepted.id].accepted and not by_id[rec.id].accepted and by_id[rec.id].score == 0.7
    assert by_id[locked.id].locked == (forum.slots[2].id, 2)
    assert problem.tables == forum.tables and problem.max_per_participant == forum.max_meetings_per_participant
    assert problem.availability[b2.id] == frozenset(s.id for s in forum.sessions[0].slots)
    assert problem.availability[b1.id] == frozenset(s.id for s in forum.slots)
    assert [s.order for s in problem.slots] == list(range(len(forum.slots)))


def test_participant_of_a_refused_registration_is_left_out(app, forum, people):
    (b1, _b2), (p1, _p2, _p3) = people
    make_meeting(forum, b1, p1)
    p1.status = "refused"
    assert scheduling.build_problem(forum).meetings == ()


def test_run_places_meetings_with_seats_and_keeps_locks(app, forum, organiser, people):
    (b1, b2), (p1, p2, p3) = people
    ms = [make_meeting(forum, b1, p) for p in (p1, p2, p3)] + [make_meeting(forum, b2, p) for p in (p1, p2)]
    locked = ms[0]
    scheduling.write_placement(locked, forum.slots[4].id, 2)
    locked.locked = True
    db.session.flush()

    report = scheduling.run_schedule(organiser, forum)
    assert report.accepted_total == 5 and report.accepted_placed == 5 and report.unplaced == 0
    db.session.expire_all()
    assert (locked.slot_id, locked.table_no) == (forum.slots[4].id, 2)
    placements = [schedule_problem.Placement(m.id, m.slot_id, m.table_no) for m in ms]
    assert schedule_problem.violations(scheduling.build_problem(forum), placements) == []
    seats = _seats()
    assert len(seats) == 10
    for m in ms:
        assert {(s.slot_id, s.registration_id) for s in m.seats} == {
            (m.slot_id, m.requester_id),
            (m.slot_id, m.invitee_id),
        }
    assert forum.scheduled_at is not None

    # a re-run keeps the lock and still places everything once
    scheduling.run_schedule(organiser, forum)
    db.session.expire_all()
    assert (locked.slot_id, locked.table_no) == (forum.slots[4].id, 2)
    assert len(_seats()) == 10


def test_run_unplaces_meetings_that_are_no_longer_schedulable(app, forum, organiser, people):
    (b1, _b2), (p1, _p2, _p3) = people
    m = make_meeting(forum, b1, p1, status="recommended", slot=forum.slots[0], table_no=1)
    p1.opt_in_recommended = False
    scheduling.run_schedule(organiser, forum)
    db.session.expire_all()
    assert m.slot_id is None and _seats() == []


def test_run_respects_capacity_and_reports_unplaced(app, organiser):
    forum = make_forum(sessions=1, slots_per_session=1, tables=1)
    b = make_registration(forum, kind="buyer")
    p1, p2 = make_registration(forum, kind="producer"), make_registration(forum, kind="producer")
    make_meeting(forum, b, p1)
    make_meeting(forum, b, p2)
    report = scheduling.run_schedule(organiser, forum)
    assert report.placed == 1 and report.unplaced == 1
    assert len(scheduling.grid(forum).unplaced) == 1


def test_only_organisers_run_and_not_on_draft_or_finished(app, forum, buyer, organiser):
    with pytest.raises(NotAllowed):
        scheduling.run_schedule(buyer, forum)
    forum.status = "finished"
    with pytest.raises(ServiceError):
        scheduling.run_schedule(organiser, forum)
    forum.status = "draft"
    with pytest.raises(ServiceError):
        scheduling.run_schedule(organiser, forum)


def test_move_places_and_locks(app, forum, organiser, people):
    (b1, b2), (p1, p2, _p3) = people
    m = make_meeting(forum, b1, p1)
    scheduling.move(organiser, m, forum.slots[1].id, 2)
    assert (m.slot_id, m.table_no, m.locked) == (forum.slots[1].id, 2, True)
    assert len(m.seats) == 2
    # moving again replaces its seats
    scheduling.move(organiser, m, forum.slots[3].id, 1)
    db.session.expire_all()
    assert {s.slot_id for s in m.seats} == {forum.slots[3].id} and len(_seats()) == 2


def test_move_refuses_taken_tables_and_busy_participants(app, forum, organiser, people):
    (b1, b2), (p1, p2, p3) = people
    placed = make_meeting(forum, b1, p1, slot=forum.slots[0], table_no=1)
    m = make_meeting(forum, b2, p2)
    with pytest.raises(ServiceError) as error:
        scheduling.move(organiser, m, forum.slots[0].id, 1)
    assert error.value.field == "table_no"
    busy = make_meeting(forum, b1, p3)
    with pytest.raises(ServiceError) as error:
        scheduling.move(organiser, busy, forum.slots[0].id, 2)
    assert error.value.field == "slot_id"
    with pytest.raises(ServiceError):
        scheduling.move(organiser, m, forum.slots[0].id, forum.tables + 1)
    other_forum = make_forum()
    with pytest.raises(ServiceError):
        scheduling.move(organiser, m, other_forum.slots[0].id, 1)
    requested = make_meeting(forum, b2, p3, status="requested")
    with pytest.raises(ServiceError):
        scheduling.move(organiser, requested, forum.slots[1].id, 1)
    assert placed.slot_id == forum.slots[0].id


def test_lock_unlock_unschedule(app, forum, organiser, buyer, people):
    (b1, _b2), (p1, _p2, _p3) = people
    m = make_meeting(forum, b1, p1)
    with pytest.raises(ServiceError):
        scheduling.set_locked(organiser, m, True)  # not placed
    with pytest.raises(ServiceError):
        scheduling.unschedule_meeting(organiser, m)
    scheduling.move(organiser, m, forum.slots[0].id, 1)
    scheduling.set_locked(organiser, m, False)
    assert not m.locked
    with pytest.raises(NotAllowed):
        scheduling.set_locked(buyer, m, True)
    scheduling.unschedule_meeting(organiser, m)
    db.session.flush()
    assert m.slot_id is None and _seats() == []


def test_grid_shows_conflicts(app, organiser):
    forum = make_forum(sessions=2, slots_per_session=2, tables=2, max_meetings_per_participant=1)
    b = make_registration(forum, kind="buyer", sessions=[forum.sessions[0]])
    p1, p2 = make_registration(forum, kind="producer"), make_registration(forum, kind="producer")
    in_unavailable = make_meeting(forum, b, p1, slot=forum.sessions[1].slots[0], table_no=1)
    second = make_meeting(forum, b, p2, slot=forum.sessions[0].slots[0], table_no=1)
    grid = scheduling.grid(forum)
    assert grid.cells[(forum.sessions[1].slots[0].id, 1)] is in_unavailable
    assert any("không rảnh" in p for p in grid.conflicts[in_unavailable.id])
    assert any("quá mức" in p for p in grid.conflicts[second.id])
    assert grid.placed_count == 2 and grid.tables == [1, 2]
