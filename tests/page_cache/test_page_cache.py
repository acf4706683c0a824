"""The page cache for anonymous visitors (marketplace/core/page_cache.py)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import flash, make_response, render_template_string

from config import TestConfig
from marketplace import create_app
from marketplace.catalog import services as catalog
from marketplace.catalog.models import Product
from marketplace.core import page_cache
from marketplace.extensions import db
from marketplace.search import drain
from tests.helpers import login, make_producer, make_product, make_user

HEADER = page_cache.HEADER
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def cached(app):
    """The app with the page cache on (TestConfig has it off) and some catalogue."""
    app.config["PAGE_CACHE_SECONDS"] = 60
    manager = make_user(roles=("producer",))
    producer = make_producer(managers=[manager], name="HTX Phú Vinh")
    make_product(producer, ref="PC-0001", name="Giỏ mây tre đan", ocop_group="handicraft")
    make_product(producer, ref="PC-0002", name="Miến dong Cự Đà")
    db.session.commit()
    drain()  # the search outbox is empty: pages may be stored
    return app


def test_second_anonymous_get_is_a_hit(cached, client):
    first = client.get("/san-pham/PC-0001")
    second = client.get("/san-pham/PC-0001")
    assert first.status_code == second.status_code == 200
    assert first.headers[HEADER] == "miss"
    assert second.headers[HEADER] == "hit"
    assert "Giỏ mây tre đan" in second.get_data(as_text=True)
    # Only the visitor's CSRF token may differ (the same visitor: the same secret, a new signature).
    assert CSRF_RE.sub("", first.get_data(as_text=True)) == CSRF_RE.sub("", second.get_data(as_text=True))


@pytest.mark.parametrize(
    "path", ["/", "/products?q=m%C3%A2y", "/producers", "/diem-ban", "/forums", "/tim-nha-cung-cap?text=mi%E1%BA%BFn"]
)
def test_public_pages_are_cached(cached, client, path):
    miss, hit = client.get(path), client.get(path)
    assert (miss.headers.get(HEADER), hit.headers.get(HEADER)) == ("miss", "hit")
    # A hit carries the same security headers as a rendered page (core/security.py adds them).
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"):
        assert hit.headers.get(name), name
        assert miss.headers[name].split("'nonce-")[0] == hit.headers[name].split("'nonce-")[0]
    assert hit.headers["Content-Type"] == miss.headers["Content-Type"]


def test_cache_off_by_default(app, client):
    make_product(ref="PC-0009")
    db.session.commit()
    assert HEADER not in client.get("/san-pham/PC-0009").headers
    assert HEADER not in client.get("/san-pham/PC-0009").headers


def test_logged_in_users_neither_read_nor_fill_the_cache(cached, client, app):
    user = make_user()
    db.session.commit()
    anonymous = app.test_client()
    assert anonymous.get("/san-pham/PC-0001").headers[HEADER] == "miss"
    login(client, user)
    for _ in range(2):
        page = client.get("/san-pham/PC-0001")
        assert page.status_code == 200
        assert HEADER not in page.headers
        assert user.name in page.get_data(as_text=True)
    # A path only the logged-in user visited was not stored for anyone.
    login(client, user)
    assert HEADER not in client.get("/san-pham/PC-0002").headers
    assert app.test_client().get("/san-pham/PC-0002").headers[HEADER] == "miss"


def test_a_session_with_flash_messages_bypasses_the_cache(cached, client, app):
    assert app.test_client().get("/").headers[HEADER] == "miss"
    with client.session_transaction() as sess:
        sess["_flashes"] = [("info", "Đã lưu thay đổi.")]
    page = client.get("/")
    assert HEADER not in page.headers
    assert "Đã lưu thay đổi." in page.get_data(as_text=True)
    assert app.test_client().get("/").headers[HEADER] == "hit"


@pytest.fixture
def test_pages(cached, monkeypatch):
    """Pages the cache would take, made for these tests: a flash, a cookie, an inline script."""
    app = cached

    @app.get("/pc-test/flash")
    def pc_flash():
        flash("Tin nhắn một lần", "info")
        return render_template_string("{{ get_flashed_messages()|join }}")

    @app.get("/pc-test/cookie")
    def pc_cookie():
        response = make_response("<p>cookie</p>")
        response.set_cookie("tracking", "visitor-1")
        return response

    @app.get("/pc-test/script")
    def pc_script():
        return render_template_string(
            '<script nonce="{{ csp_nonce() }}">1</script><input name="csrf_token" value="{{ csrf_token() }}">'
        )

    monkeypatch.setattr(page_cache, "ENDPOINTS", page_cache.ENDPOINTS | {"pc_flash", "pc_cookie", "pc_script"})
    return app


def test_a_page_rendered_with_a_flash_is_not_stored(test_pages, client):
    for _ in range(2):
        page = client.get("/pc-test/flash")
        assert HEADER not in page.headers
        assert "Tin nhắn một lần" in page.get_data(as_text=True)


def test_a_page_that_sets_a_cookie_is_not_stored(test_pages, client):
    for _ in range(2):
        page = client.get("/pc-test/cookie")
        assert HEADER not in page.headers
        assert "tracking=visitor-1" in page.headers["Set-Cookie"]


def test_csp_nonce_and_csrf_token_are_each_responses_own(test_pages):
    app = test_pages
    first_visitor, second_visitor = app.test_client(), app.test_client()
    first = first_visitor.get("/pc-test/script")
    hit = second_visitor.get("/pc-test/script")
    assert (first.headers[HEADER], hit.headers[HEADER]) == ("miss", "hit")
    nonces = []
    for page in (first, hit):
        body = page.get_data(as_text=True)
        nonce = re.search(r'<script nonce="([^"]+)">', body).group(1)
        assert f"'nonce-{nonce}'" in page.headers["Content-Security-Policy"]
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["X-Frame-Options"] == "DENY"
        nonces.append(nonce)
    assert nonces[0] != nonces[1]
    assert "\x00" not in hit.get_data(as_text=True)
    # The second visitor's token is made for their own session: it passes CSRF protection.
    token = CSRF_RE.search(hit.get_data(as_text=True)).group(1)
    assert token != CSRF_RE.search(first.get_data(as_text=True)).group(1)
    app.config["WTF_CSRF_ENABLED"] = True
    assert second_visitor.post("/lang/en", data={"csrf_token": token, "next": "/"}).status_code == 302
    assert first_visitor.post("/lang/en", data={"csrf_token": token, "next": "/"}).status_code == 400


def test_a_hit_for_a_new_visitor_starts_their_session_like_a_render_would(cached, app):
    app.test_client().get("/")
    hit = app.test_client().get("/")
    assert hit.headers[HEADER] == "hit"
    assert "session=" in hit.headers["Set-Cookie"]  # the CSRF secret of this visitor
    assert hit.headers["Cache-Control"] == "no-store"


def test_edit_through_the_service_shows_at_once(cached, client):
    manager = db.session.scalars(sa.select(Product).where(Product.ref == "PC-0001")).one().producer.managers[0]
    client.get("/san-pham/PC-0001")
    client.get("/products?q=m%C3%A2y")
    assert client.get("/san-pham/PC-0001").headers[HEADER] == "hit"
    assert client.get("/products?q=m%C3%A2y").headers[HEADER] == "hit"

    product = db.session.scalars(sa.select(Product).where(Product.ref == "PC-0001")).one()
    cert = product.certificate
    catalog.update_product(
        manager,
        product,
        catalog.ProductData(name="Giỏ mây tre đan Phú Vinh cao cấp", ocop_group="handicraft", unit="chiếc"),
        catalog.CertificateData(stars=cert.stars, number=cert.number, level=cert.level, issued_on=cert.issued_on),
    )
    db.session.commit()

    page = client.get("/san-pham/PC-0001")
    assert page.headers.get(HEADER) != "hit"
    assert "Phú Vinh cao cấp" in page.get_data(as_text=True)
    search = client.get("/products?q=m%C3%A2y")
    assert search.headers.get(HEADER) != "hit"
    assert "Phú Vinh cao cấp" in search.get_data(as_text=True)


def test_an_edit_through_one_instance_is_seen_by_another_at_once(cached, client):
    """Two app instances (two servers) on one database: each has its own cache."""
    other = create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": cached.config["SQLALCHEMY_DATABASE_URI"],
            "DATA_DIR": cached.config["DATA_DIR"],
            "PAGE_CACHE_SECONDS": 60,
        },
    )
    visitor = other.test_client()
    visitor.get("/san-pham/PC-0002")
    assert visitor.get("/san-pham/PC-0002").headers[HEADER] == "hit"

    product = db.session.scalars(sa.select(Product).where(Product.ref == "PC-0002")).one()
    product.name = "Miến dong Cự Đà loại đặc biệt"
    db.session.commit()

    page = visitor.get("/san-pham/PC-0002")
    assert page.headers.get(HEADER) != "hit"
    assert "loại đặc biệt" in page.get_data(as_text=True)
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_page_is_not_stored_while_the_search_index_lags(cached, client):
    make_product(ref="PC-0003", name="Mật ong rừng Ba Vì")
    db.session.commit()  # queued in the search outbox, not yet applied (tests drain on read)
    assert client.get("/products?q=m%E1%BA%ADt+ong").headers.get(HEADER) is None
    found = client.get("/products?q=m%E1%BA%ADt+ong")  # the previous request drained the outbox
    assert found.headers[HEADER] == "miss"
    assert "rừng Ba Vì" in found.get_data(as_text=True)  # the words searched for are highlighted


def test_the_language_is_part_of_the_key(cached, client, app):
    assert app.test_client().get("/").headers[HEADER] == "miss"
    client.post("/lang/en", data={"next": "/"})
    english = client.get("/")
    assert english.headers[HEADER] == "miss"
    assert '<html lang="en"' in english.get_data(as_text=True)
    assert client.get("/").headers[HEADER] == "hit"
    vietnamese = app.test_client().get("/")
    assert vietnamese.headers[HEADER] == "hit"
    assert '<html lang="vi"' in vietnamese.get_data(as_text=True)


def test_the_query_string_is_part_of_the_key(cached, client):
    rattan = client.get("/products?q=m%C3%A2y")
    noodles = client.get("/products?q=mi%E1%BA%BFn")
    assert rattan.headers[HEADER] == noodles.headers[HEADER] == "miss"
    assert "/san-pham/PC-0001" in rattan.get_data(as_text=True)
    assert "/san-pham/PC-0002" in noodles.get_data(as_text=True)
    assert "/san-pham/PC-0002" not in rattan.get_data(as_text=True)
    assert client.get("/products?q=mi%E1%BA%BFn").headers[HEADER] == "hit"
    # The login link carries the page's own path back (next=): never another query's.
    page = client.get("/products?q=mi%E1%BA%BFn&page=1")
    assert page.headers[HEADER] == "miss"
    assert "page%3D1" in page.get_data(as_text=True)


def test_head_is_served_from_a_get_entry(cached, client):
    full = client.get("/san-pham/PC-0001")
    head = client.head("/san-pham/PC-0001")
    assert head.status_code == 200
    assert head.headers[HEADER] == "hit"
    assert head.get_data() == b""
    assert head.headers["Content-Type"] == full.headers["Content-Type"]
    assert "Content-Security-Policy" in head.headers


def test_a_head_miss_is_not_stored(cached, client):
    assert client.head("/san-pham/PC-0002").headers.get(HEADER) is None
    assert client.get("/san-pham/PC-0002").headers[HEADER] == "miss"


def test_not_found_is_not_cached(cached, client):
    for _ in range(2):
        page = client.get("/san-pham/KHONG-CO")
        assert page.status_code == 404
        assert HEADER not in page.headers


def generation() -> int:
    return page_cache.read_state(db.engine)[0]


def test_catalogue_writes_bump_the_generation_private_ones_do_not(cached):
    start = generation()
    user = make_user()
    db.session.commit()
    assert generation() == start + 1  # users are shown (reviewers, managers)
    user.session_token = "rotated-at-logout"
    user.last_login_at = None
    db.session.commit()
    assert generation() == start + 1
    from marketplace.inquiries.models import Notification

    columns = {c.name for c in Notification.__table__.columns}
    assert "user_id" in columns
    db.session.execute(sa.insert(Notification.__table__).values(**_notification_values(user)))
    db.session.commit()
    assert generation() == start + 1
    db.session.execute(sa.update(Product).where(Product.ref == "PC-0001").values(name="Giỏ mây"))
    db.session.commit()
    assert generation() == start + 2
    db.session.execute(sa.update(Product).where(Product.ref == "PC-0001").values(name="Giỏ"))
    db.session.rollback()
    assert generation() == start + 2


def _notification_values(user) -> dict:
    from marketplace.core.models import utcnow
    from marketplace.inquiries.models import Notification

    values = {"user_id": user.id}
    for column in Notification.__table__.columns:
        if column.name in values or column.primary_key or column.nullable or column.default is not None:
            continue
        values[column.name] = utcnow() if "at" in column.name.split("_") else "x"
    return values


def test_store_is_bounded_and_expires():
    store = page_cache.MemoryStore(max_entries=2, max_bytes=10_000)
    entry = page_cache.Entry(100.0, 200, (), b"x" * 10, False, False)
    for key in ("a", "b", "c"):
        store.set((key,), entry)
    assert len(store) == 2
    assert store.get(("a",), 1.0) is None
    assert store.get(("c",), 1.0) is entry
    assert store.get(("c",), 100.0) is None  # expired
    store.set(("big",), page_cache.Entry(100.0, 200, (), b"x" * 5000, False, False))
    assert store.get(("big",), 1.0) is None  # over a tenth of the budget: never kept
    store.seen(5)
    store.set(("d",), entry)
    store.seen(6)
    assert len(store) == 0


def test_a_match_page_is_fresh_after_a_catalogue_write(cached, client):
    path = "/tim-nha-cung-cap?text=mi%E1%BA%BFn+dong"
    assert "Miến dong Cự Đà" in client.get(path).get_data(as_text=True)
    assert client.get(path).headers[HEADER] == "hit"
    product = db.session.scalars(sa.select(Product).where(Product.ref == "PC-0002")).one()
    product.hidden = True  # an organiser hides the listing
    db.session.commit()
    drain()
    page = client.get(path)
    assert page.headers.get(HEADER) != "hit"
