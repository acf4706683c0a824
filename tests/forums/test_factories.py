from tests.forums.factories import make_forum, make_meeting, make_registration


def test_factories_build_a_placed_meeting(app):
    forum = make_forum(sessions=2, slots_per_session=3)
    assert len(forum.sessions) == 2 and len(forum.slots) == 6
    buyer = make_registration(forum, kind="buyer")
    producer = make_registration(forum, kind="producer")
    assert producer.producer_id is not None and buyer.sessions == forum.sessions
    meeting = make_meeting(forum, buyer, producer, slot=forum.slots[0], table_no=2)
    assert len(meeting.seats) == 2 and meeting.table_no == 2
