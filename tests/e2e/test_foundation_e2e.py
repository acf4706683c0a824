"""A producer registers, verifies the e-mail, opens a storefront, lists a product with an image,
publishes it, logs out, and finds it on its public page as a visitor."""

from __future__ import annotations

import re

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.mail.models import OutgoingMail
from tests.e2e.conftest import log_out
from tests.helpers import image_bytes


def _verification_link(email: str) -> str:
    db.session.expire_all()
    mail = db.session.scalars(
        sa.select(OutgoingMail).where(OutgoingMail.to == email).order_by(OutgoingMail.id.desc())
    ).first()
    assert mail is not None, "no verification mail was queued"
    return re.search(r"https?://\S+", mail.body).group(0)


def test_producer_lists_a_product_that_visitors_find(live_server, browser_page, tmp_path):
    page = browser_page
    email = "hoa.htx@example.vn"

    page.goto(live_server + "/register")
    page.check("input[name=role][value=producer]")
    page.fill("#name", "Nguyễn Thị Hoa")
    page.fill("#email", email)
    page.fill("#password", "mat-khau-dai-123")
    page.fill("#confirm", "mat-khau-dai-123")
    page.check("#privacy_consent")
    page.get_by_role("button", name="Tạo tài khoản").click()
    page.wait_for_load_state()

    page.goto(_verification_link(email))
    page.goto(live_server + "/my/producers/new")
    page.fill("#name", "HTX Mây tre đan Thử Nghiệm")
    page.select_option("#district", "Chương Mỹ")
    page.get_by_role("button", name="Tạo gian hàng").click()
    page.wait_for_load_state()

    page.goto(live_server + "/my/producers")
    page.get_by_text("Thêm sản phẩm").first.click()
    page.fill("#name", "Giỏ mây đan tay thử nghiệm")
    page.select_option("#ocop_group", "handicraft")
    page.fill("#unit", "chiếc")
    page.fill("#price_min_vnd", "150.000")
    page.get_by_role("button", name="Lưu bản nháp").click()
    page.wait_for_load_state()

    photo = tmp_path / "gio-may.jpg"
    photo.write_bytes(image_bytes(size=(640, 480)))
    page.set_input_files("#images-input", str(photo))
    page.get_by_role("button", name="Tải ảnh lên").click()
    page.wait_for_load_state()
    assert page.locator("#images img").count() == 1

    page.get_by_role("button", name="Đăng bán").click()
    page.wait_for_load_state()
    product_url = page.get_by_role("link", name="Xem trang sản phẩm").get_attribute("href")

    log_out(page)
    assert page.get_by_role("link", name="Đăng nhập").is_visible()

    response = page.goto(live_server + product_url)
    assert response.status == 200
    assert page.get_by_role("heading", name="Giỏ mây đan tay thử nghiệm").is_visible()
    assert "150.000" in page.content()
    page.goto(live_server + "/products?group=handicraft")
    assert page.get_by_text("Giỏ mây đan tay thử nghiệm").first.is_visible()
