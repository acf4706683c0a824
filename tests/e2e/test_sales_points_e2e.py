"""In a browser: an operator applies for a sales point and lists a product, an organiser approves
it with the Decision 950 checklist, and the point shows on the public map and on the product's
"where to buy" list, nearest first when the visitor shares a location. Map tiles are blocked (no
network here): the map must still show the markers."""

from __future__ import annotations

import re

from marketplace.extensions import db
from tests.e2e.conftest import log_out
from tests.helpers import PASSWORD, make_producer, make_product, make_sales_point, make_user

NAME = "Cửa hàng OCOP Phố Cổ Hàng Bạc"


def log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    form = page.locator("main form[action$='/login']")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "/login" not in page.url


def test_apply_approve_and_find_the_point(app, live_server, browser_page):
    page = browser_page
    operator = make_user(roles=("sales_point",), email="diemban@example.vn")
    organiser = make_user(roles=("organiser",), email="bantochuc@example.vn")
    producer = make_producer(name="HTX Nếp Cái Hoa Vàng", district="Đông Anh")
    product = make_product(producer, name="Gạo nếp cái hoa vàng Đông Anh", ref="E2E-RICE", stars=4)
    # another approved point carrying the product, in Ba Đình: listed first by the server (district order)
    make_sales_point([product], ref="E2E-BD", name="Điểm bán OCOP Ba Đình", district="Ba Đình", lat=21.037, lng=105.834)
    db.session.commit()
    page.route(re.compile(r"https://tile\.openstreetmap\.org/.*"), lambda route: route.abort())

    # 1. the operator applies, picking the place on the map, then lists the product
    log_in(page, live_server, operator.email)
    page.goto(f"{live_server}/my/sales-points/new")
    page.fill("#name", NAME)
    page.select_option("#kind", "shop")
    page.fill("#address", "10 Hàng Bạc")
    page.select_option("#district", "Hoàn Kiếm")
    page.fill("#commune", "Hàng Bạc")
    page.fill("#opening_hours", "00:00-24:00")
    page.fill("#phone", "024 3826 1234")
    page.fill("#display_area_m2", "20")
    picker = page.locator("#sp-picker")
    assert picker.get_attribute("data-ready") == "1"
    picker.click(position={"x": 200, "y": 100})
    assert re.fullmatch(r"-?\d+\.\d{6}", page.input_value("#lat"))
    page.fill("#lat", "21.0335")
    page.fill("#lng", "105.8532")
    page.get_by_role("button", name="Gửi hồ sơ").click()
    page.wait_for_load_state()
    assert "/products" in page.url
    search = page.locator("main form[role=search]")
    search.locator("input[name=q]").fill("nep cai hoa vang")
    search.get_by_role("button", name="Tìm").click()
    page.get_by_role("button", name="Thêm Gạo nếp cái hoa vàng Đông Anh").click()
    page.wait_for_load_state()
    assert page.locator(f"#stock-{product.id}").is_checked()
    log_out(page)

    # 2. an organiser approves it with the checklist
    log_in(page, live_server, organiser.email)
    page.goto(f"{live_server}/admin/sales-points")
    page.get_by_role("link", name=NAME).click()
    for box in page.locator("form.sp-checklist input[type=checkbox]").all():
        box.check()
    page.get_by_role("button", name="Duyệt điểm bán").click()
    page.wait_for_load_state()
    assert "Đã duyệt điểm bán" in page.locator(".flash").first.inner_text()
    log_out(page)

    # 3. anyone finds it on the public map page (markers without tiles)
    page.goto(f"{live_server}/diem-ban")
    page.get_by_role("link", name=NAME).first.wait_for()
    marker = page.locator(f'img.leaflet-marker-icon[alt="{NAME}"]')
    marker.wait_for()
    marker.click()
    assert NAME in page.locator(".leaflet-popup-content").inner_text()
    assert page.locator("#sp-map").get_attribute("data-ready") == "2"
    page.get_by_role("link", name="Điểm bán OCOP").first.click()  # the nav link back to the registry
    page.get_by_label("Quận/huyện").select_option("Hoàn Kiếm")
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_load_state()
    assert page.locator("ul.sp-list > li").count() == 1

    # 4. ... and on the product's "where to buy" list, nearest first once the location is shared
    page.context.grant_permissions(["geolocation"], origin=live_server)
    page.context.set_geolocation({"latitude": 21.0336, "longitude": 105.8531})
    page.goto(f"{live_server}/san-pham/E2E-RICE")
    items = page.locator("ul[data-where-to-buy] > li")
    assert items.count() == 2
    assert items.first.get_attribute("data-ref") == "E2E-BD"  # server order: district, name
    page.get_by_role("button", name="Gần tôi nhất trước").click()
    page.wait_for_selector("ul[data-where-to-buy][data-sorted=near]")
    assert NAME in items.first.inner_text()
    assert "km" in items.first.locator("[data-distance]").inner_text()
    items.first.get_by_role("link", name=NAME).click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == NAME
    assert "Gạo nếp cái hoa vàng Đông Anh" in page.locator("main").inner_text()
