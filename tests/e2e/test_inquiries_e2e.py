"""A buyer posts an RFQ, two producers quote, the buyer compares and accepts one, and the
losing producer sees the decline. Everything through the real pages and the real login form."""

from __future__ import annotations

import re

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.inquiries.models import Quote, Rfq
from tests.e2e.conftest import log_out
from tests.helpers import PASSWORD, make_producer, make_product, make_user


def _login(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert "/login" not in page.url


def _quote(page, base: str, rfq_id: int, price: str, days: str) -> None:
    page.goto(f"{base}/leads")
    page.get_by_role("link", name="Chè xanh hộp quà Tết").first.click()
    assert re.search(rf"/rfqs/{rfq_id}$", page.url)
    page.fill("input[name=unit_price_vnd]", price)
    page.fill("input[name=moq]", "100")
    page.fill("input[name=lead_time_days]", days)
    page.fill("input[name=valid_until]", "2026-12-31")
    page.fill("textarea[name=note]", "Hộp giấy kraft, có tem OCOP.")
    page.get_by_role("button", name="Gửi báo giá").click()
    page.wait_for_load_state()
    assert "Đã gửi báo giá" in page.content()


def test_rfq_quotes_compare_accept_decline(live_server, browser_page, app):
    buyer = make_user(roles=("buyer",), email="mua@example.vn", name="Chị Mai", organisation="Siêu thị Xanh")
    seller_a = make_user(roles=("producer",), email="tancuong@example.vn")
    seller_b = make_user(roles=("producer",), email="bavi@example.vn")
    producer_a = make_producer(managers=[seller_a], name="HTX Chè Tân Cương", district="Sóc Sơn")
    producer_b = make_producer(managers=[seller_b], name="HTX Chè Ba Vì", district="Ba Vì")
    make_product(producer_a, name="Chè xanh Tân Cương", ocop_group="beverage", stars=4, unit="hộp")
    make_product(producer_b, name="Chè xanh Ba Vì", ocop_group="beverage", stars=3, unit="hộp")
    db.session.commit()
    page, base = browser_page, live_server

    # The buyer posts an RFQ.
    _login(page, base, buyer.email)
    page.goto(f"{base}/rfqs/new")
    page.fill("input[name=title]", "Chè xanh hộp quà Tết")
    page.fill("textarea[name=details]", "Hộp 200 g, giao trước 20/12.")
    page.select_option("select[name=ocop_group]", "beverage")
    page.fill("input[name=quantity]", "500")
    page.fill("input[name=unit]", "hộp")
    page.select_option("select[name=min_stars]", "3")
    page.fill("input[name=deadline]", "2026-12-11")
    page.select_option("select[name=delivery_district]", "Hoàn Kiếm")
    page.get_by_role("button", name="Đăng yêu cầu").click()
    page.wait_for_load_state()
    assert "Đã đăng yêu cầu báo giá" in page.content()
    rfq_id = db.session.scalar(sa.select(Rfq.id))
    assert page.url.endswith(f"/rfqs/{rfq_id}")
    log_out(page)

    # Two producers find it in their leads and quote.
    _login(page, base, seller_a.email)
    _quote(page, base, rfq_id, "115.000", "7")
    log_out(page)
    _login(page, base, seller_b.email)
    _quote(page, base, rfq_id, "108.000", "10")
    log_out(page)

    # The buyer compares side by side and accepts the Tân Cương quote (faster, 4 stars).
    _login(page, base, buyer.email)
    assert page.locator("[data-unread]").inner_text().strip() == "2"
    page.goto(f"{base}/rfqs/{rfq_id}")
    table = page.locator("table[data-compare]")
    text = table.inner_text()
    assert "HTX Chè Tân Cương" in text and "HTX Chè Ba Vì" in text
    assert "57.500.000 ₫" in text and "54.000.000 ₫" in text  # totals for 500 boxes
    db.session.expire_all()
    quote_a = db.session.scalar(sa.select(Quote).where(Quote.producer_id == producer_a.id))
    quote_b = db.session.scalar(sa.select(Quote).where(Quote.producer_id == producer_b.id))
    page.locator(f"[data-accept='{quote_a.id}']").click()
    page.wait_for_load_state()
    assert "Đã chấp nhận báo giá" in page.content()
    assert page.locator("[data-accept]").count() == 0
    log_out(page)

    # The losing producer sees the decline.
    _login(page, base, seller_b.email)
    page.goto(f"{base}/notifications")
    assert "người mua đã chọn nhà cung cấp khác" in page.content()
    page.get_by_role("button", name=re.compile("nhà cung cấp khác")).click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/quotes/{quote_b.id}")
    assert page.locator("[data-notice=declined]").is_visible()
    assert page.locator("[data-status=declined]").first.is_visible()
    db.session.expire_all()
    assert (db.session.get(Quote, quote_a.id).status, db.session.get(Quote, quote_b.id).status) == (
        "accepted",
        "declined",
    )
    assert db.session.get(Rfq, rfq_id).status == "awarded"
