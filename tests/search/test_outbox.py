"""Index consistency: the outbox is written in the change's transaction and drained after commit."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date

import sqlalchemy as sa

from marketplace.catalog.models import Certificate, Product, ProductImage
from marketplace.extensions import db
from marketplace.producers.models import Producer
from marketplace.search import SearchQuery, drain, get_backend, search_products
from marketplace.search.models import SearchOutbox
from tests.helpers import make_producer, make_product
from tests.search.conftest import product_id, refs_of


def queued() -> list[tuple[str, int, str]]:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(SearchOutbox.entity, SearchOutbox.entity_id, SearchOutbox.op))
        return sorted(tuple(r) for r in rows)


def found(text: str, **filters) -> list[str]:
    return refs_of(search_products(SearchQuery(text=text, per_page=100, **filters)))


def product(ref: str) -> Product:
    return db.session.get(Product, product_id(ref))


@contextmanager
def index_locked(app):
    """Hold the index's write lock the way another process would."""
    backend = get_backend(app)
    if backend.name == "whoosh":
        writer = backend._index(backend._ensure()).writer()
        try:
            yield
        finally:
            writer.cancel()
    else:
        from marketplace.search.postgres_backend import LOCK_KEY

        conn = db.engine.connect()
        conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            conn.close()


def test_import_drains_completely(sample):
    assert queued() == []
    assert search_products().total == 35
    assert get_backend().doc_count() == 35


def test_an_edit_is_searchable_after_commit(sample):
    basket = product("S-0001")
    basket.name = "Giỏ cói đan tay"
    db.session.commit()
    assert found("giỏ cói")[:1] == ["S-0001"]
    assert search_products(text="giỏ cói").hits[0].highlights["name"].startswith("<mark>Giỏ</mark>")
    assert queued() == []


def test_nothing_is_queued_or_indexed_before_commit(sample):
    basket = product("S-0001")
    basket.name = "Giỏ cói đan tay"
    db.session.flush()
    # same transaction: the row is there
    assert db.session.execute(sa.select(sa.func.count()).select_from(SearchOutbox)).scalar() >= 1
    assert "S-0001" not in found("giỏ cói")
    db.session.rollback()
    assert queued() == []
    assert "S-0001" not in found("giỏ cói")
    assert found("làn mây")[:1] == ["S-0001"]


def test_new_products_are_searchable_after_commit(search_app):
    producer = make_producer(name="HTX Nước mắm Cát Hải", district="Gia Lâm", craft_village="Kiêu Kỵ")
    make_product(producer, name="Nước mắm cốt nhĩ", name_en="First-press fish sauce", ocop_group="food")
    db.session.commit()
    assert len(found("nuoc mam")) == 1
    assert len(found("fish sauce")) == 1
    assert len(found("kieu ky")) == 1


def test_unpublished_archived_and_hidden_products_disappear(sample):
    for change in ({"status": "draft"}, {"status": "archived"}, {"hidden": True}):
        p = product("S-0030")
        for field, value in change.items():
            setattr(p, field, value)
        db.session.commit()
        assert "S-0030" not in found("quạt giấy"), change
        assert search_products().total == 34
        p = product("S-0030")
        p.status, p.hidden = "published", False
        db.session.commit()
        assert found("quạt giấy")[:1] == ["S-0030"]


def test_a_deleted_product_disappears(sample):
    db.session.delete(product("S-0030"))
    db.session.commit()
    assert "S-0030" not in found("quạt giấy")
    assert search_products().total == 34


def test_certificate_changes_reach_the_stars_filter(sample):
    rattan = product("S-0001")
    assert "S-0001" in found("làn mây", min_stars=4)
    rattan.certificate.verified = False
    db.session.commit()
    assert "S-0001" not in found("làn mây", min_stars=4)
    assert search_products(text="làn mây").facets["ocop_stars"] == {"0": 1}
    cert = db.session.get(Certificate, product("S-0026").certificate.id) if product("S-0026").certificate else None
    assert cert is None  # unrated sample product: give it a certificate
    product("S-0026").certificate = Certificate(
        stars=5, number="X", issued_on=date(2026, 1, 1), expires_on=date(2029, 1, 1), verified=True
    )
    db.session.commit()
    assert found("chè lam", min_stars=5) == ["S-0026"]


