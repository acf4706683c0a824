"""Fault c: another process holds SQLite's write lock. A write request answers 503 with a message
within the (lowered) busy timeout instead of hanging; reads keep working (WAL)."""

from __future__ import annotations

import logging
import select
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.core import dates
from marketplace.extensions import db
from marketplace.inquiries.models import Inquiry
from tests.faults.conftest import sqlite_only
from tests.helpers import make_producer, make_product, make_user

BUSY = "Hệ thống đang bận, vui lòng thử lại sau giây lát."
HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=5)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()  # hold the lock until the test closes our stdin
conn.execute("ROLLBACK")
"""


def inquiry_form() -> dict:
    return {
        "quantity": "100",
        "unit": "hộp",
        "needed_by": (dates.today() + timedelta(days=20)).isoformat(),
        "delivery_district": "Hoàn Kiếm",
        "message": "Xin báo giá chè.",
    }


def database_file() -> str:
    return db.engine.url.database


@contextmanager
def write_lock_held(path: str):
    """A separate process takes BEGIN IMMEDIATE on the database file and keeps it."""
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", HOLDER, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        assert ready and proc.stdout.readline().strip() == "locked", "the lock holder did not start"
        yield proc
    finally:
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait()
        proc.stdout.close()


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@sqlite_only
def test_write_request_answers_503_while_another_process_holds_the_lock(app, client, as_user, caplog):
    buyer = make_user(roles=("buyer",))
    producer = make_producer(managers=[make_user(roles=("producer",))])
    product = make_product(producer, name="Chè xanh Tân Cương", ocop_group="beverage", unit="hộp")
    db.session.commit()
    ref, before = product.ref, count(Inquiry)
    as_user(buyer)
    app.config["SQLITE_BUSY_TIMEOUT_MS"] = 300
    db.session.close()
    db.engine.dispose()  # new connections take the 300 ms busy timeout
    url = f"/inquiries/new?product={ref}"

    with write_lock_held(database_file()), caplog.at_level(logging.WARNING):
        started = time.monotonic()
        refused = client.post(url, data=inquiry_form())
        elapsed = time.monotonic() - started
        assert refused.status_code == 503
        assert BUSY in refused.get_data(as_text=True)
        assert refused.headers["Retry-After"] == "5"
        # A guard against a hang, not a speed check (the machine running CI is noisy): the
        # request gives up after the busy timeout (300 ms here) instead of waiting for the lock.
        assert elapsed < 30, f"the write waited {elapsed:.1f}s"

        api = client.post("/api/v1/match", json={"text": "chè xanh"})
        assert api.status_code == 503 and api.headers["Retry-After"] == "5"
        assert api.get_json()["error"] == {"code": "service_unavailable", "message": BUSY, "field": None}

        page = client.get(f"/san-pham/{ref}")  # readers are not blocked by a writer in WAL mode
        assert page.status_code == 200 and "Chè xanh Tân Cương" in page.get_data(as_text=True)
    assert any("database busy or unreachable" in r.getMessage() for r in caplog.records)

    db.session.close()
    assert count(Inquiry) == before  # the refused request left nothing
    done = client.post(url, data=inquiry_form())  # the lock is free again: the same form goes through
    assert done.status_code == 302, done.get_data(as_text=True)[-3000:]
    assert count(Inquiry) == before + 1


@sqlite_only
def test_write_requests_take_the_write_lock_first_and_reads_do_not(app):
    other = sqlite3.connect(database_file(), isolation_level=None, timeout=0)
    try:
        with app.test_request_context("/", method="POST"):
            db.session.execute(sa.text("SELECT 1"))  # a read: BEGIN IMMEDIATE took the lock already
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            db.session.rollback()
        with app.test_request_context("/", method="GET"):
            db.session.execute(sa.text("SELECT 1"))
            other.execute("BEGIN IMMEDIATE")  # a GET's transaction is deferred: no lock taken
            other.execute("ROLLBACK")
            db.session.rollback()
    finally:
        other.close()


def test_lost_database_connection_is_503_and_other_database_errors_stay_500(app, client):
    def lost():
        raise sa.exc.OperationalError(
            "SELECT 1", {}, Exception("server closed the connection unexpectedly"), connection_invalidated=True
        )

    def broken():
        raise sa.exc.OperationalError("SELECT x", {}, sqlite3.OperationalError("no such column: x"))

    app.add_url_rule("/_fault/lost", "fault_lost", lost, methods=["POST"])
    app.add_url_rule("/api/v1/_fault/lost", "fault_lost_api", lost)
    app.add_url_rule("/_fault/broken", "fault_broken", broken)
    page = client.post("/_fault/lost")
    assert page.status_code == 503 and BUSY in page.get_data(as_text=True)
    api = client.get("/api/v1/_fault/lost")
    assert api.status_code == 503 and api.get_json()["error"]["code"] == "service_unavailable"
    assert client.get("/_fault/broken").status_code == 500


def test_unreachable_postgresql_answers_503_not_500(tmp_path):
    """Nothing listens on the port (a PostgreSQL restarting): every page says busy, and the request
    teardown does not fail again on the dead connection."""
    from config import TestConfig
    from marketplace import create_app

    down = create_app(
        TestConfig,
        {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:9/none", "DATA_DIR": tmp_path / "data"},
    )
    client = down.test_client()
    page = client.get("/san-pham/ABC")
    assert page.status_code == 503 and BUSY in page.get_data(as_text=True)
    api = client.post("/api/v1/match", json={"text": "chè"})
    assert api.status_code == 503 and api.get_json()["error"]["code"] == "service_unavailable"
