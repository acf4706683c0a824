"""Check-in at the door, attendance, releasing no-shows."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.extensions import db
from marketplace.forums import checkin
from marketplace.forums.models import MeetingSeat
from marketplace.inquiries.models import Notification
from tests.forums.test_day_support import build_day, start, switch_user
from tests.helpers import make_user


@pytest.fixture
def day(app):
    return build_day()


def notifications_of(user) -> list[Notification]:
    return list(db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id)))


# --------------------------------------------------------------------------- services


def test_check_in_records_time_and_organiser(day):
    moment = utcnow()
    result = checkin.check_in(day.organiser, day.forum, f"  {day.buyer.checkin_code}\n", now=moment)
    assert not result.already
    assert day.buyer.checked_in_at == moment and day.buyer.checked_in_by_id == day.organiser.id


def test_second_scan_says_already_and_changes_nothing(day):
    first = utcnow() - timedelta(minutes=5)
    checkin.check_in(day.organiser, day.forum, day.buyer.checkin_code, now=first)
    other = make_user(roles=("admin",))
    result = checkin.check_in(other, day.forum, day.buyer.checkin_code, now=utcnow())
    assert result.already
    assert day.buyer.checked_in_at == first and day.buyer.checked_in_by_id == day.organiser.id


def test_code_letter_case_is_forgiven(day):
    day.buyer.checkin_code = "AbC-123"
    db.session.flush()
    assert checkin.check_in(day.organiser, day.forum, "abc-123").registration is day.buyer


@pytest.mark.parametrize(
    ("code", "message"),
    [("", "Nhập hoặc quét mã"), ("khong-co-ma", "Không có đăng ký nào"), ("x" * 41, "không hợp lệ")],
)
def test_bad_codes_are_refused(day, code, message):
    with pytest.raises(ServiceError, match=message) as raised:
        checkin.check_in(day.organiser, day.forum, code)
    assert raised.value.field == "code"


def test_code_of_another_forum_is_refused(day):
    with pytest.raises(ServiceError, match="diễn đàn khác") as raised:
        checkin.check_in(day.organiser, day.forum, day.outsider.checkin_code)
    assert raised.value.code == "other_forum"
    assert day.outsider.checked_in_at is None


@pytest.mark.parametrize(("who", "message"), [("pending", "chưa được duyệt"), ("refused", "bị từ chối")])
def test_unapproved_registrations_are_refused(day, who, message):
    registration = getattr(day, who)
    with pytest.raises(ServiceError, match=message):
        checkin.check_in(day.organiser, day.forum, registration.checkin_code)
    assert registration.checked_in_at is None


def test_only_organisers_check_in(day):
    with pytest.raises(NotAllowed):
        checkin.check_in(day.buyer_user, day.forum, day.buyer2.checkin_code)


def test_attendance_filters(day):
    checkin.check_in(day.organiser, day.forum, day.buyer.checkin_code)

    def names(**args) -> list[int]:
        page = checkin.attendance_page(day.forum, checkin.AttendanceFilters.from_args(args), 1)
        return [r.id for r in page.items]

    assert set(names()) == {day.buyer.id, day.buyer2.id, day.producer.id}
    assert names()[0] == day.buyer.id  # arrived first
    assert names(state="in") == [day.buyer.id]
    assert set(names(state="out")) == {day.buyer2.id, day.producer.id}
    assert names(kind="producer") == [day.producer.id]
    assert names(q="gao soc son") == [day.producer.id]  # accents ignored
    assert names(q="không ai") == []
    assert set(names(kind="junk", state="junk")) == {day.buyer.id, day.buyer2.id, day.producer.id}
    counts = checkin.attendance_counts(day.forum)
    assert (counts.approved, counts.checked_in, counts.absent) == (3, 1, 2)


def test_nothing_to_release_before_the_slot_starts(day):
    assert checkin.releasable(day.forum) == []
    assert checkin.release_no_shows(day.organiser, day.forum) == []
    assert day.m1.status == "accepted"


def test_release_no_shows_after_slot_start(day):
    start(day.slots[0])
    checkin.check_in(day.organiser, day.forum, day.producer.checkin_code)
    released = checkin.release_no_shows(day.organiser, day.forum)
    assert [m.id for m in released] == [day.m1.id]
    assert day.m1.status == "released" and day.m1.slot_id is None and day.m1.table_no is None
    assert db.session.scalar(sa.select(sa.func.count()).where(MeetingSeat.meeting_id == day.m1.id)) == 0
    assert day.m2.status == "accepted"  # its slot has not started
    told = notifications_of(day.producer_user)
    assert len(told) == 1 and told[0].kind == "forum_released" and "Siêu thị Xanh" in told[0].text
    assert told[0].link == f"/forums/{day.forum.id}/agenda"
    assert notifications_of(day.buyer_user) == []  # the absent side is not told


def test_release_of_one_participant_only(day):
    start(day.slots[0])
    start(day.slots[1], minutes_ago=5)
    released = checkin.release_no_shows(day.organiser, day.forum, registration=day.buyer2)
    assert [m.id for m in released] == [day.m2.id]
    assert day.m1.status == "accepted"
    assert [n.kind for n in notifications_of(day.producer_user)] == ["forum_released"]


def test_meetings_with_both_present_or_an_outcome_stay(day):
    from marketplace.forums.models import MeetingOutcome

    start(day.slots[0])
    start(day.slots[1])
    for r in (day.buyer, day.producer):
        checkin.check_in(day.organiser, day.forum, r.checkin_code)
    db.session.add(MeetingOutcome(meeting_id=day.m2.id, registration_id=day.producer.id, result="no_show"))
    db.session.flush()
    assert checkin.release_no_shows(day.organiser, day.forum) == []


def test_release_is_for_organisers_and_the_forum(day):
    with pytest.raises(NotAllowed):
        checkin.release_no_shows(day.buyer_user, day.forum)
    with pytest.raises(ServiceError):
        checkin.release_no_shows(day.organiser, day.forum, registration=day.outsider)


# --------------------------------------------------------------------------- pages


def test_checkin_page_has_scanner_and_form(client, day):
    switch_user(client, day.organiser)
    page = client.get(f"/forums/{day.forum.id}/check-in")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "data-scanner hidden" in html and "forums_day_scanner.js" in html
    assert 'name="code"' in html


def test_checkin_post_then_again(client, day):
    switch_user(client, day.organiser)
    url = f"/forums/{day.forum.id}/check-in"
    first = client.post(url, data={"code": day.buyer.checkin_code})
    assert first.status_code == 200
    assert 'data-checkin-result="ok"' in first.get_data(as_text=True)
    db.session.expire_all()
    at = day.buyer.checked_in_at
    assert at is not None
    second = client.post(url, data={"code": day.buyer.checkin_code})
    html = second.get_data(as_text=True)
    assert 'data-checkin-result="already"' in html and "đã check-in lúc" in html
    db.session.expire_all()
    assert day.buyer.checked_in_at == at


def test_checkin_post_errors_keep_the_code(client, day):
    switch_user(client, day.organiser)
    url = f"/forums/{day.forum.id}/check-in"
    page = client.post(url, data={"code": day.outsider.checkin_code})
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "diễn đàn khác" in html and day.outsider.checkin_code in html
    assert client.post(url, data={"code": ""}).status_code == 422
    page = client.post(url, data={"code": day.refused.checkin_code})
    assert page.status_code == 422 and "bị từ chối" in page.get_data(as_text=True)


def test_checkin_access(client, day):
    url = f"/forums/{day.forum.id}/check-in"
    assert client.get(url).status_code == 302
    switch_user(client, day.buyer_user)
    assert client.get(url).status_code == 403
    assert client.post(url, data={"code": day.buyer.checkin_code}).status_code == 403
    db.session.expire_all()
    assert day.buyer.checked_in_at is None
    switch_user(client, day.organiser)
    assert client.get("/forums/999999/check-in").status_code == 404


def test_attendance_page_and_release(client, day):
    start(day.slots[0])
    switch_user(client, day.organiser)
    url = f"/forums/{day.forum.id}/attendance"
    html = client.get(url).get_data(as_text=True)
    assert "Siêu thị Xanh" in html and "Giải phóng tất cả" in html
    assert "HTX Chờ duyệt" not in html
    assert "Nhà hàng Sen" not in client.get(url + "?kind=producer").get_data(as_text=True)
    response = client.post(f"/forums/{day.forum.id}/no-shows/release", data={"registration_id": str(day.buyer.id)})
    assert response.status_code == 302
    db.session.expire_all()
    assert day.m1.status == "released"
    assert "Không có cuộc gặp nào đã bắt đầu" in client.get(url).get_data(as_text=True)


def test_release_refuses_participants_and_other_forums(client, day):
    start(day.slots[0])
    url = f"/forums/{day.forum.id}/no-shows/release"
    switch_user(client, day.producer_user)
    assert client.post(url).status_code == 403
    switch_user(client, day.organiser)
    assert client.post(url, data={"registration_id": str(day.outsider.id)}).status_code == 404
    assert client.post(url, data={"registration_id": "abc"}).status_code == 404
    db.session.expire_all()
    assert day.m1.status == "accepted"
    assert client.post(url).status_code == 302
    db.session.expire_all()
    assert day.m1.status == "released"


def test_attendance_access(client, day):
    url = f"/forums/{day.forum.id}/attendance"
    assert client.get(url).status_code == 302
    switch_user(client, day.producer_user)
    assert client.get(url).status_code == 403
