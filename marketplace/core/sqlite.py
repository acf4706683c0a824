"""SQLite engine set-up: pragmas, a bounded busy timeout, and BEGIN IMMEDIATE for write requests.

The pysqlite driver runs SELECTs outside any transaction and issues a deferred BEGIN just before
the first INSERT/UPDATE/DELETE ("legacy" transaction control); that stays the behaviour of GET
requests, CLI commands, tests' own code and background threads, so readers never wait for the
write lock (WAL lets them read while a writer holds it).

A write request (POST, PUT, PATCH, DELETE) starts its first transaction (the view's work, which
commits once) with BEGIN IMMEDIATE instead: it takes the write lock before its first read,
waiting up to the busy timeout, so the request's reads and writes see one snapshot and two
requests that check then act (accept a quote, claim a seat) run one after the other. It also rules
out SQLite's immediate SQLITE_BUSY (no busy wait) for a transaction that read before it wrote
while another connection committed in between. Later transactions of the same request (mail
delivery after the commit) are deferred again, so an SMTP round-trip never holds the lock, and
uploads (multipart/form-data) keep the deferred behaviour: they re-encode images for seconds
between their first query and their first write, and only insert new rows. The cost is measured
in docs/faults.md (bench/faults.py fault f); SQLITE_BEGIN_IMMEDIATE=False turns it off.

Only the request's own session (Flask-SQLAlchemy's db.session) begins IMMEDIATE, in its
"after_begin" event. Other sessions a request opens (the search outbox drain, the matching index)
keep the deferred behaviour: taking the write lock from a second connection of the same thread
would wait for itself until the busy timeout.

When the lock cannot be had within SQLITE_BUSY_TIMEOUT_MS, the OperationalError becomes a 503
with Retry-After (marketplace/core/errors.py).
"""

from __future__ import annotations

import threading

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, request

DEFAULT_BUSY_TIMEOUT_MS = 5000
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_local = threading.local()


def busy_timeout_ms(app: Flask | None) -> int:
    value = app.config.get("SQLITE_BUSY_TIMEOUT_MS") if app is not None else None
    try:
        return max(0, int(value)) if value is not None else DEFAULT_BUSY_TIMEOUT_MS
    except (TypeError, ValueError):
        return DEFAULT_BUSY_TIMEOUT_MS


def apply_pragmas(dbapi_connection, busy_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> None:
    """Pragmas for every new connection."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def wants_immediate() -> bool:
    """A write request (not GET/HEAD/OPTIONS) that has not already failed on the lock."""
    if not has_request_context() or request.method in READ_METHODS:
        return False
    if request.mimetype == "multipart/form-data":  # uploads re-encode images before they write:
        return False  # holding the lock meanwhile would stall every other writer
    if not current_app.config.get("SQLITE_BEGIN_IMMEDIATE", True):
        return False
    return not g.get("sqlite_deferred_only", False)


def read_only_from_now() -> None:
    """After a lock failure the error page must not queue for the write lock again."""
    if has_request_context():
        g.sqlite_deferred_only = True


def _holder_busy() -> bool:
    holder = getattr(_local, "holder", None)
    if holder is None:
        return False
    try:
        return bool(holder.in_transaction)
    except Exception:  # noqa: BLE001 - a closed connection holds nothing
        return False


def thread_holds_write_lock() -> bool:
    """Has this thread an open BEGIN IMMEDIATE transaction? (Then another connection of the same
    thread must not write: it would wait for this thread's own lock.)"""
    return _holder_busy()


def _after_begin(session, _transaction, connection: sa.engine.Connection) -> None:
    """Session "after_begin" (Flask-SQLAlchemy's request session only): the session has just
    taken a connection and pysqlite has not begun anything yet. In a write request, begin
    IMMEDIATE now. Other sessions of the thread (the search outbox, the matching index) keep the
    deferred behaviour, so they never wait for this thread's own lock."""
    if connection.dialect.name != "sqlite" or not wants_immediate():
        return
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection is None or dbapi_connection.in_transaction:
        return
    connection.exec_driver_sql("BEGIN IMMEDIATE")
    _local.holder = dbapi_connection
    # Only the request's first transaction (the view's work, committed once): what runs after
    # the commit (mail delivery over SMTP, the search drain) must not hold the lock meanwhile.
    g.sqlite_deferred_only = True


_installed = False
_install_lock = threading.Lock()


def configure(app: Flask, engine: sa.engine.Engine) -> None:
    """Install the listeners for an SQLite engine (called from marketplace.register_extensions)."""
    global _installed

    def on_connect(dbapi_connection, _record) -> None:
        apply_pragmas(dbapi_connection, busy_timeout_ms(app))  # read per connection: tests lower it

    sa.event.listen(engine, "connect", on_connect)
    with _install_lock:
        if not _installed:
            from flask_sqlalchemy.session import Session as RequestSession

            sa.event.listen(RequestSession, "after_begin", _after_begin)
            _installed = True


def is_lock_error(error: BaseException) -> bool:
    """An SQLite "database is locked" / "database table is locked" error (SQLITE_BUSY/LOCKED)."""
    text = str(getattr(error, "orig", None) or error).lower()
    return "database is locked" in text or "database table is locked" in text
