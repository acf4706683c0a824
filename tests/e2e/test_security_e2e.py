"""In a browser: our own pages and scripts run under the Content-Security-Policy without a single
violation (home, the sales-point map, a product page, a traceability page, "Tìm nhà cung cấp" with
results, a producer's batch page), the confirm/print handlers that replaced inline ones work, and
the violation listener itself does catch an inline script (so a silent listener cannot pass)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from marketplace.extensions import db
from marketplace.traceability import services as trace
from marketplace.traceability.validation import BatchData, InputData
from tests.helpers import PASSWORD, make_producer, make_product, make_sales_point, make_user

LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile + ":" + e.lineNumber);
});
"""


def _violations(page, console: list[str]) -> list[str]:
    found = page.evaluate("window.__cspViolations || []")
    return found + [text for text in console if "Content Security Policy" in text]


def _visit(page, url: str, console: list[str]) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    assert _violations(page, console) == [], url


def test_pages_run_under_the_policy_without_violations(app, live_server, browser_page):
    page = browser_page
    owner = make_user(roles=("producer",), email="htx@example.vn")
    producer = make_producer([owner], name="HTX Miến Cự Đà", district="Thanh Oai", lat=20.95, lng=105.78)
    product = make_product(producer, ref="E2E-MIEN", name="Miến dong sợi nhỏ", stars=4, monthly_capacity=25000)
    make_sales_point([product], ref="E2E-SP", name="Siêu thị OCOP Long Biên", lat=21.046, lng=105.875)
    batch = trace.create_batch(
        owner, product, BatchData(code="LO-E2E", produced_on=date(2026, 11, 1), quantity=Decimal(50), unit="kg")
    )
    trace.add_item(owner, batch, trace.ITEM_KINDS["inputs"], InputData(name="Củ dong", origin="Cự Đà"))
    trace.publish_batch(owner, batch)
    draft = trace.create_batch(
        owner, product, BatchData(code="LO-NHAP", produced_on=date(2026, 11, 2), quantity=Decimal(5), unit="kg")
    )
    db.session.commit()

    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(LISTENER)
    # No network here: tiles fail fast (a failed tile is not a policy violation; a blocked one would be).
    page.route(re.compile(r"https://tile\.openstreetmap\.org/.*"), lambda route: route.abort())

    _visit(page, f"{live_server}/", console)
    _visit(page, f"{live_server}/diem-ban", console)
    assert page.locator("[data-sales-points-map] .leaflet-marker-icon").count() >= 1  # the map script ran
    _visit(page, f"{live_server}/san-pham/E2E-MIEN", console)
    _visit(page, f"{live_server}/truy-xuat/{batch.public_code}", console)
    _visit(page, f"{live_server}/tim-nha-cung-cap", console)
    _visit(page, f"{live_server}/tim-nha-cung-cap?text=mi%E1%BA%BFn+dong&quantity=100", console)
    assert "Miến dong sợi nhỏ" in page.content()

    # The autocomplete script (fetch to /goi-y, connect-src 'self') works under the policy.
    page.goto(f"{live_server}/")
    page.locator("header input[data-autocomplete]").type("miến", delay=30)
    page.wait_for_timeout(800)
    assert _violations(page, console) == []

    # The producer's pages: confirm.js asks before deleting, the print button prints.
    page.goto(f"{live_server}/login")
    form = page.locator("main form[action$='/login']")
    form.locator("input[name=email]").fill(owner.email)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    _visit(page, f"{live_server}/my/batches/{draft.id}", console)
    asked: list[str] = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.locator("form[data-confirm] button[type=submit]").first.click()
    page.wait_for_timeout(300)
    assert asked == ["Xóa lô nháp này?"]
    assert f"/my/batches/{draft.id}" in page.url  # "Hủy": nothing was posted
    assert _violations(page, console) == []

    _visit(page, f"{live_server}/my/batches/{batch.id}/labels", console)
    # (a function as the last value would be called by evaluate(): end on a number)
    page.evaluate("window.__printed = 0; window.print = function () { window.__printed += 1; }; 0")
    page.locator("button[data-print]").click()
    assert page.evaluate("window.__printed") == 1

    # The listener is not blind: an injected inline script is blocked and reported.
    page.evaluate(
        "var s = document.createElement('script'); s.textContent = 'window.__inlineRan = true;';"
        " document.head.appendChild(s);"
    )
    page.wait_for_timeout(300)
    assert page.evaluate("window.__inlineRan === true") is False
    assert any("script-src" in v for v in _violations(page, console))
