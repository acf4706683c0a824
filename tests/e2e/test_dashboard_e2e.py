"""In a browser, on the demo data (`flask seed-demo`'s services, a small city): the organiser logs
in, reads the dashboard's key figures, the statistics with their charts, the review and moderation
queues, and we keep screenshots at desktop and phone width under the test's tmp dir."""

from __future__ import annotations

import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.catalog.models import Product
from marketplace.dashboard import moderation, services, stats
from marketplace.demo import services as demo
from marketplace.extensions import db

PRODUCTS = 300
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def number(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def log_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    form = page.locator("main form[action$='/login']")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(password)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "/login" not in page.url


def test_dashboard_on_demo_data(app, live_server, browser_page, tmp_path):
    demo.seed_demo(PRODUCTS, 42)
    db.session.commit()
    buyer = db.session.scalars(sa.select(User).where(User.email == "buyer@demo.ocop.vn")).one()
    reported = db.session.scalars(
        sa.select(Product).where(Product.status == "published", Product.hidden.is_(False)).order_by(Product.id)
    ).first()
    moderation.report_listing(buyer, reported, "Ảnh sản phẩm không đúng thực tế")
    db.session.commit()
    total, pending, expiring = stats.product_total(), services.pending_count(), services.expiring_count()
    progress = stats.target_progress()
    groups = stats.by_group("2023")
    assert total > 0 and groups.total == total

    page = browser_page
    log_in(page, live_server, "organiser@demo.ocop.vn", demo.DEMO_PASSWORD)

    # Overview: the key figures, at desktop width then phone width.
    page.goto(f"{live_server}/dashboard/")
    assert page.locator("#figure-total").inner_text().strip() == number(total)
    assert page.locator("#figure-pending").inner_text().strip() == number(pending)
    assert page.locator("#figure-expiring").inner_text().strip() == number(expiring)
    assert page.locator("#figure-moderation").inner_text().strip() == "1"
    assert f"{number(progress.reached)} / {number(progress.goal)}" in page.locator("#figure-progress").inner_text()
    desktop = tmp_path / "dashboard-desktop.png"
    page.screenshot(path=str(desktop), full_page=True)

    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/dashboard/")
    assert page.locator("#figure-total").is_visible()
    assert page.locator("#figure-total").inner_text().strip() == number(total)
    # Nothing wider than the phone's screen on the overview.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    phone = tmp_path / "dashboard-phone.png"
    page.screenshot(path=str(phone), full_page=True)

    # Statistics: the chart is drawn and the table holds the same figures as the services.
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server}/dashboard/stats")
    assert page.locator("#stat-total").inner_text().strip() == number(total)
    section = page.locator("#table-groups")
    assert section.locator("svg.bar-chart rect").count() == len(groups.rows)
    for row in groups.rows:
        cells = section.locator(f"tr[data-key='{row.key}'] td")
        assert cells.nth(1).inner_text().strip() == number(row.count)
        assert cells.nth(2).inner_text().strip() == str(row.share)
    page.screenshot(path=str(tmp_path / "stats-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/dashboard/stats")
    assert page.locator("#table-groups svg.bar-chart").is_visible()
    page.screenshot(path=str(tmp_path / "stats-phone.png"), full_page=True)

    # The moderation queue shows the reported listing; hiding it needs a reason typed in the form.
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server}/dashboard/moderation")
    card = page.locator(f"#reported-{reported.id}")
    assert "Ảnh sản phẩm không đúng thực tế" in card.inner_text()
    card.locator("textarea[name=reason]").first.fill("Ảnh không phải của cơ sở")
    card.get_by_role("button", name="Ẩn sản phẩm").click()
    page.wait_for_load_state()
    assert "Đã ẩn sản phẩm." in page.locator("main").inner_text()
    assert page.locator(f"#hidden-{reported.id}").is_visible()
    page.screenshot(path=str(tmp_path / "moderation-desktop.png"), full_page=True)

    for shot in ("dashboard-desktop", "dashboard-phone", "stats-desktop", "stats-phone", "moderation-desktop"):
        path = tmp_path / f"{shot}.png"
        assert path.stat().st_size > 5000, shot
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
