"""A buyer pays a deposit with the test card on our checkout page: Stripe.js (localstripe's fake,
served by localstripe and named by STRIPE_JS_URL) collects the card in the Card Element,
confirms the SetupIntent, our server creates and confirms the PaymentIntent, and the buyer lands
on the receipt. localstripe then POSTs the signed webhook to the live server. The localstripe
server is started by the tests (tests/payments/conftest.py); without its executable they skip."""

from __future__ import annotations

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.payments import services
from marketplace.payments.models import Order, StripeEvent
from tests.helpers import PASSWORD
from tests.payments.conftest import (  # noqa: F401  (fixtures)
    localstripe,
    register_webhook,
    reset_localstripe,
    stripe_config,
    wait_for,
    world,
)


def _login(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert "/login" not in page.url


def _checkout(app, live_server, localstripe, world) -> Order:  # noqa: F811
    stripe_config(app, localstripe)
    app.config["STRIPE_JS_URL"] = f"{localstripe}/js.stripe.com/v3/"
    reset_localstripe(localstripe)
    register_webhook(localstripe, f"{live_server}/payments/webhook")
    services.set_terms(world.seller, world.quote, 30, None)
    order = services.create_quote_order(world.buyer, world.quote, "deposit")
    db.session.commit()
    return order


def _fill_card(page, number: str) -> None:
    element = page.locator("#card-element")
    element.get_by_placeholder("number").fill(number)
    element.get_by_placeholder("exp_month").fill("12")
    element.get_by_placeholder("exp_year").fill("30")
    element.get_by_placeholder("cvc").fill("123")
    element.get_by_placeholder("postal_code").fill("10000")


def test_pay_a_deposit_with_the_test_card(app, live_server, browser_page, localstripe, world):  # noqa: F811
    order = _checkout(app, live_server, localstripe, world)
    page = browser_page
    _login(page, live_server, world.buyer.email)
    page.goto(f"{live_server}/payments/orders/{order.id}")
    _fill_card(page, "4242424242424242")
    page.get_by_role("button", name="Thanh toán 16.500.000 ₫").dblclick()  # a double click: one payment
    page.wait_for_url(f"**/payments/orders/{order.id}/receipt")
    assert page.locator("[data-receipt=paid]").is_visible()
    assert page.locator("[data-state=paid]").is_visible()
    assert order.reference in page.locator("[data-reference]").inner_text()
    db.session.rollback()
    paid = db.session.get(Order, order.id)
    assert paid.state == "paid" and paid.method == "card" and len(paid.attempts) == 1
    event = wait_for(lambda: db.session.scalar(sa.select(StripeEvent).where(StripeEvent.order_id == order.id)))
    assert event.type == "payment_intent.succeeded"


def test_3d_secure_card_is_completed_on_the_page(app, live_server, browser_page, localstripe, world):  # noqa: F811
    order = _checkout(app, live_server, localstripe, world)
    page = browser_page
    _login(page, live_server, world.buyer.email)
    page.goto(f"{live_server}/payments/orders/{order.id}")
    _fill_card(page, "4000002500003155")
    page.get_by_role("button", name="Thanh toán 16.500.000 ₫").click()
    # localstripe's confirmCardSetup and confirmCardPayment both ask in a small modal.
    page.get_by_role("button", name="Complete authentication").click()
    page.get_by_role("button", name="Complete authentication").click()
    page.wait_for_url(f"**/payments/orders/{order.id}/receipt")
    assert page.locator("[data-receipt=paid]").is_visible()
