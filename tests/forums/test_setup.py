"""Forum set-up: validation, sessions and their slots, status transitions, visibility."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.extensions import db
from marketplace.forums import setup
from marketplace.forums.models import ForumSlot
from marketplace.forums.setup import ForumData, SessionData
from tests.forums.factories import make_forum, make_meeting, make_registration
from tests.helpers import make_user


def _data(**changes) -> ForumData:
    values = dict(
        title="  Diễn đàn   kết nối OCOP Hà Nội ",
        starts_on=date(2027, 1, 10),
        ends_on=date(2027, 1, 11),
        registration_deadline=datetime(2027, 1, 1, 10, 0, tzinfo=UTC),
        tables=10,
    )
    values.update(changes)
    return ForumData(**values)


def test_create_forum_cleans_and_starts_as_draft(app, organiser):
    forum = setup.create_forum(organiser, _data(fee_vnd=200_000))
    assert forum.title == "Diễn đàn kết nối OCOP Hà Nội"
    assert forum.status == "draft" and forum.created_by_id == organiser.id and forum.fee_vnd == 200_000


def test_only_organisers_create_forums(app, buyer):
    with pytest.raises(NotAllowed):
        setup.create_forum(buyer, _data())


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "  "}, "title"),
        ({"ends_on": date(2027, 1, 9)}, "ends_on"),
        ({"starts_on": None}, "starts_on"),
        ({"registration_deadline": None}, "registration_deadline"),
        ({"registration_deadline": datetime(2027, 1, 12, 10, 0, tzinfo=UTC)}, "registration_deadline"),
        ({"request_deadline": datetime(2027, 2, 1, tzinfo=UTC)}, "request_deadline"),
        ({"tables": 0}, "tables"),
        ({"max_meetings_per_participant": 0}, "max_meetings_per_participant"),
        ({"capacity_buyers": -1}, "capacity_buyers"),
        ({"fee_vnd": -5}, "fee_vnd"),
    ],
)
def test_create_forum_refuses_bad_input(app, organiser, changes, field):
    with pytest.raises(ServiceError) as error:
        setup.create_forum(organiser, _data(**changes))
    assert error.value.field == field


def test_slot_times_skip_the_break_and_use_hanoi_time():
    session = SessionData(
        day=date(2027, 1, 10),
        starts_at=time(8, 0),
        ends_at=time(10, 0),
        meeting_minutes=30,
        break_starts_at=time(9, 0),
        break_ends_at=time(9, 30),
    )
    times = setup.slot_times(session)
    # 08:00, 08:30, (break 09:00-09:30), 09:30 Hà Nội = 01:00, 01:30, 02:30 UTC
    assert [t[0] for t in times] == [
        datetime(2027, 1, 10, 1, 0, tzinfo=UTC),
        datetime(2027, 1, 10, 1, 30, tzinfo=UTC),
        datetime(2027, 1, 10, 2, 30, tzinfo=UTC),
    ]
    assert times[-1][1] == datetime(2027, 1, 10, 3, 0, tzinfo=UTC)


def test_a_break_that_cuts_a_meeting_moves_it_after_the_break():
    session = SessionData(
        day=date(2027, 1, 10),
        starts_at=time(8, 0),
        ends_at=time(9, 0),
        meeting_minutes=20,
        break_starts_at=time(8, 30),
        break_ends_at=time(8, 35),
    )
    starts = [s.astimezone(setup.HANOI).time() for s, _e in setup.slot_times(session)]
    assert starts == [time(8, 0), time(8, 35)]


def _forum(organiser):
    return setup.create_forum(organiser, _data())


def test_set_sessions_generates_slots(app, organiser):
    forum = _forum(organiser)
    setup.set_sessions(
        organiser,
        forum,
        [
            SessionData(
                day=date(2027, 1, 10), starts_at=time(8, 0), ends_at=time(9, 0), meeting_minutes=20, name="Sáng"
            ),
            SessionData(day=date(2027, 1, 11), starts_at=time(14, 0), ends_at=time(15, 0), meeting_minutes=30),
        ],
    )
    assert [s.name for s in forum.sessions] == ["Sáng", ""]
    assert len(forum.slots) == 5
    assert [s.position for s in forum.sessions[0].slots] == [0, 1, 2]


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (SessionData(day=date(2027, 1, 20), starts_at=time(8, 0), ends_at=time(9, 0)), "sessions-0-day"),
        (SessionData(day=date(2027, 1, 10), starts_at=time(9, 0), ends_at=time(8, 0)), "sessions-0-ends_at"),
        (
            SessionData(day=date(2027, 1, 10), starts_at=time(8, 0), ends_at=time(9, 0), meeting_minutes=45),
            "sessions-0-meeting_minutes",
        ),
        (SessionData(day=date(2027, 1, 10), starts_at=time(8, 0), ends_at=time(8, 10)), "sessions-0-ends_at"),
        (SessionData(day=None, starts_at=time(8, 0), ends_at=time(9, 0)), "sessions-0-day"),
        (
            SessionData(day=date(2027, 1, 10), starts_at=time(8, 0), ends_at=time(9, 0), break_starts_at=time(8, 30)),
            "sessions-0-break_starts_at",
        ),
        (
            SessionData(
                day=date(2027, 1, 10),
                starts_at=time(8, 0),
                ends_at=time(9, 0),
                break_starts_at=time(9, 30),
                break_ends_at=time(10, 0),
            ),
            "sessions-0-break_starts_at",
        ),
    ],
)
def test_set_sessions_refuses_bad_sessions(app, organiser, item, field):
    forum = _forum(organiser)
    with pytest.raises(ServiceError) as error:
        setup.set_sessions(organiser, forum, [item])
    assert error.value.field == field


def test_overlapping_sessions_are_refused(app, organiser):
    forum = _forum(organiser)
    with pytest.raises(ServiceError) as error:
        setup.set_sessions(
            organiser,
            forum,
            [
                SessionData(day=date(2027, 1, 10), starts_at=time(8, 0), ends_at=time(10, 0)),
                SessionData(day=date(2027, 1, 10), starts_at=time(9, 0), ends_at=time(11, 0)),
            ],
        )
    assert error.value.field == "sessions-1-starts_at"


def test_no_sessions_is_refused(app, organiser):
    with pytest.raises(ServiceError):
        setup.set_sessions(organiser, _forum(organiser), [])


def test_editing_a_session_regenerates_its_slots_and_keeps_others(app, organiser):
    forum = make_forum(sessions=2, slots_per_session=3)
    first, second = forum.sessions
    second_slot_ids = [s.id for s in second.slots]
    items = [
        SessionData(
            id=first.id, day=first.day, starts_at=time(8, 0), ends_at=time(10, 0), meeting_minutes=30, name="Mới"
        ),
        SessionData(
            id=second.id,
            day=second.day,
            starts_at=second.starts_at,
            ends_at=second.ends_at,
            meeting_minutes=20,
            name="B",
        ),
    ]
    setup.set_sessions(organiser, forum, items)
    db.session.expire_all()
    assert len(first.slots) == 4 and first.name == "Mới"
    assert [s.id for s in second.slots] == second_slot_ids and second.name == "B"


def test_removing_a_session_drops_its_slots_and_availability(app, organiser):
    forum = make_forum(sessions=2)
    first, second = forum.sessions
    registration = make_registration(forum, kind="buyer")
    setup.set_sessions(
        organiser,
        forum,
        [SessionData(id=first.id, day=first.day, starts_at=first.starts_at, ends_at=first.ends_at, meeting_minutes=20)],
    )
    db.session.expire_all()
    assert [s.id for s in forum.sessions] == [first.id]
    assert db.session.query(ForumSlot).filter_by(session_id=second.id).count() == 0
    assert [s.id for s in registration.sessions] == [first.id]


def test_changing_a_session_with_scheduled_meetings_is_refused(app, organiser):
    forum = make_forum(sessions=1)
    session = forum.sessions[0]
    a, b = make_registration(forum, kind="buyer"), make_registration(forum, kind="producer")
    make_meeting(forum, a, b, slot=forum.slots[0], table_no=1)
    changed = SessionData(id=session.id, day=session.day, starts_at=time(9, 0), ends_at=time(10, 0))
    with pytest.raises(ServiceError, match="đã có cuộc gặp"):
        setup.set_sessions(organiser, forum, [changed])
    new_one = SessionData(day=session.day + timedelta(days=0), starts_at=time(14, 0), ends_at=time(15, 0))
    with pytest.raises(ServiceError, match="đã có cuộc gặp"):
        setup.set_sessions(organiser, forum, [new_one])  # removes the scheduled one
    # renaming only is fine
    same = SessionData(
        id=session.id, day=session.day, starts_at=session.starts_at, ends_at=session.ends_at, name="Đổi tên"
    )
    setup.set_sessions(organiser, forum, [same])
    assert forum.sessions[0].name == "Đổi tên"


def test_session_of_another_forum_is_refused(app, organiser):
    forum, other = make_forum(), make_forum()
    s = other.sessions[0]
    with pytest.raises(ServiceError):
        setup.set_sessions(
            organiser, forum, [SessionData(id=s.id, day=forum.starts_on, starts_at=time(8, 0), ends_at=time(9, 0))]
        )


def test_status_transitions(app, organiser):
    forum = _forum(organiser)
    with pytest.raises(ServiceError):
        setup.change_status(organiser, forum, "open")  # no sessions yet
    setup.set_sessions(organiser, forum, [SessionData(day=date(2027, 1, 10), starts_at=time(8, 0), ends_at=time(9, 0))])
    with pytest.raises(ServiceError):
        setup.change_status(organiser, forum, "finished")
    for status in ("open", "closed", "open", "closed", "finished"):
        setup.change_status(organiser, forum, status)
        assert forum.status == status
    with pytest.raises(ServiceError):
        setup.change_status(organiser, forum, "open")
    with pytest.raises(ServiceError):
        setup.update_forum(organiser, forum, _data())


def test_lowering_tables_below_a_used_table_is_refused(app, organiser):
    forum = make_forum(tables=5, starts_on=date(2027, 1, 10), ends_on=date(2027, 1, 10))
    a, b = make_registration(forum, kind="buyer"), make_registration(forum, kind="producer")
    make_meeting(forum, a, b, slot=forum.slots[0], table_no=4)
    with pytest.raises(ServiceError) as error:
        setup.update_forum(organiser, forum, _data(tables=3, ends_on=date(2027, 1, 10)))
    assert error.value.field == "tables"
    setup.update_forum(organiser, forum, _data(tables=4, ends_on=date(2027, 1, 10)))
    assert forum.tables == 4


def test_visible_forums_hide_drafts_from_the_public(app, organiser):
    draft, open_ = make_forum(status="draft"), make_forum(status="open")
    assert setup.visible_forums(None) == [open_]
    assert setup.visible_forums(make_user(roles=("buyer",))) == [open_]
    assert set(setup.visible_forums(organiser)) == {draft, open_}
    finished = make_forum(status="finished", days_ahead=-30)
    over = make_forum(status="closed", days_ahead=-5)
    assert setup.visible_forums(None) == [open_]
    assert setup.past_forums() == [over, finished]
    assert setup.get_forum(draft.id, None) is None
    assert setup.get_forum(draft.id, organiser) is draft