def test_stars_expire_with_time_without_reindex(sample, search_app):
    # S-0003 was certified 2026-06-20: valid until 2029-06-20
    assert "S-0003" in found("bát đĩa", min_stars=4)
    search_app.config["MARKETPLACE_TODAY"] = "2029-06-21"
    assert "S-0003" not in found("bát đĩa", min_stars=4)
    assert search_products(text="bát đĩa").facets["ocop_stars"] == {"0": 1}


def test_images_queue_their_product(sample):
    db.session.add(ProductImage(product_id=product_id("S-0001"), filename="a.jpg", thumb_filename="a-t.jpg"))
    db.session.flush()
    rows = db.session.execute(sa.select(SearchOutbox.entity, SearchOutbox.entity_id)).all()
    assert ("product", product_id("S-0001")) in [tuple(r) for r in rows]
    db.session.commit()
    assert queued() == []


def test_a_producer_rename_reindexes_its_products(sample):
    producer = product("S-0003").producer
    producer.name = "Công ty Gốm Hoa Lam"
    producer.district = "Đông Anh"
    db.session.commit()
    assert found("hoa lam")[:1] == ["S-0003"]
    assert "S-0003" in found("", district="dong anh")
    assert "S-0003" not in found("minh long")


def test_unrelated_producer_edits_queue_nothing(sample):
    producer = product("S-0003").producer
    producer.phone = "0241234567"
    db.session.flush()
    assert db.session.execute(sa.select(sa.func.count()).select_from(SearchOutbox)).scalar() == 0
    db.session.commit()


def test_a_deleted_producer_takes_its_products_out(sample):
    producer = db.session.scalar(sa.select(Producer).where(Producer.name == "HTX Quạt Chàng Sơn"))
    producer_id = producer.id
    db.session.execute(sa.delete(Product).where(Product.producer_id == producer_id))
    db.session.delete(producer)
    db.session.commit()
    assert "S-0030" not in found("quạt giấy")
    assert "S-0030" not in found("")


def test_a_busy_index_keeps_the_rows_for_a_later_drain(sample, search_app):
    search_app.config["SEARCH_CLI_LOCK_TIMEOUT"] = 0.2
    with index_locked(search_app):
        basket = product("S-0001")
        basket.name = "Giỏ cói đan tay"
        db.session.commit()  # the drain finds the lock busy: nothing lost, nothing raised
        assert queued() == [("product", product_id("S-0001"), "upsert")]
        assert "S-0001" not in found("giỏ cói")
        assert drain(timeout=0.1).busy
    report = drain()
    assert report.applied == 1 and not report.busy
    assert queued() == []
    assert found("giỏ cói")[:1] == ["S-0001"]


def test_catch_up_drain_on_a_request(sample, search_app):
    search_app.config["SEARCH_CLI_LOCK_TIMEOUT"] = 0.2
    with index_locked(search_app):
        product("S-0001").name = "Giỏ cói đan tay"
        db.session.commit()
    assert queued()
    search_app.config["SEARCH_DRAIN_INTERVAL"] = 0.001
    client = search_app.test_client()
    import time

    time.sleep(0.01)
    client.get("/")
    assert queued() == []
    assert found("giỏ cói")[:1] == ["S-0001"]


def test_a_bulk_commit_drains_in_one_go(search_app):
    producer = make_producer(name="HTX Thử tải", district="Ba Vì")
    for n in range(300):
        db.session.add(
            Product(
                ref=f"BULK-{n}",
                producer=producer,
                name=f"Sản phẩm số {n} chè xanh",
                ocop_group="beverage",
                status="published",
            )
        )
    db.session.commit()
    assert queued() == []
    assert search_products(text="chè xanh").total == 300


def test_auto_drain_can_be_switched_off(search_app):
    search_app.config["SEARCH_AUTO_DRAIN"] = False
    assert search_products().total == 0  # the (empty) index exists
    make_product(name="Mắm tôm Hà Nội")
    db.session.commit()
    assert queued()
    assert found("mắm tôm") == []
    drain()
    assert len(found("mắm tôm")) == 1


def test_under_testing_the_drain_waits_for_the_next_search(app):
    # the default `app` fixture: SEARCH_DRAIN_ON defaults to "read" when TESTING
    make_product(name="Mắm tôm Hà Nội")
    db.session.commit()
    assert queued()
    assert len(found("mắm tôm")) == 1
    assert queued() == []
