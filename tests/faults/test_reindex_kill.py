"""Fault e: `flask search reindex` killed with SIGKILL half-way. The old index keeps serving, and
the next reindex completes (and removes the half-built folder)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from marketplace.catalog.models import Product
from marketplace.extensions import db
from marketplace.search import SearchQuery, get_backend, search_products
from tests.faults.conftest import sqlite_only
from tests.helpers import make_producer, make_product

ROOT = Path(__file__).resolve().parents[2]
BULK = 500  # enough for the build to outlast the 50 ms before the kill


def refs(text: str) -> set[str]:
    result = search_products(SearchQuery(text=text, per_page=50))
    ids = [hit.product_id for hit in result.hits]
    return set(db.session.scalars(sa.select(Product.ref).where(Product.id.in_(ids))))


def bulk_products(producer_id: int, n: int) -> None:
    rows = [
        {
            "ref": f"BULK-{i:05d}",
            "producer_id": producer_id,
            "name": f"Bánh cốm thử nghiệm số {i}",
            "ocop_group": "food",
            "unit": "hộp",
            "description": "Bánh cốm làng Vòng, gói lá dong, dùng làm quà biếu dịp lễ Tết. " * 3,
            "status": "published",
        }
        for i in range(n)
    ]
    db.session.execute(sa.insert(Product.__table__), rows)  # bulk: no outbox rows
    db.session.commit()


@sqlite_only
def test_killed_reindex_leaves_the_old_index_serving_and_the_next_run_completes(app, runner):
    make_product(ref="GOM-OLD", name="Gốm men rạn Bát Tràng", ocop_group="handicraft")
    db.session.commit()
    backend = get_backend(app)
    backend.rebuild()
    root = backend.root
    old = backend.current_name()
    assert old and refs("gốm men rạn") == {"GOM-OLD"}
    bulk_products(make_producer().id, BULK)
    db.session.close()

    env = {
        **os.environ,
        "MARKETPLACE_ENV": "development",
        "DATABASE_URL": str(db.engine.url),
        "MARKETPLACE_DATA_DIR": str(app.config["DATA_DIR"]),
        "SECRET_KEY": "fault-test-secret-key-0123456789abcdef",
    }
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "flask", "--app", "wsgi", "search", "reindex"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        building = None
        while time.monotonic() < deadline and proc.poll() is None:
            fresh = [p for p in root.iterdir() if p.name.startswith("products-") and p.name != old]
            if fresh:
                building = fresh[0]
                break
            time.sleep(0.01)
        assert building is not None, proc.communicate(timeout=5)
        time.sleep(0.05)  # into the build
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:  # pragma: no cover
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    # the pointer never moved: the old index answers
    assert (root / "CURRENT").read_text().strip() == old
    assert backend.current_name() == old
    assert refs("gốm men rạn") == {"GOM-OLD"}

    # the next run completes, swaps, and removes the half-built folder
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert f"Indexed {BULK + 1} products" in result.output
    new = backend.current_name()
    assert new not in (old, building.name)
    assert not building.exists()
    assert refs("gốm men rạn") == {"GOM-OLD"} and "BULK-00042" in refs("bánh cốm thử nghiệm số 42")
