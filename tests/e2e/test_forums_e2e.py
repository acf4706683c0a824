"""In a browser, the whole forum path: an organiser creates a forum with a session and opens it; a
buyer and a producer register; the organiser approves both; the buyer requests a meeting and the
producer accepts; the organiser runs the scheduler; the buyer's agenda shows the meeting with a QR
code and the code as text; the organiser checks the buyer in with that code (a second time says
"already checked in")."""

from __future__ import annotations

import re
from datetime import timedelta

from marketplace.core.dates import today
from marketplace.extensions import db
from tests.e2e.conftest import log_out
from tests.helpers import PASSWORD, make_producer, make_product, make_user

FORUM = "Diễn đàn kết nối giao thương OCOP Hà Nội 2027"
BUYER_ORG = "Chuỗi Siêu thị Xanh"
PRODUCER_ORG = "HTX Nếp cái hoa vàng Đông Anh"


def log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    form = page.locator("main form[action$='/login']")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "/login" not in page.url


def register(page, base: str, forum_id: int, kind: str, organisation: str, seeks: str) -> None:
    page.goto(f"{base}/forums/{forum_id}/register")
    page.locator(f"input[name=kind][value={kind}]").check()
    producer_select = page.locator("select[name=producer_id]")
    if producer_select.count():
        producer_select.select_option(index=1)
    page.fill("input[name=organisation]", organisation)
    page.fill("input[name=contact_name]", f"Liên hệ {organisation}")
    page.fill("input[name=phone]", "0912 345 678")
    page.fill("textarea[name=seeks]", seeks)
    page.locator("input[name=session_ids]").first.check()
    products = page.locator("input[name=product_ids]")
    if products.count():
        products.first.check()
    page.get_by_role("button", name="Gửi đăng ký").click()
    page.wait_for_load_state()
    errors = page.locator(".flash-error, .field-error")
    assert errors.count() == 0, errors.all_inner_texts()


