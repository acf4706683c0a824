"""Services: inquiries, RFQs and quotes through their whole lifecycle, bad input, state machines."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.extensions import db
from marketplace.inquiries import leads, messaging, rfqs, services
from marketplace.inquiries.models import Inquiry, Notification, Quote, Rfq, Thread
from marketplace.inquiries.responsiveness import responsiveness
from tests.helpers import make_producer, make_product, make_user
from tests.inquiries.conftest import TODAY, quote_data, rfq_data


def notices(user) -> list[Notification]:
    return list(
        db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id))
    )


def inquiry_data(**changes) -> services.InquiryData:
    data = services.InquiryData(
        quantity="1.000", unit="hộp", target_price_vnd="95.000", needed_by=TODAY + timedelta(days=20),
        delivery_district="hoan kiem", message="Chào anh, tôi cần 1.000 hộp chè cho dịp Tết.",
    )  # fmt: skip
    for key, value in changes.items():
        setattr(data, key, value)
    return data


# --------------------------------------------------------------------------- buyer profile


def test_buyer_profile_saved_and_validated(world):
    with pytest.raises(ServiceError) as error:
        services.save_profile(world.buyer, services.ProfileData(kind="supermarket", contact_name="Mai"))
    assert error.value.field == "organisation"
    with pytest.raises(ServiceError) as error:
        services.save_profile(world.buyer, services.ProfileData(kind="spaceship", contact_name="Mai"))
    assert error.value.field == "kind"
    profile = services.save_profile(
        world.buyer,
        services.ProfileData(
            organisation=" Siêu thị  Xanh ",
            kind="supermarket",
            district="cau giay",
            contact_name="Mai",
            phone="0912 345 678",
        ),
    )
    assert (profile.organisation, profile.district) == ("Siêu thị Xanh", "Cầu Giấy")
    assert services.buyer_name(world.buyer) == "Siêu thị Xanh"
    with pytest.raises(NotAllowed):
        services.save_profile(world.seller_a, services.ProfileData(contact_name="An"))


# --------------------------------------------------------------------------- inquiries


def test_inquiry_lifecycle(world):
    inquiry = services.create_inquiry(world.buyer, world.producer_a, inquiry_data(), world.product_a)
    db.session.commit()
    assert inquiry.status == "open" and inquiry.quantity == 1000 and inquiry.target_price_vnd == 95_000
    assert inquiry.delivery_district == "Hoàn Kiếm"
    thread = inquiry.thread
    assert [m.body for m in thread.messages] == [inquiry.message]
    [notice] = notices(world.seller_a)
    assert (
        notice.kind == "inquiry" and "Chè xanh Shan tuyết" in notice.text and notice.link == f"/inquiries/{inquiry.id}"
    )
    assert notices(world.seller_b) == []
    assert messaging.unread_counts(world.seller_a, [thread.id]) == {thread.id: 1}
    assert messaging.unread_counts(world.buyer, [thread.id]) == {}

    messaging.post_message(world.seller_a, thread, "Dạ, bên em báo giá 98.000 ₫/hộp.")
    db.session.commit()
    assert inquiry.status == "answered" and inquiry.first_response_at is not None
    assert messaging.unread_counts(world.seller_a, [thread.id]) == {}
    assert messaging.total_unread(world.buyer) == 1
    assert notices(world.buyer)[-1].kind == "message"
    messaging.mark_read(world.buyer, thread)
    assert messaging.total_unread(world.buyer) == 0

    services.close_inquiry(world.buyer, inquiry)
    db.session.commit()
    assert inquiry.status == "closed"
    with pytest.raises(ServiceError, match="đã đóng"):
        messaging.post_message(world.seller_a, thread, "Còn đó không?")
    with pytest.raises(ServiceError) as error:
        services.close_inquiry(world.seller_a, inquiry)
    assert error.value.code == "illegal_transition"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"quantity": "0"}, "quantity", "lớn hơn 0"),
        ({"quantity": "-5"}, "quantity", "lớn hơn 0"),
        ({"quantity": "năm trăm"}, "quantity", "số nguyên"),
        ({"quantity": "2,5"}, "quantity", "số nguyên"),  # two and a half, never 25
        ({"quantity": "1.5"}, "quantity", "số nguyên"),
        ({"target_price_vnd": "150.000,50"}, "target_price_vnd", "số tiền VND"),
        ({"quantity": ""}, "quantity", "nhập số lượng"),
        ({"target_price_vnd": "0"}, "target_price_vnd", "lớn hơn 0"),
        ({"target_price_vnd": "99.000.000.000"}, "target_price_vnd", "vượt quá"),
        ({"needed_by": TODAY - timedelta(days=1)}, "needed_by", "quá khứ"),
        ({"delivery_district": "Quận 1"}, "delivery_district", "Hà Nội"),
        ({"unit": ""}, "unit", "đơn vị"),
        ({"message": " hi "}, "message", "ít nhất 5"),
    ],
)
def test_inquiry_bad_input_refused(world, changes, field, message):
    with pytest.raises(ServiceError) as error:
        services.create_inquiry(world.buyer, world.producer_a, inquiry_data(**changes), world.product_a)
    assert error.value.field == field and message in error.value.message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Inquiry)) == 0


def test_inquiry_refusals(world):
    unmanaged = make_producer(name="Chưa có chủ")
    with pytest.raises(ServiceError, match="chưa có người quản lý"):
        services.create_inquiry(world.buyer, unmanaged, inquiry_data())
    with pytest.raises(NotAllowed):
        services.create_inquiry(world.seller_a, world.producer_b, inquiry_data())
    both = make_user(roles=("buyer", "producer"))
    world.producer_a.managers.append(both)
    with pytest.raises(ServiceError, match="chính cơ sở"):
        services.create_inquiry(both, world.producer_a, inquiry_data())
    draft = make_product(world.producer_a, status="draft")
    with pytest.raises(ServiceError, match="công khai"):
        services.create_inquiry(world.buyer, world.producer_a, inquiry_data(), draft)
    with pytest.raises(ServiceError, match="công khai"):
        services.create_inquiry(world.buyer, world.producer_b, inquiry_data(), world.product_a)


def test_inquiry_daily_limit(app, world):
    app.config["INQUIRY_DAILY_LIMIT"] = 2
    for _ in range(2):
        services.create_inquiry(world.buyer, world.producer_a, inquiry_data())
    with pytest.raises(services.RateLimited, match="tối đa"):
        services.create_inquiry(world.buyer, world.producer_b, inquiry_data())
    services.create_inquiry(world.other_buyer, world.producer_b, inquiry_data())  # per user
    # Older than a day no longer counts.
    for inquiry in db.session.scalars(sa.select(Inquiry).where(Inquiry.buyer_id == world.buyer.id)):
        inquiry.created_at = utcnow() - timedelta(hours=25)
    services.create_inquiry(world.buyer, world.producer_b, inquiry_data())


# --------------------------------------------------------------------------- RFQs and fit


def test_rfq_reaches_fitting_producers_only(world):
    rfq = rfqs.create_rfq(world.buyer, rfq_data())
    db.session.commit()
    assert rfq.status == "open" and rfq.max_quotes == 10 and rfq.quote_count == 0
    fits = leads.fitting_producers(rfq)
    # Both teas match "chè xanh" (the matching module decides); the basketry does not.
    assert {f.producer_id for f in fits} == {world.producer_a.id, world.producer_b.id}
    assert [f.score for f in fits] == sorted((f.score for f in fits), reverse=True)
    assert all(f.reasons for f in fits) and any("chè" in r for r in fits[0].reasons)
    assert [n.kind for n in notices(world.seller_a)] == ["rfq_lead"]
    assert [n.kind for n in notices(world.seller_b)] == ["rfq_lead"]
    assert notices(world.seller_c) == []
    assert [lead.rfq.id for lead in leads.leads_for([world.producer_a.id])] == [rfq.id]
    assert leads.leads_for([world.producer_c.id]) == []
    assert rfqs.can_view_rfq(world.seller_a, rfq) and not rfqs.can_view_rfq(world.seller_c, rfq)
    assert not rfqs.can_view_rfq(world.other_buyer, rfq) and rfqs.can_view_rfq(world.organiser, rfq)


def test_fit_rules(world):
    four_stars = rfqs.create_rfq(world.buyer, rfq_data(min_stars=4))
    assert [f.producer_id for f in leads.fitting_producers(four_stars)] == [world.producer_a.id]
    by_words = rfqs.create_rfq(world.buyer, rfq_data(title="Cần mua làn mây đan", ocop_group=None, min_stars=0))
    assert [f.producer_id for f in leads.fitting_producers(by_words)] == [world.producer_c.id]
    # An expired certificate counts 0 stars: no longer fits a 3★ request.
    world.product_a.certificate.expires_on = TODAY
    db.session.flush()
    assert world.producer_a.id not in {
        f.producer_id for f in leads.fitting_producers(rfqs.create_rfq(world.buyer, rfq_data()))
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "0,5"}, "quantity"),
        ({"deadline": TODAY - timedelta(days=1)}, "deadline"),
        ({"deadline": None}, "deadline"),
        ({"deadline": TODAY + timedelta(days=400)}, "deadline"),
        ({"min_stars": 6}, "min_stars"),
        ({"ocop_group": "weapons"}, "ocop_group"),
        ({"target_price_vnd": "-3"}, "target_price_vnd"),
        ({"title": "Chè"}, "title"),
        ({"visibility": "invited"}, "visibility"),
        ({"visibility": "secret"}, "visibility"),
        ({"invite_producer_ids": [999_999]}, "invite"),
    ],
)
def test_rfq_bad_input_refused(world, changes, field):
    with pytest.raises(ServiceError) as error:
        rfqs.create_rfq(world.buyer, rfq_data(**changes))
    assert error.value.field == field
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rfq)) == 0


def test_rfq_deadline_today_is_allowed(world):
    assert rfqs.create_rfq(world.buyer, rfq_data(deadline=TODAY)).deadline == TODAY


def test_rfq_daily_limit(app, world):
    app.config["RFQ_DAILY_LIMIT"] = 1
    rfqs.create_rfq(world.buyer, rfq_data())
    with pytest.raises(services.RateLimited):
        rfqs.create_rfq(world.buyer, rfq_data())


def test_invited_rfq_only_invited_producers_quote(world):
    rfq = rfqs.create_rfq(world.buyer, rfq_data(visibility="invited", invite_producer_ids=[world.producer_c.id]))
    db.session.commit()
    assert [n.kind for n in notices(world.seller_c)] == ["rfq_invited"]
    assert notices(world.seller_a) == []
    assert not rfqs.can_view_rfq(world.seller_a, rfq)
    assert [p.id for p in rfqs.quotable_producers(world.seller_c, rfq)] == [world.producer_c.id]
    with pytest.raises(ServiceError) as error:
        rfqs.submit_quote(world.seller_a, rfq, world.producer_a, quote_data())
    assert error.value.code == "ineligible"
    rfqs.submit_quote(world.seller_c, rfq, world.producer_c, quote_data())
    invitation = rfq.invitations[0]
    assert invitation.responded_at is not None


# --------------------------------------------------------------------------- quotes


def test_quote_accept_declines_the_others(world):
    rfq = rfqs.create_rfq(world.buyer, rfq_data())
    quote_a = rfqs.submit_quote(world.seller_a, rfq, world.producer_a, quote_data(unit_price_vnd="115.000"))
    quote_b = rfqs.submit_quote(
        world.seller_b, rfq, world.producer_b, quote_data(unit_price_vnd=105_000, lead_time_days=3)
    )
    db.session.commit()
    assert rfq.quote_count == 2
    assert [n.kind for n in notices(world.buyer)] == ["quote_received", "quote_received"]
    assert quote_a.thread is not None and quote_a.thread.buyer_id == world.buyer.id

    rows = rfqs.compare_quotes(rfq)
    assert [r.quote.id for r in rows] == [quote_b.id, quote_a.id]  # cheapest first
    assert rows[0].best_price and rows[0].fastest and not rows[1].best_price
    assert rows[0].total_vnd == 105_000 * 500 and rows[1].total_vnd == 115_000 * 500
    assert rows[1].stars == 4 and rows[0].stars == 3
    assert rows[0].distance_km is not None and rows[0].distance_km > 30  # Ba Vì → Hoàn Kiếm

    with pytest.raises(NotAllowed):
        rfqs.accept_quote(world.seller_a, quote_a)
    rfqs.accept_quote(world.buyer, quote_a)
    db.session.commit()
    assert (rfq.status, quote_a.status, quote_b.status) == ("awarded", "accepted", "declined")
    assert quote_b.decision_note
    assert notices(world.seller_a)[-1].kind == "quote_accepted"
    lost = notices(world.seller_b)[-1]
    assert lost.kind == "quote_declined" and "nhà cung cấp khác" in lost.text
    assert lost.link == f"/quotes/{quote_b.id}"

    for action in (
        lambda: rfqs.accept_quote(world.buyer, quote_b),
        lambda: rfqs.accept_quote(world.buyer, quote_a),
        lambda: rfqs.withdraw_quote(world.seller_a, quote_a),
        lambda: rfqs.decline_quote(world.buyer, quote_a),
        lambda: rfqs.cancel_rfq(world.buyer, rfq),
    ):
        with pytest.raises(ServiceError) as error:
            action()
        assert error.value.code == "illegal_transition"
    with pytest.raises(ServiceError, match="gửi thêm tin nhắn"):
        messaging.post_message(world.seller_b, quote_b.thread, "Sao vậy chị?")
    messaging.post_message(world.seller_a, quote_a.thread, "Cảm ơn chị, em gửi hợp đồng.")


def test_quote_refusals(app, world):
    rfq = rfqs.create_rfq(world.buyer, rfq_data())
    with pytest.raises(ServiceError) as error:
        rfqs.submit_quote(world.seller_c, rfq, world.producer_c, quote_data())
    assert error.value.code == "ineligible" and "không đủ điều kiện" in error.value.message
    with pytest.raises(NotAllowed):
        rfqs.submit_quote(world.seller_a, rfq, world.producer_b, quote_data())
    for changes, field in (
        ({"unit_price_vnd": "0"}, "unit_price_vnd"),
        ({"unit_price_vnd": ""}, "unit_price_vnd"),
        ({"unit_price_vnd": "20.000.000.000"}, "unit_price_vnd"),
        ({"moq": "-2"}, "moq"),
        ({"lead_time_days": "-1"}, "lead_time_days"),
        ({"lead_time_days": "1000"}, "lead_time_days"),
        ({"valid_until": TODAY - timedelta(days=1)}, "valid_until"),
    ):
        with pytest.raises(ServiceError) as error:
            rfqs.submit_quote(world.seller_a, rfq, world.producer_a, quote_data(**changes))
        assert error.value.field == field, changes
    rfqs.submit_quote(world.seller_a, rfq, world.producer_a, quote_data())
    with pytest.raises(ServiceError, match="đã gửi báo giá"):
        rfqs.submit_quote(world.seller_a, rfq, world.producer_a, quote_data())
    assert db.session.scalar(sa.select(Rfq.quote_count).where(Rfq.id == rfq.id)) == 1


def test_rfq_takes_at_most_max_quotes(app, world):
    app.config["RFQ_MAX_QUOTES"] = 1
    rfq = rfqs.create_rfq(world.buyer, rfq_data())
    rfqs.submit_quote(world.seller_a, rfq, world.producer_a, quote_data())
    assert not rfqs.accepts_quotes(rfq)
    assert rfqs.quotable_producers(world.seller_b, rfq) == []
    with pytest.raises(ServiceError) as error:
        rfqs.submit_quote(world.seller_b, rfq, world.producer_b, quote_data())
    assert error.value.code == "full"
    # Withdrawing frees the place.
    rfqs.withdraw_quote(world.seller_a, rfq.quotes[0])
    assert rfq.quote_count == 0
    rfqs.submit_quote(world.seller_b, rfq, world.producer_b, quote_data())


def test_rfq_closes_at_deadline(app, world):
    rfq = rfqs.create_rfq(world.buyer, rfq_data(deadline=TODAY + timedelta(days=2)))
    quote = rfqs.submit_quote(world.seller_a, rfq, world.producer_a, quote_data())
    db.session.commit()
    app.config["MARKETPLACE_TODAY"] = (TODAY + timedelta(days=3)).isoformat()
    assert services.rfq_state(rfq) == "closed" and rfq.status == "open"
    with pytest.raises(ServiceError) as error:
        rfqs.submit_quote(world.seller_b, rfq, world.producer_b, quote_data(valid_until=TODAY + timedelta(days=30)))
    assert error.value.code == "closed"
    assert leads.leads_for([world.producer_b.id]) == []
    assert rfqs.close_expired_rfqs() == 1
    db.session.commit()
    assert rfq.status == "closed"
    assert notices(world.buyer)[-1].kind == "rfq_closed"
    assert rfqs.close_expired_rfqs() == 0
    # The buyer may still choose among the quotes received in time.
    rfqs.accept_quote(world.buyer, quote)
    assert rfq.status == "awarded"


def test_expired_quote_cannot_be_accepted(app, world):
    rfq = rfqs.create_rfq(world.buyer, rfq_data(deadline=TODAY + timedelta(days=30)))
    quote = rfqs.submit_quote(world.seller_a, rfq, world.producer_a, quote_data(valid_until=TODAY + timedelta(days=1)))
    app.config["MARKETPLACE_TODAY"] = (TODAY + timedelta(days=2)).isoformat()
    with pytest.raises(ServiceError, match="hết hiệu lực"):
        rfqs.accept_quote(world.buyer, quote)
    assert rfq.status == "open" and quote.status == "submitted"


def test_decline_withdraw_cancel(world):
    rfq = rfqs.create_rfq(world.buyer, rfq_data())
    quote_a = rfqs.submit_quote(world.seller_a, rfq, world.producer_a, quote_data())
    quote_b = rfqs.submit_quote(world.seller_b, rfq, world.producer_b, quote_data())
    rfqs.decline_quote(world.buyer, quote_a, "Giá cao quá")
    assert quote_a.status == "declined" and quote_a.decision_note == "Giá cao quá"
    assert "Giá cao quá" in notices(world.seller_a)[-1].text
    with pytest.raises(NotAllowed):
        rfqs.withdraw_quote(world.buyer, quote_b)
    with pytest.raises(NotAllowed):
        rfqs.decline_quote(world.seller_b, quote_b)
    rfqs.cancel_rfq(world.buyer, rfq)
    assert rfq.status == "cancelled" and quote_b.status == "declined"
    assert "hủy" in notices(world.seller_b)[-1].text
    with pytest.raises(ServiceError):
        rfqs.submit_quote(world.seller_c, rfq, world.producer_c, quote_data())


def test_invitation_declined_counts_as_answer(world):
    rfq = rfqs.create_rfq(world.buyer, rfq_data())
    rfqs.invite_producer(world.buyer, rfq, world.producer_b)
    with pytest.raises(ServiceError, match="đã được mời"):
        rfqs.invite_producer(world.buyer, rfq, world.producer_b)
    with pytest.raises(NotAllowed):
        rfqs.invite_producer(world.other_buyer, rfq, world.producer_a)
    rfqs.decline_invitation(world.seller_b, rfq, world.producer_b)
    assert rfqs.quotable_producers(world.seller_b, rfq) == []
    assert responsiveness(world.producer_b.id) == (1.0, 0)


def test_state_machine_table():
    assert services.TRANSITIONS["quote"]["accepted"] == frozenset()
    inquiry = Inquiry(status="closed")
    assert not services.can_transition(inquiry, "open")
    with pytest.raises(ServiceError) as error:
        services.transition(inquiry, "answered")
    assert "Đã đóng" in error.value.message and "Đã phản hồi" in error.value.message


# --------------------------------------------------------------------------- responsiveness


def test_responsiveness(world):
    assert responsiveness(world.producer_a.id) is None
    now = utcnow()
    answered = services.create_inquiry(world.buyer, world.producer_a, inquiry_data())
    answered.created_at = now - timedelta(days=3)
    answered.first_response_at = now - timedelta(days=3) + timedelta(hours=2)
    ignored = services.create_inquiry(world.buyer, world.producer_a, inquiry_data())
    ignored.created_at = now - timedelta(days=3)
    services.create_inquiry(world.buyer, world.producer_a, inquiry_data())  # fresh: not judged yet
    db.session.flush()
    assert responsiveness(world.producer_a.id) == (0.5, 7200)
    # A reply in the thread is what counts as a first response.
    fresh = services.create_inquiry(world.other_buyer, world.producer_a, inquiry_data())
    messaging.post_message(world.seller_a, fresh.thread, "Dạ có ạ.")
    rate, median = responsiveness(world.producer_a.id)
    assert rate == pytest.approx(2 / 3) and median is not None


def test_threads_and_unread_for_the_inbox(world):
    inquiry = services.create_inquiry(world.buyer, world.producer_a, inquiry_data())
    rfq = rfqs.create_rfq(world.buyer, rfq_data())
    quote = rfqs.submit_quote(world.seller_a, rfq, world.producer_a, quote_data())
    messaging.post_message(world.seller_a, quote.thread, "Chị xem báo giá giúp em.")
    seller_threads = list(db.session.scalars(messaging.threads_stmt(world.seller_a)))
    assert {t.id for t in seller_threads} == {inquiry.thread.id, quote.thread.id}
    assert list(db.session.scalars(messaging.threads_stmt(world.seller_b))) == []
    assert messaging.total_unread(world.buyer) == 1
    assert messaging.total_unread(world.seller_a) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Thread)) == 2
    assert db.session.get(Quote, quote.id).thread.quote_id == quote.id


def test_leads_are_ranked_by_fit_with_reasons(world):
    loose = rfqs.create_rfq(world.buyer, rfq_data(title="Chè xanh pha ấm cho nhà hàng"))
    close = rfqs.create_rfq(world.buyer, rfq_data(title="Chè xanh Shan tuyết hộp quà"))
    db.session.commit()
    found = leads.leads_for([world.producer_a.id])
    assert [lead.rfq.id for lead in found] == [close.id, loose.id]
    assert found[0].score > found[1].score > 0
    assert any("Shan" in reason or "shan" in reason for reason in found[0].reasons)
    invited = rfqs.create_rfq(
        world.buyer,
        rfq_data(
            title="Làn mây đan",
            ocop_group="handicraft",
            visibility="invited",
            invite_producer_ids=[world.producer_a.id],
        ),
    )
    db.session.commit()
    first = leads.leads_for([world.producer_a.id])[0]
    assert first.rfq.id == invited.id and first.invited and first.score == 0 and not first.reasons
