"""Pages through the test client: access control, the quote partial, payments off, forms,
organisers' list with filters, pagination and CSV."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace.banking import services as banking
from marketplace.extensions import db
from marketplace.payments import services
from marketplace.payments.models import Order, OrderTerms
from tests.helpers import login
from tests.payments.conftest import make_quote, stripe_config


@pytest.fixture
def order(world) -> Order:
    services.set_terms(world.seller, world.quote, 30, 250_000)
    created = services.create_quote_order(world.buyer, world.quote, "deposit")
    db.session.commit()
    return created


def test_anonymous_is_sent_to_login(client, order):
    for url in (
        "/payments/orders",
        f"/payments/orders/{order.id}",
        f"/payments/orders/{order.id}/receipt",
        "/payments/admin/orders",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    assert client.post(f"/payments/orders/{order.id}/pay").status_code == 302


def test_another_buyer_gets_404_everywhere(client, world, order):
    login(client, world.other_buyer)
    for url in (
        f"/payments/orders/{order.id}",
        f"/payments/orders/{order.id}/receipt",
        f"/payments/orders/{order.id}/qr.svg",
    ):
        assert client.get(url).status_code == 404, url
    for action in ("pay", "setup-intent", "cancel", "transferred", "confirm-transfer", "refund"):
        assert client.post(f"/payments/orders/{order.id}/{action}").status_code == 404, action
    assert client.get("/payments/orders/9999").status_code == 404
    assert db.session.get(Order, order.id).state == "pending"


def test_buyer_producer_and_organiser_see_the_order(client, world, order):
    for user in (world.buyer, world.seller, world.organiser):
        login(client, user)
        page = client.get(f"/payments/orders/{order.id}")
        assert page.status_code == 200 and order.reference.encode() in page.data
    login(client, world.other_seller)
    assert client.get(f"/payments/orders/{order.id}").status_code == 404


def test_my_orders_lists_own_and_storefront_orders_only(client, world, order):
    login(client, world.buyer)
    assert order.reference.encode() in client.get("/payments/orders").data
    login(client, world.seller)
    assert order.reference.encode() in client.get("/payments/orders").data
    login(client, world.other_buyer)
    page = client.get("/payments/orders")
    assert order.reference.encode() not in page.data and "chưa có đơn hàng".encode() in page.data


def test_payments_off_says_so_and_nothing_breaks(client, world, order):
    login(client, world.buyer)
    page = client.get(f"/payments/orders/{order.id}")
    assert page.status_code == 200 and b'data-notice="payments-off"' in page.data
    assert b"card-checkout" not in page.data and b"js.stripe.com" not in page.data
    assert client.post(f"/payments/orders/{order.id}/setup-intent").status_code == 409
    answer = client.post(f"/payments/orders/{order.id}/pay", data={"payment_method": "pm_abc"})
    assert answer.status_code == 409 and answer.json["code"] == "payments_off"


def test_checkout_page_loads_stripe_js_from_config_without_inline_script(app, client, world, order):
    stripe_config(app)
    app.config["STRIPE_JS_URL"] = "http://127.0.0.1:9/js.stripe.com/v3/"
    login(client, world.buyer)
    html = client.get(f"/payments/orders/{order.id}").data.decode()
    assert 'src="http://127.0.0.1:9/js.stripe.com/v3/"' in html and "payments_checkout.js" in html
    assert 'data-publishable-key="pk_test_payments"' in html
    assert "<script>" not in html and "onclick" not in html
    login(client, world.seller)  # the producer does not pay
    assert "card-checkout" not in client.get(f"/payments/orders/{order.id}").data.decode()


def test_producer_cannot_pay_the_buyers_order(app, client, world, order):
    stripe_config(app)
    login(client, world.seller)
    assert client.post(f"/payments/orders/{order.id}/pay", data={"payment_method": "pm_x"}).status_code == 403
    assert client.post(f"/payments/orders/{order.id}/setup-intent").status_code == 403


def test_bad_payment_method_id_is_refused(app, client, world, order):
    stripe_config(app)
    login(client, world.buyer)
    assert client.post(f"/payments/orders/{order.id}/pay", data={}).status_code == 400
    answer = client.post(f"/payments/orders/{order.id}/pay", data={"payment_method": "<script>"})
    assert answer.status_code == 409 and answer.json["error"]


# --------------------------------------------------------------------------- quote partial and order creation


def render_partial(app, quote):
    from flask import render_template_string

    return render_template_string('{% include "payments/_quote_actions.html" %}', quote=quote)


def test_quote_partial_for_seller_buyer_and_stranger(app, client, world):
    with app.test_request_context():
        from flask_login import login_user

        login_user(world.seller)
        html = render_partial(app, world.quote)
        assert "deposit_percent" in html and "data-order-kind" not in html
        assert 'data-notice="add-bank-account"' in html  # no bank account, cards off: the buyer cannot pay
        login_user(world.buyer)
        html = render_partial(app, world.quote)
        assert "chưa đặt tỷ lệ đặt cọc" in html
        services.set_terms(world.seller, world.quote, 30, 250_000)
        html = render_partial(app, world.quote)
        assert 'data-notice="not-payable"' in html and "data-order-kind" not in html
        banking.save_account(
            world.seller,
            world.producer,
            banking.BankAccountData(bank_bin="970436", account_number="0011001234567", holder_name="HTX Chè Tân Cương"),
        )
        html = render_partial(app, world.quote)
        assert 'data-order-kind="deposit"' in html and "16.500.000" in html and 'data-order-kind="sample"' in html
        assert "not-payable" not in html
        login_user(world.seller)
        assert "add-bank-account" not in render_partial(app, world.quote)
        login_user(world.other_buyer)
        assert render_partial(app, world.quote).strip() == ""


def test_seller_sets_terms_through_the_form(client, world):
    login(client, world.seller)
    response = client.post(
        f"/payments/quotes/{world.quote.id}/terms", data={"deposit_percent": "25", "sample_price_vnd": "1.250.000"}
    )
    assert response.status_code == 302
    terms = db.session.scalar(sa.select(OrderTerms))
    assert terms.deposit_percent == 25 and terms.sample_price_vnd == 1_250_000
    for bad in (
        {"deposit_percent": "250", "sample_price_vnd": "abc"},
        {"deposit_percent": "150"},
        {"deposit_percent": "-5"},
    ):
        refused = client.post(f"/payments/quotes/{world.quote.id}/terms", data=bad)
        assert refused.status_code == 302, bad  # back to the quote, with the reason
        with client.session_transaction() as session:
            flashed = [message for _category, message in session.pop("_flashes", [])]
        assert "Tỷ lệ đặt cọc phải từ 1 đến 100%." in flashed, (bad, flashed)
    db.session.refresh(terms)
    assert terms.deposit_percent == 25  # bad input changes nothing
    login(client, world.buyer)
    assert client.post(f"/payments/quotes/{world.quote.id}/terms", data={"deposit_percent": "10"}).status_code == 403
    login(client, world.other_seller)
    assert client.post(f"/payments/quotes/{world.quote.id}/terms", data={"deposit_percent": "10"}).status_code == 404


def test_buyer_creates_a_deposit_order_and_a_posted_amount_is_ignored(client, world):
    services.set_terms(world.seller, world.quote, 30, 250_000)
    db.session.commit()
    login(client, world.buyer)
    response = client.post(
        f"/payments/quotes/{world.quote.id}/orders", data={"kind": "deposit", "amount_vnd": "1", "amount": "1"}
    )
    assert response.status_code == 302
    created = db.session.scalar(sa.select(Order))
    assert response.headers["Location"].endswith(f"/payments/orders/{created.id}")
    assert created.amount_vnd == 16_500_000
    again = client.post(f"/payments/quotes/{world.quote.id}/orders", data={"kind": "deposit"})
    assert again.headers["Location"].endswith(f"/payments/orders/{created.id}")
    bad = client.post(f"/payments/quotes/{world.quote.id}/orders", data={"kind": "gift"}, follow_redirects=True)
    assert "Loại đơn hàng không hợp lệ".encode() in bad.data


def test_order_creation_access(client, world):
    services.set_terms(world.seller, world.quote, 30, None)
    db.session.commit()
    login(client, world.seller)
    assert client.post(f"/payments/quotes/{world.quote.id}/orders", data={"kind": "deposit"}).status_code == 403
    login(client, world.other_buyer)
    assert client.post(f"/payments/quotes/{world.quote.id}/orders", data={"kind": "deposit"}).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0


# --------------------------------------------------------------------------- order actions


def test_cancel_by_buyer(client, world, order):
    login(client, world.buyer)
    client.post(f"/payments/orders/{order.id}/cancel")
    db.session.refresh(order)
    assert order.state == "cancelled"
    page = client.post(f"/payments/orders/{order.id}/cancel", follow_redirects=True)
    assert "Không thể huỷ".encode() in page.data


def test_bank_transfer_through_the_pages(client, world, order):
    from tests.payments.test_services import add_bank_account

    add_bank_account(world.producer)
    db.session.commit()
    login(client, world.buyer)
    page = client.get(f"/payments/orders/{order.id}").data.decode()
    assert "data-vietqr" in page and "0011004455667" in page and order.reference in page
    svg = client.get(f"/payments/orders/{order.id}/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    client.post(f"/payments/orders/{order.id}/transferred")
    assert client.post(f"/payments/orders/{order.id}/confirm-transfer").status_code == 403
    login(client, world.seller)
    assert "Người mua báo đã chuyển khoản".encode() in client.get(f"/payments/orders/{order.id}").data
    client.post(f"/payments/orders/{order.id}/confirm-transfer")
    db.session.refresh(order)
    assert order.state == "paid" and order.method == "bank_transfer"
    login(client, world.buyer)
    assert client.get(f"/payments/orders/{order.id}/qr.svg").status_code == 404  # paid: no more code
    assert b'data-receipt="paid"' in client.get(f"/payments/orders/{order.id}/receipt").data


def test_refund_form_validates_and_keeps_input(client, world, order):
    services.move(
        order, "paid", "transfer_confirmed", "user", world.seller, method="bank_transfer", settlement_state="none"
    )
    db.session.commit()
    login(client, world.buyer)
    assert client.post(f"/payments/orders/{order.id}/refund", data={"amount_vnd": "1000"}).status_code == 403
    login(client, world.seller)
    bad = client.post(f"/payments/orders/{order.id}/refund", data={"amount_vnd": "99.000.000", "reason": "GD 1"})
    assert bad.status_code == 400 and "vượt quá".encode() in bad.data and b"99.000.000" in bad.data
    junk = client.post(f"/payments/orders/{order.id}/refund", data={"amount_vnd": "abc", "reason": "GD 1"})
    assert junk.status_code == 400 and "Số tiền không hợp lệ".encode() in junk.data
    ok = client.post(f"/payments/orders/{order.id}/refund", data={"amount_vnd": "500.000", "reason": "GD 1"})
    assert ok.status_code == 302
    db.session.refresh(order)
    assert order.refunded_vnd == 500_000 and order.state == "partially_refunded"


def test_settlement_by_organiser_only(client, world, order):
    services.move(order, "paid", "paid", "stripe_api", method="card")
    db.session.commit()
    login(client, world.seller)
    assert (
        client.post(
            f"/payments/orders/{order.id}/settle", data={"settled_on": "2026-12-01", "reference": "FT1"}
        ).status_code
        == 403
    )
    login(client, world.organiser)
    bad = client.post(f"/payments/orders/{order.id}/settle", data={"settled_on": "hôm qua", "reference": "FT1"})
    assert bad.status_code == 400 and "Ngày không hợp lệ".encode() in bad.data
    ok = client.post(f"/payments/orders/{order.id}/settle", data={"settled_on": "2026-12-01", "reference": "FT1"})
    assert ok.status_code == 302
    db.session.refresh(order)
    assert order.settlement_state == "settled" and order.settlement_reference == "FT1"


# --------------------------------------------------------------------------- organisers


def many_orders(world, n: int) -> None:
    for i in range(n):
        _, quote = make_quote(world.buyer, world.producer if i % 2 else world.other_producer)
        manager = world.seller if i % 2 else world.other_seller
        services.set_terms(manager, quote, 10 + i, None)
        created = services.create_quote_order(world.buyer, quote, "deposit")
        if i % 3 == 0:
            services.move(created, "paid", "paid", "stripe_api", method="card")
    db.session.commit()


def test_admin_list_filters_paginates_and_exports(client, world):
    many_orders(world, 35)
    login(client, world.buyer)
    assert client.get("/payments/admin/orders").status_code == 403
    login(client, world.seller)
    assert client.get("/payments/admin/orders").status_code == 403
    login(client, world.organiser)
    page = client.get("/payments/admin/orders").data.decode()
    assert "35 đơn hàng" in page and page.count("data-order=") == 30 and 'rel="next"' in page
    assert client.get("/payments/admin/orders?page=2").data.decode().count("data-order=") == 5
    paid = client.get("/payments/admin/orders?state=paid").data.decode()
    assert "12 đơn hàng" in paid
    assert "35 đơn hàng" in client.get("/payments/admin/orders?state=bogus&kind=x&method=y").data.decode()
    assert "12 đơn hàng" in client.get("/payments/admin/orders?method=card").data.decode()
    csv_response = client.get("/payments/admin/orders?format=csv&state=paid")
    assert csv_response.mimetype == "text/csv" and "attachment" in csv_response.headers["Content-Disposition"]
    lines = csv_response.data.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("id,reference,created_at,kind,state") and len(lines) == 13
    assert all(",paid," in line for line in lines[1:])


def test_csv_neutralises_formulas(client, world):
    world.buyer.email = "=cmd@example.vn"
    many_orders(world, 1)
    login(client, world.organiser)
    body = client.get("/payments/admin/orders?format=csv").data.decode("utf-8-sig")
    assert ",'=cmd@example.vn," in body


# --------------------------------------------------------------------------- forum fees


def test_forum_fee_partial_and_route(app, client, world):
    from flask import render_template_string
    from flask_login import login_user

    from tests.payments.test_services import make_registration

    registration = make_registration(world)
    db.session.commit()
    with app.test_request_context():
        login_user(world.buyer)
        html = render_template_string('{% include "payments/_forum_fee.html" %}', registration=registration)
        assert 'data-fee="unpaid"' in html and "300.000" in html and "/fee" in html
    login(client, world.other_buyer)
    assert client.post(f"/payments/forum-registrations/{registration.id}/fee").status_code == 404
    login(client, world.buyer)
    first = client.post(f"/payments/forum-registrations/{registration.id}/fee")
    second = client.post(f"/payments/forum-registrations/{registration.id}/fee")
    assert first.status_code == 302 and first.headers["Location"] == second.headers["Location"]
    created = db.session.scalar(sa.select(Order))
    assert created.kind == "forum_fee" and created.amount_vnd == 300_000
    page = client.get(f"/payments/orders/{created.id}").data.decode()
    assert "data-vietqr" not in page  # a fee is paid to the platform, by card
    services.move(created, "paid", "paid", "stripe_api", method="card")
    db.session.commit()
    with app.test_request_context():
        login_user(world.buyer)
        html = render_template_string('{% include "payments/_forum_fee.html" %}', registration=registration)
        assert 'data-fee="paid"' in html and "/receipt" in html


def test_order_page_in_english_names_the_payment_method(client, world, order):
    """'Hình thức' is 'Open to' on an RFQ and 'Payment method' on an order (one msgid had both)."""
    login(client, world.buyer)
    assert "Hình thức" in client.get(f"/payments/orders/{order.id}").get_data(as_text=True)
    with client.session_transaction() as session:
        session["lang"] = "en"
    page = client.get(f"/payments/orders/{order.id}").get_data(as_text=True)
    assert "Payment method" in page and "Open to" not in page


def test_with_cards_on_a_producer_without_bank_account_can_be_paid(app, world):
    stripe_config(app)
    assert services.producer_can_be_paid(world.producer.id)
    app.config["STRIPE_SECRET_KEY"] = ""
    assert not services.producer_can_be_paid(world.producer.id)
