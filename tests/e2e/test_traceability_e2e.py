"""Traceability in a real browser: a producer logs in, creates a batch with its chain and
publishes it; a visitor opens the QR code's target on a phone-sized window and sees the timeline."""

from __future__ import annotations

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.traceability.models import Batch
from tests.helpers import PASSWORD, make_producer, make_product, make_sales_point, make_user

PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


def test_batch_to_trace_page_on_a_phone(app, live_server, browser_page):
    owner = make_user(roles=("producer",), email="nhasanxuat-e2e@example.vn", name="Chị Lan")
    producer = make_producer(managers=[owner], name="HTX Chè Ba Vì")
    product = make_product(producer, ref="CHE-E2E", name="Chè búp Ba Vì", unit="hộp")
    make_sales_point(products=[product], name="Điểm OCOP Phố cổ")
    db.session.commit()
    page = browser_page

    # Log in through the real form.
    page.goto(f"{live_server}/login")
    page.fill("#email", owner.email)
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert "/login" not in page.url

    # From the dashboard to the product's batches, then a new batch.
    page.goto(f"{live_server}/my/producers")
    page.get_by_role("link", name="Lô hàng & truy xuất").first.click()
    page.locator("main a", has_text="Thêm lô hàng").first.click()
    page.fill("#code", "LO-E2E-01")
    page.fill("#produced_on", "2026-11-20")
    page.fill("#quantity", "250")
    page.fill("#expires_on", "2027-11-20")
    page.get_by_role("button", name="Lưu").click()
    page.wait_for_selector("text=Mã QR dẫn tới:")

    # The chain: an input and a processing step.
    page.locator("main a", has_text="Thêm nguyên liệu").click()
    page.fill("#name", "Chè búp tươi")
    page.fill("#supplier", "Tổ hợp tác chè Minh Quang")
    page.fill("#origin", "Xã Minh Quang, Ba Vì")
    page.fill("#received_on", "2026-11-15")
    page.get_by_role("button", name="Lưu").click()
    page.locator("main a", has_text="Thêm công đoạn").click()
    page.fill("#name", "Sao chè bằng chảo gang")
    page.fill("#started_on", "2026-11-16")
    page.get_by_role("button", name="Lưu").click()
    page.get_by_role("button", name="Công bố trang truy xuất").click()
    page.wait_for_selector("text=Đã công bố")

    # The QR code image loads, and its target is the absolute trace URL. The text above
    # appears before the image has arrived, so wait for the image itself (a broken or
    # missing image never gets a natural width and the wait fails).
    page.wait_for_function(
        "() => { const img = document.querySelector('.trace-qr img');"
        " return img !== null && img.complete && img.naturalWidth > 0; }",
        timeout=10_000,
    )
    target = page.get_attribute("[data-trace-url]", "href")
    batch = db.session.scalars(sa.select(Batch).where(Batch.code == "LO-E2E-01")).one()
    assert target == f"{live_server}/truy-xuat/{batch.public_code}"

    # A visitor (no cookies) on a phone-sized window.
    page.context.clear_cookies()
    phone = page.context.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.set_extra_http_headers({"User-Agent": PHONE_UA})
    phone.goto(target)
    timeline = phone.locator("ol.timeline")
    timeline.wait_for(state="visible")
    text = timeline.inner_text()
    for expected in ("Chè búp tươi", "Sao chè bằng chảo gang", "LO-E2E-01"):
        assert expected in text
    assert phone.locator("ol.timeline > li").count() == 3
    assert phone.get_by_role("heading", name="Chè búp Ba Vì").is_visible()
    assert "Điểm OCOP Phố cổ" in phone.locator("main").inner_text()
    assert "Đăng xuất" not in phone.content()  # really a visitor
    # Mobile first: nothing wider than the phone's screen.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    # The visit counted as one scan (the producer's own views did not).
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Batch, batch.id).scan_count == 1
    phone.close()
