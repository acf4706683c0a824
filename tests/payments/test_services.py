"""Service rules: terms and amounts, order creation, forward-only states, refunds, settlement,
bank transfers, forum fees."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
import sqlalchemy as sa

from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.extensions import db
from marketplace.mail.models import OutgoingMail
from marketplace.payments import services
from marketplace.payments.models import Order, OrderEvent
from tests.payments.conftest import make_quote


def deposit_order(world, percent: int = 30) -> Order:
    services.set_terms(world.seller, world.quote, percent, 250_000)
    return services.create_quote_order(world.buyer, world.quote, "deposit")


def test_deposit_amount_is_price_times_quantity_times_share(world):
    order = deposit_order(world, 30)
    assert order.amount_vnd == 110_000 * 500 * 30 // 100 == 16_500_000
    assert order.producer_share_vnd + order.platform_fee_vnd == order.amount_vnd
    assert order.state == "pending" and order.settlement_state == "unsettled"
    assert order.reference.startswith("OCOP") and len(order.reference) == 10


def test_deposit_rounds_half_up_to_whole_vnd(world):
    _, quote = make_quote(world.buyer, world.producer, quantity=3, price=1_001)
    assert services.deposit_amount(quote, 15) == 450  # 450.45 -> 450
    assert services.deposit_amount(quote, 50) == 1502  # 1501.5 -> 1502


def test_large_amounts_pass_2_to_the_31(world):
    _, quote = make_quote(world.buyer, world.producer, quantity=1_000_000, price=5_000_000)
    services.set_terms(world.seller, quote, 100, None)
    order = services.create_quote_order(world.buyer, quote, "deposit")
    db.session.commit()
    assert db.session.get(Order, order.id).amount_vnd == 5_000_000_000_000


def test_sample_order_uses_the_producers_sample_price(world):
    services.set_terms(world.seller, world.quote, None, 250_000)
    order = services.create_quote_order(world.buyer, world.quote, "sample")
    assert order.kind == "sample" and order.amount_vnd == 250_000


def test_only_the_producers_managers_set_terms(world):
    with pytest.raises(NotAllowed):
        services.set_terms(world.other_seller, world.quote, 30, None)
    with pytest.raises(NotAllowed):
        services.set_terms(world.buyer, world.quote, 30, None)


@pytest.mark.parametrize("percent", [0, 101, -5])
def test_deposit_share_must_be_1_to_100(world, percent):
    with pytest.raises(ServiceError) as error:
        services.set_terms(world.seller, world.quote, percent, None)
    assert error.value.field == "deposit_percent"


def test_sample_price_must_be_positive(world):
    with pytest.raises(ServiceError) as error:
        services.set_terms(world.seller, world.quote, None, 0)
    assert error.value.field == "sample_price_vnd"


def test_no_order_without_terms_or_on_a_quote_not_accepted(world):
    with pytest.raises(ServiceError):
        services.create_quote_order(world.buyer, world.quote, "deposit")
    _, submitted = make_quote(world.buyer, world.other_producer, status="submitted")
    services.set_terms(world.other_seller, submitted, 30, None)
    with pytest.raises(ServiceError):
        services.create_quote_order(world.buyer, submitted, "deposit")


def test_only_the_rfq_buyer_orders(world):
    services.set_terms(world.seller, world.quote, 30, None)
    with pytest.raises(NotAllowed):
        services.create_quote_order(world.other_buyer, world.quote, "deposit")


def test_second_order_of_a_kind_returns_the_open_one(world):
    first = deposit_order(world)
    db.session.commit()
    again = services.create_quote_order(world.buyer, world.quote, "deposit")
    assert again.id == first.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 1


def test_database_refuses_two_open_orders_of_a_kind(world):
    first = deposit_order(world)
    db.session.commit()
    twin = Order(
        reference="OCOPTWIN22",
        buyer_id=world.buyer.id,
        producer_id=world.producer.id,
        quote_id=world.quote.id,
        kind="deposit",
        amount_vnd=first.amount_vnd,
        producer_share_vnd=first.amount_vnd,
        platform_fee_vnd=0,
    )
    db.session.add(twin)
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_cancel_then_a_new_order_may_be_made(world):
    first = deposit_order(world)
    services.cancel(world.buyer, first)
    assert first.state == "cancelled"
    second = services.create_quote_order(world.buyer, world.quote, "deposit")
    assert second.id != first.id


def test_states_move_forward_only_and_illegal_moves_are_refused(world):
    order = deposit_order(world)
    services.cancel(world.buyer, order)
    with pytest.raises(ServiceError) as error:
        services.cancel(world.buyer, order)
    assert error.value.code == "illegal_transition"
    assert services.move(order, "paid", "paid", "system") is False
    assert services.move(order, "pending", "x", "system") is False
    assert order.state == "cancelled"


def test_every_state_change_is_an_event_with_its_cause(world):
    order = deposit_order(world)
    assert services.move(order, "paid", "paid", "webhook", stripe_event_id="evt_1", method="card")
    events = db.session.scalars(sa.select(OrderEvent).where(OrderEvent.order_id == order.id)).all()
    assert [(e.action, e.from_state, e.to_state, e.cause) for e in events] == [
        ("created", "pending", "pending", "user"),
        ("paid", "pending", "paid", "webhook"),
    ]
    assert events[1].stripe_event_id == "evt_1"


def test_paid_sends_one_receipt_mail_to_the_buyer_and_notifies_the_producer(world):
    from marketplace.inquiries.models import Notification

    order = deposit_order(world)
    services.move(order, "paid", "paid", "stripe_api", method="card")
    services.move(order, "paid", "paid", "webhook")  # a copy changes nothing
    mails = db.session.scalars(sa.select(OutgoingMail)).all()
    assert [m.to for m in mails] == ["buyer@example.vn"]
    assert order.reference in mails[0].subject and "16.500.000" in mails[0].body
    notes = db.session.scalars(sa.select(Notification)).all()
    assert [n.user_id for n in notes] == [world.seller.id]


# --------------------------------------------------------------------------- refunds (bank transfer: no Stripe)


def paid_by_transfer(world) -> Order:
    order = deposit_order(world)
    services.move(
        order, "paid", "transfer_confirmed", "user", world.seller, method="bank_transfer", settlement_state="none"
    )
    return order


def test_partial_then_full_refund_by_the_producer(world):
    order = paid_by_transfer(world)
    services.refund(world.seller, order, 500_000, "GD 123")
    assert order.state == "partially_refunded" and order.refunded_vnd == 500_000
    services.refund(world.organiser, order, None, "GD 124")
    assert order.state == "refunded" and order.refunded_vnd == order.amount_vnd
    assert [r.refund_no for r in order.refunds] == [1, 2]


def test_refund_over_the_remaining_amount_is_refused(world):
    order = paid_by_transfer(world)
    with pytest.raises(ServiceError) as error:
        services.refund(world.seller, order, order.amount_vnd + 1, "GD")
    assert error.value.field == "amount_vnd"
    with pytest.raises(ServiceError):
        services.refund(world.seller, order, 0, "GD")
    assert order.refunded_vnd == 0


def test_refund_of_a_bank_transfer_needs_its_reference(world):
    order = paid_by_transfer(world)
    with pytest.raises(ServiceError) as error:
        services.refund(world.seller, order, 1000, "")
    assert error.value.field == "reason"


def test_refund_needs_the_producer_or_an_organiser_and_a_paid_order(world):
    order = paid_by_transfer(world)
    for who in (world.buyer, world.other_seller, world.other_buyer):
        with pytest.raises(NotAllowed):
            services.refund(who, order, 1000, "x")
    pending = sample_order(world)
    with pytest.raises(ServiceError):
        services.refund(world.seller, pending, 1000, "x")


def sample_order(world) -> Order:
    services.set_terms(world.seller, world.quote, 30, 100_000)
    return services.create_quote_order(world.buyer, world.quote, "sample")


# --------------------------------------------------------------------------- settlement


def test_organiser_settles_the_producer_share_once(world):
    order = deposit_order(world)
    services.move(order, "paid", "paid", "stripe_api", method="card")
    with pytest.raises(NotAllowed):
        services.settle(world.seller, order, date(2026, 12, 1), "FT123")
    with pytest.raises(ServiceError) as error:
        services.settle(world.organiser, order, date(2026, 12, 1), "  ")
    assert error.value.field == "reference"
    with pytest.raises(ServiceError) as error:
        services.settle(world.organiser, order, date(2026, 12, 5), "FT123")
    assert error.value.field == "settled_on"
    services.settle(world.organiser, order, date(2026, 12, 1), "FT123")
    assert order.settlement_state == "settled" and order.settlement_reference == "FT123"
    with pytest.raises(ServiceError):
        services.settle(world.organiser, order, date(2026, 12, 1), "FT124")


def test_unpaid_orders_are_not_settled(world):
    order = deposit_order(world)
    with pytest.raises(ServiceError):
        services.settle(world.organiser, order, date(2026, 12, 1), "FT1")


def test_payout_is_the_share_less_refunds(world):
    order = paid_by_transfer(world)
    services.refund(world.seller, order, 1_000_000, "GD")
    assert services.payout_vnd(order) == order.producer_share_vnd - 1_000_000


# --------------------------------------------------------------------------- bank transfer


def add_bank_account(producer):
    from marketplace.banking.models import ProducerBankAccount

    account = ProducerBankAccount(
        producer_id=producer.id,
        bank_bin="970436",
        account_number="0011004455667",
        holder_name="HTX Chè Tân Cương",
        holder_name_ascii="HTX CHE TAN CUONG",
    )
    db.session.add(account)
    db.session.flush()
    return account


def test_transfer_marked_by_buyer_then_confirmed_by_producer(world):
    add_bank_account(world.producer)
    order = deposit_order(world)
    qr = services.bank_qr(order)
    assert qr is not None and qr.amount_vnd == order.amount_vnd and qr.reference == order.reference
    assert services.qr_svg(order).startswith(b"<?xml") or b"<svg" in services.qr_svg(order)
    with pytest.raises(NotAllowed):
        services.mark_transferred(world.seller, order)
    services.mark_transferred(world.buyer, order)
    assert order.method == "bank_transfer" and order.state == "pending"
    with pytest.raises(ServiceError):
        services.mark_transferred(world.buyer, order)
    with pytest.raises(NotAllowed):
        services.confirm_transfer(world.other_seller, order)
    with pytest.raises(NotAllowed):
        services.confirm_transfer(world.buyer, order)
    services.confirm_transfer(world.seller, order)
    assert order.state == "paid" and order.settlement_state == "none" and order.paid_at is not None
    with pytest.raises(ServiceError):
        services.confirm_transfer(world.seller, order)


def test_no_transfer_without_a_bank_account(world):
    order = deposit_order(world)
    assert services.bank_qr(order) is None
    with pytest.raises(ServiceError):
        services.mark_transferred(world.buyer, order)


# --------------------------------------------------------------------------- forum fees


def make_registration(world, fee: int = 300_000):
    from marketplace.forums.models import Forum, Registration

    forum = Forum(
        title="Diễn đàn kết nối OCOP 2026",
        starts_on=date(2026, 12, 10),
        ends_on=date(2026, 12, 11),
        registration_deadline=datetime.combine(date(2026, 12, 8), time(10), tzinfo=services.utcnow().tzinfo),
        fee_vnd=fee,
        status="open",
    )
    db.session.add(forum)
    db.session.flush()
    registration = Registration(forum_id=forum.id, user_id=world.buyer.id, kind="buyer", checkin_code=f"CK-{forum.id}")
    db.session.add(registration)
    db.session.flush()
    return registration


def test_forum_fee_order_is_idempotent_and_fee_paid_follows_it(world):
    registration = make_registration(world)
    order = services.create_forum_fee_order(registration)
    assert order.kind == "forum_fee" and order.amount_vnd == 300_000 and order.producer_id is None
    assert order.platform_fee_vnd == 300_000 and order.settlement_state == "none"
    assert services.create_forum_fee_order(registration).id == order.id
    assert services.fee_paid(registration.id) is False
    services.move(order, "paid", "paid", "stripe_api", method="card")
    assert services.fee_paid(registration.id) is True
    assert services.create_forum_fee_order(registration).id == order.id
    with pytest.raises(ServiceError) as error:  # a card refund needs Stripe; payments are off here
        services.refund(world.organiser, order, None, "")
    assert error.value.code == "payments_off"


def test_forum_fee_refund_is_for_organisers_only(world):
    registration = make_registration(world)
    order = services.create_forum_fee_order(registration)
    order.method = "bank_transfer"  # recorded by hand (no Stripe needed for this rule)
    services.move(order, "paid", "paid", "system")
    with pytest.raises(NotAllowed):
        services.refund(world.seller, order, 1000, "x")
    services.refund(world.organiser, order, None, "GD 9")
    assert order.state == "refunded" and services.fee_paid(registration.id) is False


def test_free_forum_has_no_fee_order(world):
    registration = make_registration(world, fee=0)
    with pytest.raises(ServiceError):
        services.create_forum_fee_order(registration)
