"""flask search reindex / drain / status: a new index is built beside the old and swapped in."""

from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa

from marketplace.catalog.models import Product
from marketplace.extensions import db
from marketplace.search import SearchQuery, get_backend, reindex, search_products
from tests.search.conftest import product_id, refs_of


def test_reindex_command_rebuilds_and_keeps_results(sample):
    before = refs_of(search_products(SearchQuery(text="gốm", per_page=50)))
    result = sample.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexed 35 products" in result.output
    assert refs_of(search_products(SearchQuery(text="gốm", per_page=50))) == before
    assert get_backend().doc_count() == 35


def test_reindex_picks_up_changes_made_behind_the_outbox(sample):
    # a bulk UPDATE bypasses the ORM events; a reindex brings the index back to the truth
    db.session.execute(sa.update(Product).where(Product.ref == "S-0030").values(status="archived"))
    db.session.commit()
    assert "S-0030" in refs_of(search_products(text="quạt giấy"))
    assert reindex() == 34
    assert "S-0030" not in refs_of(search_products(text="quạt giấy"))


def test_queue_by_hand_after_bulk_sql(sample):
    from marketplace.search import queue

    db.session.execute(sa.update(Product).where(Product.ref == "S-0030").values(hidden=True))
    queue(db.session, product_ids=[product_id("S-0030")])
    db.session.commit()
    assert "S-0030" not in refs_of(search_products(text="quạt giấy"))


def test_drain_and_status_commands(sample):
    runner = sample.test_cli_runner()
    result = runner.invoke(args=["search", "drain"])
    assert result.exit_code == 0 and "Applied 0" in result.output
    result = runner.invoke(args=["search", "status"])
    assert result.exit_code == 0
    assert "documents: 35" in result.output and "queued changes: 0" in result.output


def test_changes_committed_during_a_rebuild_are_not_lost(sample, search_app):
    search_app.config["SEARCH_CLI_LOCK_TIMEOUT"] = 0.1
    edited = {"done": False}

    def progress(done: int, total: int) -> None:
        # another writer commits while the rebuild runs: its drain finds the index busy
        if not edited["done"] and done > 0:
            edited["done"] = True
            with search_app.app_context():
                from sqlalchemy.orm import Session

                with Session(db.engine) as other:
                    other.get(Product, product_id("S-0001")).name = "Giỏ cói đan tay"
                    other.commit()

    get_backend().rebuild(progress=progress)
    assert edited["done"]
    assert refs_of(search_products(text="giỏ cói"))[:1] == ["S-0001"]


# --- Whoosh folders --------------------------------------------------------------------------


@pytest.fixture
def whoosh_sample(sample, backend_name):
    if backend_name != "whoosh":
        pytest.skip("Whoosh index folders")
    return sample


def test_reindex_swaps_the_current_pointer(whoosh_sample):
    backend = get_backend()
    root = backend.root
    old = (root / "CURRENT").read_text().strip()
    reindex()
    new = (root / "CURRENT").read_text().strip()
    assert new != old and new.startswith("products-")
    assert (root / new).is_dir()
    assert search_products(text="làn mây").total == 1
    reindex()
    folders = sorted(p.name for p in root.iterdir() if p.name.startswith("products-"))
    assert old not in folders  # only the current and the previous folders are kept
    assert len(folders) == 2


def test_a_crash_mid_rebuild_leaves_the_old_index_serving(whoosh_sample, monkeypatch):
    import marketplace.search.whoosh_backend as wb

    backend = get_backend()
    current = backend.current_name()
    real = wb.iter_public_docs

    def exploding(session):
        for n, doc in enumerate(real(session)):
            if n == 10:
                raise RuntimeError("power cut")
            yield doc

    monkeypatch.setattr(wb, "iter_public_docs", exploding)
    with pytest.raises(RuntimeError):
        backend.rebuild()
    assert backend.current_name() == current
    assert refs_of(search_products(text="làn mây")) == ["S-0001"]
    assert sorted(p.name for p in backend.root.iterdir() if p.name.startswith("products-")) == [current]
    # and the index still takes changes
    db.session.get(Product, product_id("S-0001")).name = "Giỏ cói đan tay"
    db.session.commit()
    assert refs_of(search_products(text="giỏ cói"))[:1] == ["S-0001"]


def test_a_missing_index_is_rebuilt_from_the_database(whoosh_sample):
    backend = get_backend()
    backend.close()
    shutil.rmtree(backend.root)
    assert search_products().total == 35


def test_a_second_app_sees_the_first_apps_changes(whoosh_sample, tmp_path):
    """Two processes share the index folder: a reader notices the other's commits."""
    from config import TestConfig
    from marketplace import create_app

    other = create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": whoosh_sample.config["SQLALCHEMY_DATABASE_URI"],
            "DATA_DIR": whoosh_sample.config["DATA_DIR"],
        },
    )
    with other.app_context():
        assert search_products(text="làn mây").total == 1
    db.session.get(Product, product_id("S-0001")).name = "Giỏ cói đan tay"
    db.session.commit()
    reindex()
    with other.app_context():
        assert refs_of(search_products(text="giỏ cói"))[:1] == ["S-0001"]
        get_backend(other).close()
        db.session.remove()
        db.engine.dispose()