def test_forum_from_creation_to_check_in(app, live_server, browser_page):
    page = browser_page
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm prompts
    organiser = make_user(roles=("organiser",), email="bantochuc@example.vn")
    buyer = make_user(roles=("buyer",), email="nguoimua@example.vn", name="Chị Mai")
    maker = make_user(roles=("producer",), email="htx@example.vn", name="Bác Ba")
    farm = make_producer(managers=[maker], name=PRODUCER_ORG, district="Đông Anh")
    make_product(farm, name="Gạo nếp cái hoa vàng", ref="E2E-NEP", stars=4)
    db.session.commit()
    day = today() + timedelta(days=40)
    deadline = today() + timedelta(days=20)

    # 1. the organiser creates the forum, one session of four 20-minute slots, and opens it
    log_in(page, live_server, organiser.email)
    page.goto(f"{live_server}/forums/new")
    page.fill("input[name=title]", FORUM)
    page.fill("input[name=venue]", "Cung Văn hoá Hữu nghị")
    page.fill("input[name=starts_on]", day.isoformat())
    page.fill("input[name=ends_on]", day.isoformat())
    page.fill("input[name=registration_deadline]", f"{deadline.isoformat()}T17:00")
    page.fill("input[name=tables]", "3")
    page.get_by_role("button", name="Lưu").click()
    page.wait_for_load_state()
    match = re.search(r"/forums/(\d+)/sessions", page.url)
    assert match, page.url
    forum_id = int(match.group(1))
    page.fill("input[name='sessions-0-name']", "Phiên sáng")
    page.fill("input[name='sessions-0-day']", day.isoformat())
    page.fill("input[name='sessions-0-starts_at']", "08:00")
    page.fill("input[name='sessions-0-ends_at']", "09:20")
    page.fill("input[name='sessions-0-meeting_minutes']", "20")
    page.get_by_role("button", name="Lưu các phiên").click()
    page.wait_for_load_state()
    assert page.locator(".flash-success").count() == 1
    page.goto(f"{live_server}/forums/{forum_id}")
    page.get_by_role("button", name="Mở đăng ký").click()
    page.wait_for_load_state()
    log_out(page)

    # 2. a buyer and a producer register
    log_in(page, live_server, buyer.email)
    register(page, live_server, forum_id, "buyer", BUYER_ORG, "Gạo nếp, đặc sản làm quà Tết")
    log_out(page)
    log_in(page, live_server, maker.email)
    register(page, live_server, forum_id, "producer", PRODUCER_ORG, "Nhà phân phối, siêu thị")
    log_out(page)

    # 3. the organiser approves both
    log_in(page, live_server, organiser.email)
    page.goto(f"{live_server}/forums/{forum_id}/registrations")
    for name in (BUYER_ORG, PRODUCER_ORG):
        card = page.locator("article.registration-card", has_text=name)
        card.get_by_role("button", name="Duyệt").click()
        page.wait_for_load_state()
    assert page.locator("article.registration-card").count() == 0  # nothing left pending
    log_out(page)

    # 4. the buyer requests a meeting with the producer, who accepts
    log_in(page, live_server, buyer.email)
    page.goto(f"{live_server}/forums/{forum_id}/participants")
    page.get_by_role("link", name=PRODUCER_ORG).first.click()
    page.wait_for_load_state()
    page.get_by_role("button", name="Mời gặp").click()
    page.wait_for_load_state()
    log_out(page)
    log_in(page, live_server, maker.email)
    page.goto(f"{live_server}/forums/{forum_id}/meetings")
    page.get_by_role("button", name="Nhận lời").click()
    page.wait_for_load_state()
    log_out(page)

    # 5. the organiser runs the scheduler
    log_in(page, live_server, organiser.email)
    page.goto(f"{live_server}/forums/{forum_id}/schedule")
    page.get_by_role("button", name="Xếp lịch tự động").click()
    page.wait_for_load_state()
    assert page.locator(".flash-error").count() == 0
    log_out(page)

    # 6. the buyer's agenda shows the meeting, a QR code and the code as text
    log_in(page, live_server, buyer.email)
    page.goto(f"{live_server}/forums/{forum_id}/agenda")
    rows = page.locator("table.fd-agenda tbody tr")
    assert rows.count() == 1
    assert PRODUCER_ORG in rows.first.inner_text()
    assert "Gạo nếp cái hoa vàng" in rows.first.inner_text()
    assert re.search(r"0[89]:\d\d–0[89]:\d\d", rows.first.inner_text())
    assert page.locator("img[data-qr]").get_attribute("src").startswith("data:image/svg+xml")
    code = page.locator("[data-checkin-code]").inner_text().strip()
    assert code
    page.get_by_role("button", name="Bản in").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/forums/{forum_id}/agenda/print")
    assert page.locator("section.fd-sheet").count() == 1
    assert code in page.locator("section.fd-sheet").inner_text()
    page.goto(f"{live_server}/forums/{forum_id}/agenda")  # the print page has no site header
    log_out(page)

    # 7. the organiser checks the buyer in with the agenda's code; a second scan changes nothing
    log_in(page, live_server, organiser.email)
    page.goto(f"{live_server}/forums/{forum_id}/check-in")
    if not page.evaluate("'BarcodeDetector' in window"):
        assert page.locator("[data-scanner]").is_hidden()  # no camera scanner without BarcodeDetector
    page.fill("input[name=code]", code)
    page.get_by_role("button", name="Check-in").click()
    page.wait_for_load_state()
    ok = page.locator("[data-checkin-result=ok]")
    assert ok.count() == 1 and BUYER_ORG in ok.inner_text()
    page.fill("input[name=code]", code)
    page.get_by_role("button", name="Check-in").click()
    page.wait_for_load_state()
    assert "đã check-in lúc" in page.locator("[data-checkin-result=already]").inner_text()
    page.goto(f"{live_server}/forums/{forum_id}/attendance?state=in")
    assert page.locator("tbody tr").count() == 1 and BUYER_ORG in page.locator("tbody tr").inner_text()

    # 8. printing all agendas gives one A4 page per approved participant
    page.goto(f"{live_server}/forums/{forum_id}/print/agendas")
    assert page.locator("section.fd-sheet").count() == 2
    pdf = page.pdf(prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 2
    page.goto(f"{live_server}/forums/{forum_id}/print/table-plan")
    assert BUYER_ORG in page.locator("table.fd-plan").inner_text()
