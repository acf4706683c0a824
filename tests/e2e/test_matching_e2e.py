"""In a browser: a buyer describes a need on "Tìm nhà cung cấp", reads the ranked suppliers with
their reasons, and sends an inquiry from a result (the inquiry form when the inquiries feature is
installed, else the button leads to the product page)."""

from __future__ import annotations

from marketplace.extensions import db
from tests.helpers import PASSWORD, make_producer, make_product, make_sales_point, make_user


def test_find_suppliers_and_send_an_inquiry(app, live_server, browser_page):
    page = browser_page
    buyer = make_user(roles=("buyer",), email="nguoimua@example.vn")
    manager = make_user(roles=("producer",), email="htx@example.vn")
    good = make_producer([manager], name="HTX Miến Cự Đà", district="Thanh Oai", lat=20.95, lng=105.78)
    small = make_producer(name="Cơ sở miến Minh Hồng", district="Hoài Đức")
    best = make_product(
        good, ref="E2E-MIEN", name="Miến dong sợi nhỏ", stars=4, unit="kg", monthly_capacity=25000, moq=100
    )
    make_product(small, ref="E2E-MIEN3", name="Miến dong truyền thống", stars=3, unit="kg", monthly_capacity=3000)
    make_product(name="Bánh chưng gói lá dong", ref="E2E-BANH", stars=4, unit="chiếc")
    make_sales_point(
        [best], ref="E2E-SP", name="Siêu thị OCOP Long Biên", district="Long Biên", lat=21.046, lng=105.875
    )
    db.session.commit()

    page.goto(f"{live_server}/login")
    form = page.locator("main form[action$='/login']")
    form.locator("input[name=email]").fill(buyer.email)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()

    # the header links to the page
    page.get_by_role("link", name="Tìm nhà cung cấp").first.click()
    page.wait_for_load_state()
    assert "/tim-nha-cung-cap" in page.url

    page.fill("#text", "Cần mua miến dong loại ngon làm quà tặng")
    page.fill("#quantity", "500")
    page.select_option("#unit", "kg")
    page.select_option("#min_stars", "4")
    page.select_option("#district", "Cầu Giấy")
    page.locator("form.need-form button[type=submit]").click()
    page.wait_for_load_state()

    cards = page.locator("[data-testid=suppliers] > li")
    assert cards.count() == 1  # the 3★ one is excluded, the bánh chưng is not a miến supplier
    first = cards.first
    assert first.get_attribute("data-ref") == "E2E-MIEN"
    reasons = first.locator(".reasons").inner_text()
    assert "Đạt OCOP 4★" in reasons and "Năng lực 25.000 kg/tháng ≥ 500 kg" in reasons and "Cách Cầu Giấy" in reasons
    assert "Siêu thị OCOP Long Biên" in page.locator("[data-testid=sales-points]").inner_text()

    first.locator("[data-testid=inquiry-button]").click()
    page.wait_for_load_state()
    if "inquiries.new_inquiry" in app.view_functions:
        assert "/inquiries/new" in page.url
        page.fill("#quantity", "500")
        page.fill("#unit", "kg")
        page.fill("#message", "Chào HTX, chúng tôi cần 500 kg miến dong mỗi tháng làm quà Tết.")
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state()
        assert "Đã gửi yêu cầu tới HTX Miến Cự Đà" in page.locator("body").inner_text()
    else:  # no inquiries feature: the button leads to the product page
        assert page.url.endswith("/san-pham/E2E-MIEN")
        assert page.locator("h1").inner_text() == "Miến dong sợi nhỏ"
