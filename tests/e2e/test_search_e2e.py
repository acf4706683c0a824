"""A visitor types an unaccented query in the header box, picks a suggestion with the keyboard,
lands on the results and narrows them by OCOP stars (valid certificates only)."""

from __future__ import annotations

import re
from datetime import date

from marketplace.extensions import db
from tests.helpers import make_producer, make_product


def test_header_autocomplete_then_filter_by_stars(live_server, browser_page):
    rattan = make_producer(name="Hộ kinh doanh Nguyễn Văn Bình", district="Chương Mỹ")
    other = make_producer(name="Hộ kinh doanh Trần Thị Hà", district="Mỹ Đức")
    make_product(rattan, ref="E2E-4", name="Làn mây", stars=4, ocop_group="handicraft", price_min_vnd=250_000)
    make_product(other, ref="E2E-3", name="Làn mây", stars=3, ocop_group="handicraft", price_min_vnd=90_000)
    make_product(
        other, ref="E2E-X", name="Làn mây", stars=5, issued_on=date(2022, 1, 10), ocop_group="handicraft"
    )  # expired: counts 0 stars
    make_product(rattan, ref="E2E-C", name="Chè búp", stars=5, ocop_group="beverage")
    db.session.commit()

    page = browser_page
    page.goto(live_server + "/")
    box = page.locator("header .header-search input[name=q]")
    assert box.get_attribute("role") == "combobox"
    box.click()
    box.press_sequentially("lan may", delay=40)

    listbox = page.locator("#" + box.get_attribute("aria-controls"))
    option = listbox.get_by_role("option", name="Làn mây", exact=True)
    option.wait_for()
    assert box.get_attribute("aria-expanded") == "true"
    assert listbox.get_by_role("option").count() <= 8

    # Keyboard: move down to the suggestion, Enter picks it and submits the search.
    for _ in range(listbox.get_by_role("option").count()):
        box.press("ArrowDown")
        if box.get_attribute("aria-activedescendant") == option.get_attribute("id"):
            break
    assert option.get_attribute("aria-selected") == "true"
    with page.expect_navigation():
        box.press("Enter")
    assert re.search(r"/products\?q=L%C3%A0n\+m%C3%A2y|/products\?q=L%C3%A0n%20m%C3%A2y", page.url), page.url
    assert box.input_value() == "Làn mây"

    hits = page.locator("[data-search-hit]")
    assert sorted(hits.evaluate_all("els => els.map(e => e.dataset.ref)")) == ["E2E-3", "E2E-4", "E2E-X"]

    # Escape closes an open list and keeps the text.
    box.fill("")
    box.press_sequentially("lan", delay=40)
    listbox.get_by_role("option").first.wait_for()
    box.press("Escape")
    assert box.get_attribute("aria-expanded") == "false" and box.input_value() == "lan"

    # Narrow by stars with the facet link: only products with 4 valid stars remain.
    star_facet = page.locator('a[data-facet="min_stars"][data-value="4"]')
    assert "(1)" in star_facet.inner_text()
    assert page.locator('a[data-facet="min_stars"][data-value="5"]').count() == 0  # the expired 5★ counts 0
    with page.expect_navigation():
        star_facet.click()
    assert "min_stars=4" in page.url and "q=" in page.url
    refs = page.locator("[data-search-hit]").evaluate_all("els => els.map(e => e.dataset.ref)")
    assert refs == ["E2E-4"]
    labels = page.locator("[data-search-hit] .stars").evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")
    assert labels == ["OCOP 4 sao"]
    assert page.locator('a[data-facet="min_stars"][data-value="4"]').get_attribute("aria-checked") == "true"
