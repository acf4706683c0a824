"""The search outbox: index changes are queued in the same transaction as the data change and
applied after commit by whichever process drains first.

Session events (installed once, for every SQLAlchemy session):
- after_flush: any flush that inserts, updates or deletes a Product, Certificate, ProductImage or a
  Producer's searchable fields writes search_outbox rows through the flush's own connection, so the
  rows commit or roll back with the change.
- after_commit: the committing process drains (marketplace.search.get_backend().drain) with a short
  lock timeout inside a request and a long one in a CLI command; when the index is busy the rows
  stay queued and a background retry (servers) or the next drain by any process applies them.
  Under TESTING the drain runs before this process's next search instead (SEARCH_DRAIN_ON=read),
  so the many tests that never search do not pay for index writes; SEARCH_DRAIN_ON=commit forces
  the production behaviour.
Bulk `session.execute(update(Product)…)` statements bypass the ORM events: call queue() yourself.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterable
from typing import NamedTuple

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from marketplace.core.models import TableProbe, utcnow
from marketplace.search.models import SearchOutbox

log = logging.getLogger(__name__)

PENDING = "search_outbox_pending"
PRODUCER_FIELDS = ("name", "district", "commune", "craft_village", "kind")
READ_BATCH = 20000
_table = SearchOutbox.__table__
_installed = False
_install_lock = threading.Lock()


class Row(NamedTuple):
    id: int
    entity: str
    entity_id: int
    op: str


# Does this database have the outbox table? (Not yet, before its migration ran.)
available = TableProbe("search_outbox", "index changes are not queued (run flask db upgrade)")


# --- queueing -----------------------------------------------------------------------------------


def _changes(session: Session) -> set[tuple[str, int, str]]:
    from marketplace.catalog.models import Certificate, Product, ProductImage
    from marketplace.producers.models import Producer

    found: set[tuple[str, int, str]] = set()
    for state, objects in (("new", session.new), ("dirty", session.dirty), ("deleted", session.deleted)):
        for obj in objects:
            if state == "dirty" and not session.is_modified(obj, include_collections=False):
                continue
            if isinstance(obj, Product):
                if obj.id is not None:
                    found.add(("product", obj.id, "delete" if state == "deleted" else "upsert"))
            elif isinstance(obj, Certificate | ProductImage):
                product_id = obj.product_id or (obj.product.id if obj.product is not None else None)
                if product_id is not None:
                    found.add(("product", product_id, "upsert"))
            elif isinstance(obj, Producer) and obj.id is not None:
                if state == "deleted":
                    found.add(("producer", obj.id, "delete"))
                elif state == "dirty":
                    insp = sa.inspect(obj)
                    if any(insp.attrs[f].history.has_changes() for f in PRODUCER_FIELDS):
                        found.add(("producer", obj.id, "upsert"))
    return found


def _after_flush(session: Session, _flush_context) -> None:
    if session.info.get("search_outbox_disabled"):
        return
    changes = _changes(session)
    if not changes:
        return
    connection = session.connection()
    if not available(connection):
        return
    write(connection, changes)
    session.info[PENDING] = True


def write(connection, changes: Iterable[tuple[str, int, str]]) -> None:
    now = utcnow()
    rows = [{"entity": e, "entity_id": i, "op": op, "created_at": now} for e, i, op in sorted(changes)]
    if rows:
        connection.execute(sa.insert(_table), rows)


def queue(session: Session, product_ids: Iterable[int] = (), producer_ids: Iterable[int] = ()) -> None:
    """Queue index updates by hand (after bulk SQL statements that bypass the ORM events)."""
    changes = {("product", int(i), "upsert") for i in product_ids}
    changes |= {("producer", int(i), "upsert") for i in producer_ids}
    if changes and available(session.connection()):
        write(session.connection(), changes)
        session.info[PENDING] = True


# --- reading and deleting (used by the backends' drain) -------------------------------------------


def has_rows(session: Session) -> bool:
    return session.execute(sa.select(_table.c.id).limit(1)).first() is not None


def read_rows(session: Session, limit: int | None = READ_BATCH) -> list[Row]:
    query = sa.select(_table.c.id, _table.c.entity, _table.c.entity_id, _table.c.op).order_by(_table.c.id)
    result = session.execute(query.limit(limit) if limit else query)
    return [Row(*r) for r in result]


def targets(session: Session, rows: list[Row]) -> tuple[set[int], set[int]]:
    """(product ids to re-read, producer ids whose indexed products must be re-read too)."""
    from marketplace.search.base import product_ids_of_producers

    products = {r.entity_id for r in rows if r.entity == "product"}
    producers = {r.entity_id for r in rows if r.entity == "producer"}
    if producers:
        products |= product_ids_of_producers(session, producers)
    return products, producers


def delete_rows(session: Session, ids: list[int]) -> None:
    for start in range(0, len(ids), 500):
        session.execute(sa.delete(_table).where(_table.c.id.in_(ids[start : start + 500])))


def pending_count(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(_table)) or 0


# --- draining after commit ----------------------------------------------------------------------


def _after_commit(session: Session) -> None:
    if not session.info.pop(PENDING, False) or not has_app_context():
        return
    app = current_app._get_current_object()
    if not app.config.get("SEARCH_AUTO_DRAIN", True):
        return
    if app.config.get("SEARCH_DRAIN_ON", "read" if app.testing else "commit") == "read":
        # Tests: drain before the next search instead (most tests never search).
        from marketplace.search import get_backend

        get_backend(app).pending = True
        return
    drain_now(app)


def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)


def drain_now(app: Flask) -> None:
    """Drain after a commit: never raises (the change is committed; the outbox keeps the work)."""
    from marketplace.search import get_backend

    in_request = has_request_context()
    timeout = float(
        app.config.get("SEARCH_LOCK_TIMEOUT", 0.25) if in_request else app.config.get("SEARCH_CLI_LOCK_TIMEOUT", 30.0)
    )
    busy = True
    try:
        busy = get_backend(app).drain(timeout=timeout).busy
    except Exception:
        log.exception("search outbox drain failed; the queued changes stay for the next drain")
    if busy and app.config.get("SEARCH_DRAIN_RETRY", not app.testing):
        schedule_retry(app)


_retrying: weakref.WeakSet = weakref.WeakSet()
_retry_lock = threading.Lock()


def schedule_retry(app: Flask, attempt: int = 1) -> None:
    """Try again a little later in a daemon thread (servers), until the lock is free."""
    with _retry_lock:
        if attempt == 1 and app in _retrying:
            return
        _retrying.add(app)
    timer = threading.Timer(min(0.2 * attempt, 2.0), _retry, args=(app, attempt))
    timer.daemon = True
    timer.start()


def _retry(app: Flask, attempt: int) -> None:
    from marketplace.extensions import db
    from marketplace.search import get_backend

    busy = True
    with app.app_context():
        try:
            busy = get_backend(app).drain(timeout=1.0).busy
        except Exception:
            log.exception("search outbox retry failed")
        finally:
            db.session.remove()
    if busy and attempt < 30:
        schedule_retry(app, attempt + 1)
    else:
        with _retry_lock:
            _retrying.discard(app)


def install() -> None:
    """Listen to every SQLAlchemy session (once per process)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
        _installed = True
