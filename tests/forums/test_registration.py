"""Registration: rules, capacity, deadline, approval and refusal, the directory."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.extensions import db
from marketplace.forums import registration as registrations
from marketplace.forums.models import Meeting
from marketplace.forums.registration import DirectoryQuery, RegistrationData
from marketplace.inquiries.models import Notification
from tests.forums.factories import make_forum, make_meeting, make_registration
from tests.helpers import make_product, make_user


def buyer_data(forum, **changes) -> RegistrationData:
    values = dict(
        kind="buyer",
        contact_name="Nguyễn Thị Mua",
        phone="0912 345 678",
        email="mua@example.vn",
        organisation="Siêu thị Quê Nhà",
        seeks="miến dong, chè shan tuyết",
        groups=["food"],
        session_ids=[s.id for s in forum.sessions],
    )
    values.update(changes)
    return RegistrationData(**values)


def test_buyer_registers_pending_with_sessions_and_a_checkin_code(app, forum, buyer, organiser):
    r = registrations.register(forum, buyer, buyer_data(forum, session_ids=[forum.sessions[1].id]))
    assert r.status == "pending" and r.kind == "buyer" and r.groups == "food"
    assert [s.id for s in r.sessions] == [forum.sessions[1].id]
    assert len(r.checkin_code) >= 12
    # the organiser who created the forum is told
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Notification).where(Notification.user_id == organiser.id)
        )
        == 1
    )


def test_producer_registers_with_its_own_published_products(app, forum, producer_user, producer, product):
    data = buyer_data(
        forum, kind="producer", producer_id=producer.id, product_ids=[product.id], organisation="", offers="Miến dong"
    )
    r = registrations.register(forum, producer_user, data)
    assert r.producer_id == producer.id and r.products == [product]
    assert r.organisation == producer.name


def test_producer_cannot_bring_another_producers_product(app, forum, producer_user, producer):
    foreign = make_product(name="Sản phẩm người khác")
    data = buyer_data(forum, kind="producer", producer_id=producer.id, product_ids=[foreign.id])
    with pytest.raises(ServiceError) as error:
        registrations.register(forum, producer_user, data)
    assert error.value.field == "product_ids"


def test_producer_must_manage_the_producer(app, forum, producer_user):
    other = make_product().producer
    with pytest.raises(ServiceError) as error:
        registrations.register(forum, producer_user, buyer_data(forum, kind="producer", producer_id=other.id))
    assert error.value.field == "producer_id"


def test_a_producer_account_cannot_register_as_buyer(app, forum, producer_user):
    with pytest.raises(ServiceError) as error:
        registrations.register(forum, producer_user, buyer_data(forum))
    assert error.value.field == "kind"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"contact_name": " "}, "contact_name"),
        ({"phone": "", "email": ""}, "phone"),
        ({"phone": "abc"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"seeks": "", "offers": ""}, "seeks"),
        ({"groups": ["nope"]}, "groups"),
        ({"session_ids": []}, "session_ids"),
        ({"session_ids": [999999]}, "session_ids"),
        ({"kind": "visitor"}, "kind"),
    ],
)
def test_bad_registration_input(app, forum, buyer, changes, field):
    with pytest.raises(ServiceError) as error:
        registrations.register(forum, buyer, buyer_data(forum, **changes))
    assert error.value.field == field


def test_registering_twice_is_refused(app, forum, buyer):
    registrations.register(forum, buyer, buyer_data(forum))
    with pytest.raises(ServiceError, match="đã đăng ký"):
        registrations.register(forum, buyer, buyer_data(forum))


def test_registration_deadline_and_status(app, buyer):
    past = make_forum(registration_deadline=utcnow() - timedelta(minutes=1))
    with pytest.raises(ServiceError, match="không còn nhận"):
        registrations.register(past, buyer, buyer_data(past))
    draft = make_forum(status="draft")
    with pytest.raises(ServiceError, match="không còn nhận"):
        registrations.register(draft, buyer, buyer_data(draft))


def test_capacity_per_kind_counts_pending_and_approved(app, buyer):
    forum = make_forum(capacity_buyers=1)
    make_registration(forum, kind="buyer", status="pending")
    with pytest.raises(ServiceError, match="đủ chỗ"):
        registrations.register(forum, buyer, buyer_data(forum))
    # producers have their own capacity
    producer_user = make_user(roles=("producer",))
    from tests.helpers import make_producer

    p = make_producer(managers=[producer_user])
    registrations.register(forum, producer_user, buyer_data(forum, kind="producer", producer_id=p.id))


def test_capacity_enforced_at_approval(app, organiser):
    forum = make_forum(capacity_buyers=1)
    make_registration(forum, kind="buyer", status="approved")
    waiting = make_registration(forum, kind="buyer", status="pending")
    with pytest.raises(ServiceError, match="đủ chỗ"):
        registrations.approve(organiser, waiting)
    assert waiting.status == "pending"


def test_approve_and_refuse_notify_the_participant(app, forum, organiser):
    a = make_registration(forum, kind="buyer", status="pending")
    registrations.approve(organiser, a)
    assert a.status == "approved" and a.decided_by_id == organiser.id and a.decided_at is not None
    with pytest.raises(ServiceError):
        registrations.approve(organiser, a)
    b = make_registration(forum, kind="buyer", status="pending")
    with pytest.raises(ServiceError) as error:
        registrations.refuse(organiser, b, "  ")
    assert error.value.field == "reason"
    registrations.refuse(organiser, b, "Chưa đủ hồ sơ")
    assert b.status == "refused" and b.refusal_reason == "Chưa đủ hồ sơ"
    texts = db.session.scalars(
        sa.select(Notification.text).where(Notification.user_id.in_([a.user_id, b.user_id]))
    ).all()
    assert any("đã được duyệt" in t for t in texts) and any("Chưa đủ hồ sơ" in t for t in texts)


def test_only_organisers_decide(app, forum, buyer):
    r = make_registration(forum, kind="producer", status="pending")
    with pytest.raises(NotAllowed):
        registrations.approve(buyer, r)
    with pytest.raises(NotAllowed):
        registrations.refuse(buyer, r, "x")


def test_refusing_an_approved_participant_cancels_their_meetings(app, forum, organiser):
    a, b = make_registration(forum, kind="buyer"), make_registration(forum, kind="producer")
    m = make_meeting(forum, a, b, slot=forum.slots[0], table_no=1)
    registrations.refuse(organiser, b, "Vắng mặt")
    assert m.status == "cancelled" and m.slot_id is None and m.seats == []


def test_cancel_own_registration(app, forum, buyer):
    r = registrations.register(forum, buyer, buyer_data(forum))
    with pytest.raises(NotAllowed):
        registrations.cancel_registration(r, make_user())
    registrations.cancel_registration(r, buyer)
    assert r.status == "cancelled"
    with pytest.raises(ServiceError):
        registrations.cancel_registration(r, buyer)


def test_update_registration(app, forum, buyer):
    r = registrations.register(forum, buyer, buyer_data(forum))
    registrations.update_registration(
        r, buyer, buyer_data(forum, seeks="gốm Bát Tràng", session_ids=[forum.sessions[0].id])
    )
    assert r.seeks == "gốm Bát Tràng" and [s.id for s in r.sessions] == [forum.sessions[0].id]
    with pytest.raises(NotAllowed):
        registrations.update_registration(r, make_user(), buyer_data(forum))


def test_cannot_drop_a_session_holding_a_scheduled_meeting(app, forum, buyer):
    r = registrations.register(forum, buyer, buyer_data(forum))
    r.status = "approved"
    other = make_registration(forum, kind="producer")
    make_meeting(forum, r, other, slot=forum.sessions[1].slots[0], table_no=1)
    with pytest.raises(ServiceError) as error:
        registrations.update_registration(r, buyer, buyer_data(forum, session_ids=[forum.sessions[0].id]))
    assert error.value.field == "session_ids"


def test_directory_lists_approved_participants_with_filters(app, forum):
    a = make_registration(forum, kind="buyer", organisation="Siêu thị Quê Nhà", seeks="miến dong", groups="food")
    b = make_registration(
        forum,
        kind="producer",
        organisation="HTX Gốm",
        offers="Gốm Bát Tràng",
        groups="handicraft",
        sessions=[forum.sessions[1]],
    )
    make_registration(forum, kind="buyer", organisation="Chờ duyệt", status="pending")
    everyone = registrations.directory(forum, DirectoryQuery(), 1)
    assert {r.id for r in everyone.items} == {a.id, b.id}
    assert [r.id for r in registrations.directory(forum, DirectoryQuery(kind="producer"), 1).items] == [b.id]
    assert [r.id for r in registrations.directory(forum, DirectoryQuery(group="food"), 1).items] == [a.id]
    assert [r.id for r in registrations.directory(forum, DirectoryQuery(q="gom bat"), 1).items] == [b.id]
    assert [r.id for r in registrations.directory(forum, DirectoryQuery(q="MIẾN"), 1).items] == [a.id]
    only_first = registrations.directory(forum, DirectoryQuery(session_id=forum.sessions[0].id), 1)
    assert [r.id for r in only_first.items] == [a.id]


def test_directory_paginates(app, forum):
    for _ in range(5):
        make_registration(forum, kind="buyer")
    page = registrations.directory(forum, DirectoryQuery(), 2, per_page=2)
    assert page.total == 5 and len(page.items) == 2 and page.pages == 3
    searched = registrations.directory(forum, DirectoryQuery(q="cong ty"), 3, per_page=2)
    assert searched.total == 5 and len(searched.items) == 1


def test_meetings_of_a_cancelled_registration_are_cancelled(app, forum, buyer):
    r = registrations.register(forum, buyer, buyer_data(forum))
    r.status = "approved"
    other = make_registration(forum, kind="producer")
    m = make_meeting(forum, other, r, status="requested")
    registrations.cancel_registration(r, buyer)
    assert db.session.get(Meeting, m.id).status == "cancelled"
