"""End to end against localstripe, a stateful Stripe fake started by the `localstripe` fixture:
the official `stripe` library talks to it (STRIPE_API_BASE), test cards pay, and localstripe
POSTs signed webhooks to the app served from a thread.

What localstripe lacks (tested with payloads signed in test_webhooks.py instead): it ignores
idempotency keys, and it sends no `charge.refunded` event. Real Stripe.js is not used here: the
server-side tests create the PaymentMethod through the API (raw test card numbers, which only a
fake accepts), as the Card Element + confirmCardSetup would on the page (see tests/e2e).
"""

from __future__ import annotations

import json
import threading
import urllib.request

import pytest
import sqlalchemy as sa
import stripe

from marketplace.extensions import db
from marketplace.mail.models import OutgoingMail
from marketplace.payments import services, stripe_client
from marketplace.payments.models import Order, OrderEvent, PaymentAttempt, StripeEvent
from tests.helpers import login
from tests.payments.conftest import register_webhook, reset_localstripe, stripe_config, wait_for


@pytest.fixture
def live(app, localstripe, server, world):
    stripe_config(app, localstripe)
    reset_localstripe(localstripe)
    register_webhook(localstripe, f"{server}/payments/webhook")
    services.set_terms(world.seller, world.quote, 30, 250_000)
    order = services.create_quote_order(world.buyer, world.quote, "deposit")
    db.session.commit()
    return order


def card(number: str = "4242424242424242") -> str:
    return (
        stripe_client.client()
        .v1.payment_methods.create(
            params={"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
        )
        .id
    )


def intents_for(order_id: int) -> list:
    listed = stripe_client.client().v1.payment_intents.list(params={"limit": 100})
    return [pi for pi in listed.data if pi.to_dict().get("metadata", {}).get("order_id") == str(order_id)]


def pay(client, order: Order, payment_method: str, amount: str | None = None):
    data = {"payment_method": payment_method}
    if amount is not None:
        data["amount_vnd"] = amount
    return client.post(f"/payments/orders/{order.id}/pay", data=data)


def test_pay_a_deposit_with_the_test_card_and_receive_the_webhook(client, world, live):
    login(client, world.buyer)
    setup = client.post(f"/payments/orders/{live.id}/setup-intent")
    assert setup.status_code == 200 and setup.json["client_secret"].startswith("seti_")
    response = pay(client, live, card(), amount="1000")  # an amount in the form is ignored
    assert response.status_code == 200, response.json
    assert response.json["status"] == "succeeded" and response.json["order_state"] == "paid"
    (intent,) = intents_for(live.id)
    assert intent.amount == 16_500_000 and intent.currency == "vnd" and intent.status == "succeeded"
    order = db.session.get(Order, live.id)
    assert order.state == "paid" and order.stripe_payment_intent_id == intent.id
    # localstripe signs and POSTs payment_intent.succeeded to the live server: recorded once, the
    # order (already paid from the API answer) is not changed again.
    event = wait_for(
        lambda: db.session.scalar(sa.select(StripeEvent).where(StripeEvent.type == "payment_intent.succeeded"))
    )
    assert event.order_id == live.id and event.outcome == "ignored"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutgoingMail)) == 1
    receipt = client.get(f"/payments/orders/{live.id}/receipt")
    assert receipt.status_code == 200 and b'data-receipt="paid"' in receipt.data


def test_the_webhook_alone_marks_the_order_paid(app, world, live):
    """The process stopped after Stripe charged but before it stored the answer: the signed
    webhook from localstripe finds the order through the metadata and marks it paid."""
    attempt = PaymentAttempt(order_id=live.id, attempt_no=1, payment_method_id="pm_lost", status="creating")
    db.session.add(attempt)
    db.session.commit()
    stripe_client.create_payment_intent(live.amount_vnd, card(), live.id, live.reference, attempt.idempotency_key)
    order = wait_for(lambda: (o := db.session.get(Order, live.id)).state == "paid" and o)
    assert order.method == "card" and order.stripe_payment_intent_id.startswith("pi_")
    paid = db.session.scalar(sa.select(OrderEvent).where(OrderEvent.action == "paid"))
    assert paid.cause == "webhook" and paid.stripe_event_id.startswith("evt_")
    assert db.session.get(PaymentAttempt, attempt.id).status == "succeeded"


