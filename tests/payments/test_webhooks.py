"""The webhook with payloads signed in the test: signature and age checks, each event id once,
duplicates and out-of-order arrival, and concurrent copies against a live server."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.mail.models import OutgoingMail
from marketplace.payments import services
from marketplace.payments.models import Order, OrderEvent, PaymentAttempt, StripeEvent
from tests.payments.conftest import event_body, post_event, sign, stripe_config


def count(model, *where) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0


@pytest.fixture
def order_in_flight(app, world):
    """A deposit order whose card attempt created PaymentIntent pi_test_1 (requires_action)."""
    stripe_config(app)
    services.set_terms(world.seller, world.quote, 30, None)
    order = services.create_quote_order(world.buyer, world.quote, "deposit")
    db.session.add(
        PaymentAttempt(
            order_id=order.id,
            attempt_no=1,
            payment_method_id="pm_x",
            payment_intent_id="pi_test_1",
            status="requires_action",
        )
    )
    db.session.commit()
    return order


def intent(order: Order, status: str = "succeeded", **changes) -> dict:
    obj = {
        "id": "pi_test_1",
        "object": "payment_intent",
        "amount": order.amount_vnd,
        "currency": "vnd",
        "status": status,
        "metadata": {"order_id": str(order.id), "reference": order.reference},
    }
    obj.update(changes)
    return obj


def test_signed_success_marks_the_order_paid_once(client, order_in_flight):
    body = event_body("evt_ok", "payment_intent.succeeded", intent(order_in_flight))
    response = post_event(client, body)
    assert response.status_code == 200 and response.json["outcome"] == "applied"
    order = db.session.get(Order, order_in_flight.id)
    assert order.state == "paid" and order.method == "card" and order.stripe_payment_intent_id == "pi_test_1"
    assert count(OutgoingMail) == 1
    event = db.session.scalar(sa.select(OrderEvent).where(OrderEvent.action == "paid"))
    assert event.cause == "webhook" and event.stripe_event_id == "evt_ok"


def test_tampered_body_is_400_and_writes_nothing(client, order_in_flight):
    body = event_body("evt_t", "payment_intent.succeeded", intent(order_in_flight))
    signature = sign(body)
    tampered = body.replace(b'"currency": "vnd"', b'"currency": "usd"')
    assert post_event(client, tampered, signature).status_code == 400
    assert post_event(client, body, sign(body, secret="whsec_wrong")).status_code == 400
    assert post_event(client, body, "garbage").status_code == 400
    assert client.post("/payments/webhook", data=body, content_type="application/json").status_code == 400
    assert count(StripeEvent) == 0 and count(OutgoingMail) == 0
    assert db.session.get(Order, order_in_flight.id).state == "pending"


def test_stale_timestamp_is_400(client, order_in_flight):
    body = event_body("evt_old", "payment_intent.succeeded", intent(order_in_flight))
    response = post_event(client, body, sign(body, timestamp=int(time.time()) - 301))
    assert response.status_code == 400
    assert count(StripeEvent) == 0 and db.session.get(Order, order_in_flight.id).state == "pending"


def test_webhooks_off_without_a_secret(app, client, order_in_flight):
    app.config["STRIPE_WEBHOOK_SECRET"] = None
    body = event_body("evt_off", "payment_intent.succeeded", intent(order_in_flight))
    assert post_event(client, body).status_code == 503
    assert count(StripeEvent) == 0


def test_webhook_is_csrf_exempt(app, client, order_in_flight):
    app.config["WTF_CSRF_ENABLED"] = True
    body = event_body("evt_csrf", "payment_intent.succeeded", intent(order_in_flight))
    assert post_event(client, body).status_code == 200


def test_same_event_100_times_one_change_one_mail(client, order_in_flight):
    body = event_body("evt_dup", "payment_intent.succeeded", intent(order_in_flight))
    answers = [post_event(client, body) for _ in range(100)]
    assert all(a.status_code == 200 for a in answers)
    assert sum(1 for a in answers if a.json.get("duplicate")) == 99
    assert count(OrderEvent, OrderEvent.action == "paid") == 1
    assert count(OutgoingMail) == 1 and count(StripeEvent) == 1


def test_20_concurrent_copies_one_change_one_mail(server, order_in_flight):
    body = event_body("evt_conc", "payment_intent.succeeded", intent(order_in_flight))
    signature = sign(body)
    statuses: list[int] = []
    start = threading.Barrier(20)

    def send():
        request = urllib.request.Request(  # noqa: S310 (http to a local server)
            f"{server}/payments/webhook",
            data=body,
            headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
            method="POST",
        )
        start.wait()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                statuses.append(response.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)

    threads = [threading.Thread(target=send) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(statuses) == 20 and all(s in (200, 503) for s in statuses), statuses
    assert count(OrderEvent, OrderEvent.action == "paid") == 1
    assert count(OutgoingMail) == 1 and count(StripeEvent) == 1
    assert db.session.get(Order, order_in_flight.id).state == "paid"


def test_distinct_events_for_one_payment_change_it_once(client, order_in_flight):
    for n in range(5):
        body = event_body(f"evt_{n}", "payment_intent.succeeded", intent(order_in_flight))
        assert post_event(client, body).status_code == 200
    assert count(OrderEvent, OrderEvent.action == "paid") == 1
    assert count(OrderEvent, OrderEvent.action == "webhook_ignored") == 4
    assert count(OutgoingMail) == 1


def test_failure_after_success_is_recorded_and_ignored(client, order_in_flight):
    ok = event_body("evt_a", "payment_intent.succeeded", intent(order_in_flight))
    late = event_body(
        "evt_b",
        "payment_intent.payment_failed",
        intent(order_in_flight, "requires_payment_method", last_payment_error={"message": "declined"}),
    )
    post_event(client, ok)
    response = post_event(client, late)
    assert response.status_code == 200 and response.json["outcome"] == "ignored"
    assert db.session.get(Order, order_in_flight.id).state == "paid"
    assert db.session.get(StripeEvent, "evt_b").outcome == "ignored"


def test_failure_then_success_arriving_in_that_order_ends_paid(client, order_in_flight):
    failed = event_body("evt_f", "payment_intent.payment_failed", intent(order_in_flight, "requires_payment_method"))
    post_event(client, failed)
    assert db.session.get(Order, order_in_flight.id).state == "failed"
    post_event(client, event_body("evt_s", "payment_intent.succeeded", intent(order_in_flight)))
    assert db.session.get(Order, order_in_flight.id).state == "paid"


def test_wrong_amount_never_marks_paid(client, order_in_flight):
    body = event_body("evt_amt", "payment_intent.succeeded", intent(order_in_flight, amount=1000))
    assert post_event(client, body).json["outcome"] == "amount_mismatch"
    assert db.session.get(Order, order_in_flight.id).state == "pending"


def test_unknown_payment_intent_is_recorded(client, order_in_flight):
    body = event_body("evt_unk", "payment_intent.succeeded", intent(order_in_flight, id="pi_other", metadata={}))
    assert post_event(client, body).json["outcome"] == "unknown_order"
    assert db.session.get(StripeEvent, "evt_unk") is not None
    assert db.session.get(Order, order_in_flight.id).state == "pending"


def test_metadata_naming_the_order_id_with_another_reference_is_not_that_order(client, order_in_flight):
    """A PaymentIntent id we never stored is matched by its metadata only when the order's
    reference agrees (ids are reused after a restore)."""
    stranger = intent(
        order_in_flight, id="pi_elsewhere", metadata={"order_id": str(order_in_flight.id), "reference": "OCOPXXXXXX"}
    )
    assert (
        post_event(client, event_body("evt_s", "payment_intent.succeeded", stranger)).json["outcome"] == "unknown_order"
    )
    assert db.session.get(Order, order_in_flight.id).state == "pending"


def test_unhandled_event_types_are_acknowledged(client, order_in_flight):
    body = event_body("evt_cus", "customer.created", {"id": "cus_1", "object": "customer"})
    assert post_event(client, body).json["outcome"] == "unhandled"


def test_charge_refunded_only_grows_the_refunded_total(client, order_in_flight):
    # localstripe sends no charge.refunded event: signed here.
    post_event(client, event_body("evt_paid", "payment_intent.succeeded", intent(order_in_flight)))
    amount = order_in_flight.amount_vnd
    charge = {"id": "ch_1", "object": "charge", "payment_intent": "pi_test_1", "amount": amount}
    second = event_body("evt_r2", "charge.refunded", {**charge, "amount_refunded": 2_000_000})
    first = event_body("evt_r1", "charge.refunded", {**charge, "amount_refunded": 1_000_000})
    assert post_event(client, second).json["outcome"] == "applied"
    assert post_event(client, first).json["outcome"] == "ignored"  # older, arrived late
    order = db.session.get(Order, order_in_flight.id)
    assert order.refunded_vnd == 2_000_000 and order.state == "partially_refunded"
    full = event_body("evt_r3", "charge.refunded", {**charge, "amount_refunded": amount})
    assert post_event(client, full).json["outcome"] == "applied"
    assert db.session.get(Order, order_in_flight.id).state == "refunded"
