"""Forums with a fee: after approval the fee order waits; until it is paid the participant cannot
meet, is not in the directory and is not scheduled."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace.core.errors import ServiceError
from marketplace.extensions import db
from marketplace.forums import meetings, scheduling
from marketplace.forums import registration as registrations
from marketplace.forums.registration import DirectoryQuery
from marketplace.payments.models import Order
from marketplace.payments.services import fee_paid
from tests.forums.factories import make_forum, make_meeting, make_registration
from tests.helpers import login


@pytest.fixture
def paid_forum(organiser):
    return make_forum(created_by=organiser, fee_vnd=300_000)


def _pay(registration):
    order = db.session.scalar(sa.select(Order).where(Order.forum_registration_id == registration.id))
    order.state = "paid"
    db.session.flush()


def test_approval_opens_a_fee_order(app, paid_forum, organiser):
    r = make_registration(paid_forum, kind="buyer", status="pending")
    registrations.approve(organiser, r)
    order = db.session.scalar(sa.select(Order).where(Order.forum_registration_id == r.id))
    assert order is not None and order.amount_vnd == 300_000 and order.kind == "forum_fee"
    assert not fee_paid(r.id) and not registrations.is_active(r)
    _pay(r)
    assert registrations.is_active(r)


def test_unpaid_participants_cannot_meet(app, paid_forum, organiser):
    a = make_registration(paid_forum, kind="buyer", status="pending")
    b = make_registration(paid_forum, kind="producer", status="pending")
    registrations.approve(organiser, a)
    registrations.approve(organiser, b)
    with pytest.raises(ServiceError, match="nộp phí"):
        meetings.request_meeting(a, b)
    _pay(a)
    with pytest.raises(ServiceError, match="không tham gia"):
        meetings.request_meeting(a, b)  # b has not paid
    _pay(b)
    m = meetings.request_meeting(a, b)
    assert m.status == "requested"


def test_unpaid_participants_are_not_listed_nor_scheduled(app, paid_forum, organiser):
    a = make_registration(paid_forum, kind="buyer", status="pending", organisation="Đã nộp")
    b = make_registration(paid_forum, kind="producer", status="pending", organisation="Chưa nộp")
    registrations.approve(organiser, a)
    registrations.approve(organiser, b)
    _pay(a)
    listed = registrations.directory(paid_forum, DirectoryQuery(), 1)
    assert [r.id for r in listed.items] == [a.id]
    make_meeting(paid_forum, a, b)
    assert scheduling.build_problem(paid_forum).meetings == ()
    _pay(b)
    assert len(scheduling.build_problem(paid_forum).meetings) == 1


def test_pages_show_the_fee(client, paid_forum, organiser):
    r = make_registration(paid_forum, kind="buyer", status="pending")
    registrations.approve(organiser, r)
    db.session.commit()
    login(client, r.user)
    text = client.get(f"/forums/{paid_forum.id}").get_data(as_text=True)
    assert "300.000" in text and "Chưa nộp phí" in text and "Thanh toán phí" in text
    assert "cần nộp phí tham dự" in client.get(f"/forums/{paid_forum.id}/meetings").get_data(as_text=True)
    login(client, organiser)
    assert "Chưa nộp phí" in client.get(f"/forums/{paid_forum.id}/registrations?status=approved").get_data(as_text=True)
