"""A person who has done a bit of everything (bought, sold, met at a forum, ran a sales point), a
trade partner and an administrator: every export section has rows, every deletion rule has work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from marketplace.accounts.models import User
from marketplace.banking.models import BankAccountChange
from marketplace.core.models import utcnow
from marketplace.dashboard.models import AuditLog, ListingReport
from marketplace.extensions import db
from marketplace.forums.models import Forum, ForumSession, ForumSlot, Meeting, MeetingOutcome, Registration
from marketplace.inquiries.models import (
    BuyerProfile,
    Inquiry,
    Message,
    Notification,
    NotificationSetting,
    Quote,
    Report,
    Rfq,
    Thread,
    ThreadRead,
)
from marketplace.mail.models import OutgoingMail
from marketplace.payments.models import Order, OrderEvent, PaymentAttempt
from marketplace.producers.models import Producer, ProducerClaim, ProducerInvitation
from marketplace.sales_points.models import CarryRequest, SalesPoint
from marketplace.traceability.models import Batch, BatchRevision
from tests.helpers import make_producer, make_product, make_sales_point, make_user

PERSON_EMAIL = "hanh.tran@example.vn"
PERSON_NAME = "Trần Thị Hạnh"
PERSON_PHONE = "0912 888 777"
PERSON_ORG = "Cửa hàng Hạnh Phúc Đống Đa"


@dataclass
class World:
    person: User
    partner: User
    admin: User
    own_producer: Producer
    partner_producer: Producer
    inquiry: Inquiry
    order: Order
    rfq: Rfq
    quote_by_person: Quote
    registration: Registration
    partner_registration: Registration
    meeting: Meeting
    sales_point: SalesPoint
    bank_change: BankAccountChange
    revision: BatchRevision


def _add(obj):
    db.session.add(obj)
    db.session.flush()
    return obj


@pytest.fixture
def world(app) -> World:
    person = make_user(
        roles=("buyer", "producer"),
        email=PERSON_EMAIL,
        name=PERSON_NAME,
        phone=PERSON_PHONE,
        organisation=PERSON_ORG,
        privacy_consent_at=utcnow(),
    )
    partner = make_user(roles=("producer",), email="an.htx@example.vn", name="Nguyễn Văn An")
    other_buyer = make_user(roles=("buyer",), email="mua@example.vn", name="Lê Mua")
    admin = make_user(roles=("admin",), email="admin@example.vn", name="Quản trị")
    own = make_producer(managers=[person], name="HTX Hạnh Phúc")
    theirs = make_producer(managers=[partner], name="HTX Chè Tân Cương")
    own_product = make_product(own, name="Bánh cốm Hạnh Phúc")
    their_product = make_product(theirs, name="Chè xanh Tân Cương")

    _add(BuyerProfile(user_id=person.id, organisation=PERSON_ORG, contact_name=PERSON_NAME, phone=PERSON_PHONE))
    inquiry = _add(
        Inquiry(
            buyer_id=person.id,
            producer_id=theirs.id,
            product_id=their_product.id,
            quantity=100,
            message="Cho tôi giá sỉ",
        )
    )
    thread = _add(Thread(inquiry_id=inquiry.id, buyer_id=person.id, producer_id=theirs.id))
    mine = _add(Message(thread_id=thread.id, author_id=person.id, body="Gọi tôi số 0912 888 777"))
    theirs_msg = _add(Message(thread_id=thread.id, author_id=partner.id, body="Giá 110.000 ₫ một hộp"))
    _add(ThreadRead(thread_id=thread.id, user_id=person.id, last_read_message_id=theirs_msg.id))
    _add(Report(message_id=theirs_msg.id, reporter_id=person.id, reason="Thử báo cáo"))
    _add(ListingReport(product_id=their_product.id, reporter_id=person.id, reason="Ảnh sai"))

    rfq = _add(
        Rfq(
            buyer_id=person.id,
            title="Chè hộp quà Tết",
            quantity=500,
            unit="hộp",
            deadline=date(2026, 12, 20),
            status="awarded",
        )
    )
    accepted = _add(
        Quote(
            rfq_id=rfq.id,
            producer_id=theirs.id,
            author_id=partner.id,
            unit_price_vnd=110_000,
            valid_until=date(2027, 1, 1),
            status="accepted",
        )
    )
    other_rfq = _add(Rfq(buyer_id=other_buyer.id, title="Bánh cốm", quantity=50, deadline=date(2026, 12, 20)))
    quote_by_person = _add(
        Quote(
            rfq_id=other_rfq.id,
            producer_id=own.id,
            author_id=person.id,
            unit_price_vnd=90_000,
            valid_until=date(2027, 1, 1),
        )
    )
    order = _add(
        Order(
            reference="OCOP-TEST-1",
            buyer_id=person.id,
            producer_id=theirs.id,
            quote_id=accepted.id,
            kind="deposit",
            description="Đặt cọc 30%",
            amount_vnd=16_500_000,
            producer_share_vnd=16_500_000,
            platform_fee_vnd=0,
            state="paid",
            method="card",
            paid_at=utcnow(),
        )
    )
    _add(
        PaymentAttempt(
            order_id=order.id,
            attempt_no=1,
            payment_method_id="pm_card_visa",
            client_secret="pi_secret_abc",
            status="succeeded",
        )
    )
    _add(OrderEvent(order_id=order.id, action="paid", from_state="pending", to_state="paid", cause="webhook"))

    _add(Notification(user_id=person.id, kind="quote", text="Bạn có báo giá mới", link="/rfqs/1"))
    db.session.add(NotificationSetting(user_id=person.id, email_mode="daily"))
    _add(
        AuditLog(
            actor_id=admin.id, action="user.suspend", object_type="user", object_id=person.id, object_label=PERSON_EMAIL
        )
    )

    forum = _add(
        Forum(
            title="Diễn đàn kết nối OCOP 2026",
            starts_on=date(2026, 12, 10),
            ends_on=date(2026, 12, 10),
            registration_deadline=datetime(2026, 12, 5, tzinfo=UTC),
            status="open",
        )
    )
    session = _add(
        ForumSession(
            forum_id=forum.id,
            day=date(2026, 12, 10),
            starts_at=datetime(2026, 1, 1, 8).time(),
            ends_at=datetime(2026, 1, 1, 11).time(),
        )
    )
    slot = _add(
        ForumSlot(
            forum_id=forum.id,
            session_id=session.id,
            position=0,
            starts_at=datetime(2026, 12, 10, 1, tzinfo=UTC),
            ends_at=datetime(2026, 12, 10, 1, 20, tzinfo=UTC),
        )
    )
    registration = _add(
        Registration(
            forum_id=forum.id,
            user_id=person.id,
            kind="buyer",
            organisation=PERSON_ORG,
            contact_name=PERSON_NAME,
            phone=PERSON_PHONE,
            email=PERSON_EMAIL,
            seeks="Chè, bánh",
            status="approved",
            checkin_code="CHK-PERSON",
        )
    )
    partner_registration = _add(
        Registration(
            forum_id=forum.id,
            user_id=partner.id,
            kind="producer",
            producer_id=theirs.id,
            organisation="HTX Chè Tân Cương",
            contact_name="Nguyễn Văn An",
            status="approved",
            checkin_code="CHK-PARTNER",
        )
    )
    meeting = _add(
        Meeting(
            forum_id=forum.id,
            requester_id=registration.id,
            invitee_id=partner_registration.id,
            status="accepted",
            message="Gặp nhau bàn chè",
            slot_id=slot.id,
            table_no=3,
        )
    )
    _add(
        MeetingOutcome(
            meeting_id=meeting.id, registration_id=registration.id, result="agreement", deal_value_vnd=50_000_000
        )
    )

    point = make_sales_point(ref="DB-TEST-1", name="Điểm bán OCOP Hạnh Phúc", owner_id=person.id, phone="024 3999 8888")
    _add(
        CarryRequest(
            sales_point_id=point.id, product_id=own_product.id, requested_by_id=person.id, message="Nhận giúp bánh cốm"
        )
    )
    bank_change = _add(
        BankAccountChange(
            producer_id=own.id,
            action="created",
            actor_id=person.id,
            actor_email=PERSON_EMAIL,
            new_holder_name="TRAN THI HANH",
        )
    )
    batch = _add(
        Batch(product_id=own_product.id, code="L01", public_code="pub-code-test-1", produced_on=date(2026, 11, 1))
    )
    revision = _add(
        BatchRevision(batch_id=batch.id, user_id=person.id, user_name=PERSON_NAME, entity="batch", action="publish")
    )
    _add(ProducerClaim(producer_id=own.id, user_id=person.id, evidence="CN-123", status="approved"))
    _add(
        ProducerInvitation(
            producer_id=own.id,
            email=PERSON_EMAIL,
            token_hash="f" * 64,
            expires_at=utcnow() + timedelta(days=7),
            used_at=utcnow(),
            used_by_id=person.id,
        )
    )
    _add(OutgoingMail(to=PERSON_EMAIL, subject="Xác minh địa chỉ email", body="https://x/verify-email/SECRET"))
    _ = mine
    db.session.commit()
    return World(
        person=person,
        partner=partner,
        admin=admin,
        own_producer=own,
        partner_producer=theirs,
        inquiry=inquiry,
        order=order,
        rfq=rfq,
        quote_by_person=quote_by_person,
        registration=registration,
        partner_registration=partner_registration,
        meeting=meeting,
        sales_point=point,
        bank_change=bank_change,
        revision=revision,
    )
