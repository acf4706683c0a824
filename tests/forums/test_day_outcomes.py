"""Meeting outcomes: each side records its result after the slot starts; only the two sides."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace.core.errors import ServiceError
from marketplace.extensions import db
from marketplace.forums import outcomes
from marketplace.forums.models import MeetingOutcome
from marketplace.forums.outcomes import OutcomeData
from tests.forums.test_day_support import build_day, start, switch_user


@pytest.fixture
def day(app):
    return build_day()


def outcome_rows(meeting) -> list[MeetingOutcome]:
    return list(db.session.scalars(sa.select(MeetingOutcome).where(MeetingOutcome.meeting_id == meeting.id)))


# --------------------------------------------------------------------------- services


def test_not_before_the_slot_starts(day):
    with pytest.raises(ServiceError, match="sau khi cuộc gặp đã bắt đầu"):
        outcomes.record_outcome(day.buyer_user, day.m1, OutcomeData("held"))
    assert outcome_rows(day.m1) == []


def test_each_side_records_and_edits_its_own(day):
    start(day.slots[0])
    mine = outcomes.record_outcome(day.buyer_user, day.m1, OutcomeData("negotiating", 50_000_000, " Gửi mẫu "))
    theirs = outcomes.record_outcome(day.producer_user, day.m1, OutcomeData("agreement", 80_000_000))
    assert (mine.registration_id, mine.result, mine.deal_value_vnd, mine.note) == (
        day.buyer.id,
        "negotiating",
        50_000_000,
        "Gửi mẫu",
    )
    assert theirs.registration_id == day.producer.id
    again = outcomes.record_outcome(day.buyer_user, day.m1, OutcomeData("agreement", None))
    assert again.id == mine.id and again.result == "agreement" and again.deal_value_vnd is None
    assert len(outcome_rows(day.m1)) == 2


def test_only_the_two_participants(day):
    start(day.slots[0])
    for user in (day.buyer2_user, day.organiser):
        with pytest.raises(ServiceError) as raised:
            outcomes.record_outcome(user, day.m1, OutcomeData("held"))
        assert raised.value.code == "not_found"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (OutcomeData("won"), "result"),
        (OutcomeData("held", -1), "deal_value"),
        (OutcomeData("held", 10**13 + 1), "deal_value"),
        (OutcomeData("held", None, "x" * 1001), "note"),
    ],
)
def test_bad_input(day, data, field):
    start(day.slots[0])
    with pytest.raises(ServiceError) as raised:
        outcomes.record_outcome(day.buyer_user, day.m1, data)
    assert raised.value.field == field


def test_largest_value_accepted(day):
    start(day.slots[0])
    assert outcomes.record_outcome(day.buyer_user, day.m1, OutcomeData("agreement", 10**13)).deal_value_vnd == 10**13


def test_not_for_released_or_unplaced_meetings(day):
    start(day.slots[0])
    day.m1.status = "released"
    db.session.flush()
    with pytest.raises(ServiceError, match="không có trong lịch"):
        outcomes.record_outcome(day.buyer_user, day.m1, OutcomeData("held"))
    with pytest.raises(ServiceError, match="không có trong lịch"):
        outcomes.record_outcome(day.buyer_user, day.m3, OutcomeData("held"))


# --------------------------------------------------------------------------- pages


def url(day, meeting) -> str:
    return f"/forums/{day.forum.id}/meetings/{meeting.id}/outcome"


def test_outcome_form_after_start(client, day):
    start(day.slots[0])
    switch_user(client, day.buyer_user)
    page = client.get(url(day, day.m1))
    assert page.status_code == 200 and 'name="result"' in page.get_data(as_text=True)
    response = client.post(url(day, day.m1), data={"result": "agreement", "deal_value": "150.000.000", "note": "Ký"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/forums/{day.forum.id}/agenda")
    (row,) = outcome_rows(day.m1)
    assert (row.result, row.deal_value_vnd, row.note) == ("agreement", 150_000_000, "Ký")
    edit = client.get(url(day, day.m1)).get_data(as_text=True)
    assert 'value="150000000"' in edit
    agenda = client.get(f"/forums/{day.forum.id}/agenda").get_data(as_text=True)
    assert "Đã thỏa thuận" in agenda and "150.000.000 ₫" in agenda


def test_outcome_form_before_start_says_wait(client, day):
    switch_user(client, day.buyer_user)
    assert "sau khi cuộc gặp bắt đầu" in client.get(url(day, day.m1)).get_data(as_text=True)
    response = client.post(url(day, day.m1), data={"result": "held"})
    assert response.status_code == 422
    assert outcome_rows(day.m1) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"result": ""}, "Chọn một kết quả"),
        ({"result": "won"}, "Lựa chọn không hợp lệ"),
        ({"result": "held", "deal_value": "nhiều tiền"}, "bằng chữ số"),
        ({"result": "held", "deal_value": "-5"}, "bằng chữ số"),
        ({"result": "held", "deal_value": "20.000.000.000.000"}, "10.000 tỷ"),
    ],
)
def test_outcome_form_errors_keep_input(client, day, data, message):
    start(day.slots[0])
    switch_user(client, day.buyer_user)
    page = client.post(url(day, day.m1), data={**data, "note": "giữ lại ghi chú"})
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert message in html and "giữ lại ghi chú" in html
    assert outcome_rows(day.m1) == []


def test_outcome_access(client, day):
    start(day.slots[0])
    assert client.get(url(day, day.m1)).status_code == 302
    for user in (day.buyer2_user, day.organiser):
        switch_user(client, user)
        assert client.get(url(day, day.m1)).status_code == 404
        assert client.post(url(day, day.m1), data={"result": "held"}).status_code == 404
    switch_user(client, day.buyer_user)
    assert client.get(f"/forums/{day.other_forum.id}/meetings/{day.m1.id}/outcome").status_code == 404
    assert client.get(f"/forums/{day.forum.id}/meetings/999999/outcome").status_code == 404
    assert outcome_rows(day.m1) == []
