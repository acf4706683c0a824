"""Two accepts at the same moment: exactly one wins, and the database is what decides.

Each thread has its own app context, so its own session and connection. Both read the RFQ as
open, meet at a barrier, then accept different quotes; each holds its transaction open a moment
after its UPDATE so that the other's UPDATE really runs concurrently (on PostgreSQL it waits for
the row lock and then finds the RFQ awarded; on SQLite it waits for the write lock)."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.core.errors import ServiceError
from marketplace.extensions import db
from marketplace.inquiries import rfqs
from marketplace.inquiries.models import Quote, Rfq
from tests.inquiries.conftest import quote_data, rfq_data


def _setup(world) -> tuple[int, int, int]:
    rfq = rfqs.create_rfq(world.buyer, rfq_data())
    quote_a = rfqs.submit_quote(world.seller_a, rfq, world.producer_a, quote_data())
    quote_b = rfqs.submit_quote(world.seller_b, rfq, world.producer_b, quote_data(unit_price_vnd=99_000))
    db.session.commit()
    return rfq.id, quote_a.id, quote_b.id


def _race(app, buyer_id: int, quote_ids: tuple[int, ...], hold: float = 0.3) -> list[object]:
    barrier = threading.Barrier(len(quote_ids))
    results: list[object] = [None] * len(quote_ids)

    def accept(index: int, quote_id: int) -> None:
        with app.app_context():
            try:
                buyer = db.session.get(User, buyer_id)
                quote = db.session.get(Quote, quote_id)
                assert quote.rfq.status == "open"  # both saw it open
                barrier.wait(timeout=10)
                rfqs.accept_quote(buyer, quote)
                time.sleep(hold)
                db.session.commit()
                results[index] = "won"
            except ServiceError as error:
                db.session.rollback()
                results[index] = error
            except Exception as error:  # noqa: BLE001 (reported to the test below)
                db.session.rollback()
                results[index] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=accept, args=(i, q)) for i, q in enumerate(quote_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_accepts_at_once_exactly_one_wins(app, world):
    rfq_id, quote_a, quote_b = _setup(world)
    results = _race(app, world.buyer.id, (quote_a, quote_b))
    assert results.count("won") == 1, results
    [loser] = [r for r in results if r != "won"]
    if db.engine.dialect.name == "postgresql":
        assert isinstance(loser, ServiceError) and loser.code == "conflict", loser
    else:  # SQLite: the same refusal, or the write lock giving up; never a second winner
        assert isinstance(loser, ServiceError | sa.exc.OperationalError), loser
    db.session.expire_all()
    statuses = dict(db.session.execute(sa.select(Quote.id, Quote.status).where(Quote.rfq_id == rfq_id)).all())
    assert sorted(statuses.values()) == ["accepted", "declined"]
    assert db.session.get(Rfq, rfq_id).status == "awarded"


def test_the_same_accept_twice_at_once(app, world):
    """A double click: both requests accept the same quote; one succeeds, one is refused."""
    rfq_id, quote_a, _quote_b = _setup(world)
    results = _race(app, world.buyer.id, (quote_a, quote_a))
    assert results.count("won") == 1, results
    db.session.expire_all()
    assert db.session.get(Quote, quote_a).status == "accepted"


def test_database_allows_one_accepted_quote_per_rfq(app, world):
    rfq_id, quote_a, quote_b = _setup(world)
    db.session.execute(sa.update(Quote).where(Quote.id == quote_a).values(status="accepted"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.update(Quote).where(Quote.id == quote_b).values(status="accepted"))
    db.session.rollback()