def test_double_click_makes_one_payment_intent(client, world, live):
    login(client, world.buyer)
    method = card()
    first = pay(client, live, method)
    second = pay(client, live, method)
    assert first.json["attempt"] == second.json["attempt"] == 1
    assert len(intents_for(live.id)) == 1


def test_two_clicks_at_once_make_one_payment_intent(app, world, live):
    method = card()
    clients = [app.test_client() for _ in range(2)]
    for c in clients:
        login(c, world.buyer)
    answers: list = []
    barrier = threading.Barrier(2)
    order_id = live.id

    def click(c):
        barrier.wait()
        answers.append(c.post(f"/payments/orders/{order_id}/pay", data={"payment_method": method}))

    threads = [threading.Thread(target=click, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [a.status_code for a in answers] == [200, 200], [a.data for a in answers]
    assert {a.json["attempt"] for a in answers} == {1}
    assert len(intents_for(live.id)) == 1
    db.session.rollback()
    assert db.session.get(Order, live.id).state == "paid"


def test_3d_secure_card_completes_with_confirm_card_payment(app, client, world, live, localstripe):
    login(client, world.buyer)
    answer = pay(client, live, card("4000002500003155")).json
    assert answer["status"] == "requires_action" and answer["client_secret"].startswith("pi_")
    receipt = client.get(f"/payments/orders/{live.id}/receipt")
    assert b'data-receipt="requires-action"' in receipt.data
    # What Stripe.js confirmCardPayment does on the page, with the publishable key only:
    intent_id = answer["client_secret"].split("_secret_")[0]
    request = urllib.request.Request(  # noqa: S310 (http to a local server)
        f"{localstripe}/v1/payment_intents/{intent_id}/_authenticate?success=true",
        data=json.dumps({"key": "pk_test_payments", "client_secret": answer["client_secret"]}).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        assert json.load(response)["status"] == "succeeded"
    receipt = client.get(f"/payments/orders/{live.id}/receipt")  # asks Stripe for the true state
    assert b'data-receipt="paid"' in receipt.data
    db.session.rollback()
    assert db.session.get(Order, live.id).state == "paid"


def test_declined_card_fails_then_a_retry_pays(client, world, live):
    login(client, world.buyer)
    declined = pay(client, live, card("4000000000000341")).json
    assert declined["status"] == "failed" and declined["order_state"] == "failed" and declined["error"]
    retry = pay(client, live, card()).json
    assert retry["attempt"] == 2 and retry["status"] == "succeeded" and retry["order_state"] == "paid"
    again = pay(client, live, card()).json  # paid: the succeeded attempt is reported, no new charge
    assert again["attempt"] == 2
    assert len([pi for pi in intents_for(live.id) if pi.status == "succeeded"]) == 1


def test_partial_and_full_refund_through_stripe(client, world, live):
    login(client, world.buyer)
    pay(client, live, card())
    db.session.rollback()
    order = db.session.get(Order, live.id)
    services.refund(world.seller, order, 6_500_000, "Giao thiếu")
    db.session.commit()
    assert order.state == "partially_refunded" and order.refunds[0].stripe_refund_id.startswith("re_")
    services.refund(world.organiser, order, None)
    db.session.commit()
    assert order.state == "refunded" and order.refunded_vnd == order.amount_vnd
    with pytest.raises(services.ServiceError):
        services.refund(world.organiser, order, 1)
    refunds = stripe_client.client().v1.refunds.list(params={"payment_intent": order.stripe_payment_intent_id})
    assert sorted(r.amount for r in refunds.data) == [6_500_000, 10_000_000]


def test_unreachable_stripe_keeps_the_attempt_for_a_retry_with_the_same_key(app, client, world, live, localstripe):
    method = card()
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"  # nothing listens there
    login(client, world.buyer)
    answer = pay(client, live, method).json
    assert answer["status"] == "creating" and answer["order_state"] == "pending"
    app.config["STRIPE_API_BASE"] = localstripe
    retry = pay(client, live, method).json
    assert retry["attempt"] == 1 and retry["status"] == "succeeded"
    assert len(intents_for(live.id)) == 1


def test_stripe_errors_are_the_library_s(app, localstripe):
    stripe_config(app, localstripe)
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.retrieve_payment_intent("pi_does_not_exist")
