"""A short-lived cache of whole pages for anonymous visitors (issue 11, part 5: load).

What is cached: the HTML of a GET to one of ENDPOINTS (home, search and browse pages, product
pages, storefronts, the producer directory, the sales-point registry/map and point pages, the
forum list, the "Tìm nhà cung cấp" matching page) answered 200 to a visitor who is not logged in. HEAD requests are served from an
entry made by a GET. PAGE_CACHE_SECONDS (0: off) is how long an entry lives at most.

Never cached, never served from the cache:
- a request whose session holds anything but the language and the CSRF secret (a logged-in
  user, flash messages, anything a view keeps), one with a remember-me cookie or an
  Authorization header;
- a response that sets a cookie itself, has its own Content-Security-Policy, is not text/html
  or not 200, or during which a flash was added, a user was loaded or the language changed.

Per-visitor values are not shared: before a page is stored, this request's CSP nonce and CSRF
token (the language switch form has one on every page) are replaced by markers; a hit puts in the
nonce of the answering request (so the Content-Security-Policy header, added by core/security.py
as for any response, matches the body and every response has its own nonce) and a CSRF token of
the visitor's own session (made for them, exactly as rendering the page would have).

Key: PAGE_CACHE generation, endpoint, scheme, host, the path with its query string as sent (the
page shows `request.full_path` in `next=` links, so `?a=1&b=2` and `?b=2&a=1` are two entries),
the language (session 'lang' or the default: what select_locale gives an anonymous visitor).

Invalidation: table `page_cache_generation` holds one counter. A transaction that inserts, updates
or deletes, through the ORM session, a row of a table anonymous pages can show (every table but
PRIVATE_TABLES; for `users`, changes other than PRIVATE_USER_FIELDS), or sends a DML statement
through the session to such a table, bumps it when it commits (in the same transaction, so a
rollback undoes the bump). Every eligible request reads the counter (one statement,
together with "is the search outbox empty?"), so a write seen by one worker or server is seen by
all at once: the next request misses. A page rendered while the search outbox still holds queued
index changes is not stored (its search results may predate the last write). Writes outside the
ORM session (raw SQL text, another program) are seen only when the entry expires.

The store is per process (an LRU bounded by PAGE_CACHE_MAX_ENTRIES, default 500, and
PAGE_CACHE_MAX_BYTES, default 50 MB); a bump drops older entries at the next lookup.
Counts derived from private tables (a producer's response rate on its storefront, a forum's open
registrations, "open now" at a sales point) may lag by up to PAGE_CACHE_SECONDS. So may a
"Tìm nhà cung cấp" result rendered just after a write, before the matching module's own index
(refreshed every MATCH_INDEX_CHECK_SECONDS) had seen it: the same need asked again within
PAGE_CACHE_SECONDS gets the same answer. Matching is the costliest page (~26 ms of CPU), and
the needs people ask repeat.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, has_app_context, message_flashed, request, session
from flask.globals import request_ctx
from sqlalchemy import event
from sqlalchemy.orm import Session

from marketplace.core.models import PageCacheGeneration, TableProbe
from marketplace.core.security import NONCE_KEY, csp_nonce

log = logging.getLogger(__name__)

ENDPOINTS = frozenset(
    {
        "catalog.home",
        "catalog.browse",
        "catalog.group",
        "catalog.district",
        "catalog.product",
        "producers.directory",
        "producers.show",
        "sales_points.registry_page",
        "sales_points.show",
        "forums.index",
        "matching.find",
    }
)
# Tables no cached page reads: a write to them alone does not bump the generation.
PRIVATE_TABLES = frozenset(
    {
        "attachments",
        "audit_logs",
        "buyer_profiles",
        "certificate_reminders",
        "dashboard_targets",
        "inquiries",
        "listing_reports",
        "message_reports",
        "messages",
        "notification_settings",
        "notifications",
        "outgoing_mail",
        "page_cache_generation",
        "payment_attempts",
        "payment_order_events",
        "payment_order_terms",
        "payment_orders",
        "payment_refunds",
        "payment_stripe_events",
        "producer_bank_account_changes",
        "producer_bank_accounts",
        "producer_claims",
        "producer_invitations",
        "quotes",
        "rfq_invitations",
        "rfqs",
        "search_outbox",
        "thread_reads",
        "threads",
        "trace_scan_counters",
    }
)
# A login, logout or password change rewrites these; no page shows them.
PRIVATE_USER_FIELDS = frozenset({"password_hash", "session_token", "last_login_at", "email_verified_at"})
# Session keys an anonymous visitor may carry and still share pages: the language, the CSRF
# secret, and Flask-Login's "_fresh" (False: it marks a non-empty session without a login).
SHAREABLE_SESSION_KEYS = frozenset({"lang", "csrf_token", "_fresh"})
HEADER = "X-Page-Cache"
STATE_KEY = "_page_cache"
FLASHED_KEY = "_page_cache_flashed"
DIRTY_KEY = "page_cache_dirty"  # session.info: this transaction wrote something pages show
_KEPT_HEADERS_SKIP = frozenset({"set-cookie", "content-length", "date"})
# Markers for per-request values; random per process, with NULs no escaped page text contains.
_MARK = secrets.token_hex(8)
NONCE_MARK = f"\x00pc-nonce-{_MARK}\x00".encode()
CSRF_MARK = f"\x00pc-csrf-{_MARK}\x00".encode()

_table = PageCacheGeneration.__table__
_installed = False
_install_lock = threading.Lock()


# --- the store ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    expires: float
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    nonce: bool
    csrf: bool


class MemoryStore:
    """A thread-safe LRU of entries, bounded by count and bytes, for one process."""

    def __init__(self, max_entries: int = 500, max_bytes: int = 50 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.generation: int | None = None
        self._entries: OrderedDict[tuple, Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def seen(self, generation: int) -> None:
        """A newer generation makes every stored entry unreachable: drop them now."""
        if self.generation is None or generation > self.generation:
            with self._lock:
                self.generation = generation
                self._entries.clear()
                self._bytes = 0

    def get(self, key: tuple, now: float) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.expires <= now:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return entry

    def set(self, key: tuple, entry: Entry) -> None:
        size = len(entry.body)
        if size > self.max_bytes // 10:
            return
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = entry
            self._bytes += size
            while self._entries and (len(self._entries) > self.max_entries or self._bytes > self.max_bytes):
                self._drop(next(iter(self._entries)))

    def _drop(self, key: tuple) -> None:
        entry = self._entries.pop(key)
        self._bytes -= len(entry.body)


# --- the generation -----------------------------------------------------------------------------


# Does this database have the generation table (not before its migration ran)? Missing: cache off.
available = TableProbe(_table.name, "the page cache is off (run flask db upgrade)")


def bump(connection: sa.Connection) -> None:
    """Add one to the generation, in the caller's transaction (the row is made if missing)."""
    if not available(connection):
        return
    name = connection.dialect.name
    if name in ("sqlite", "postgresql"):
        if name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        stmt = insert(_table).values(id=1, value=1)
        connection.execute(stmt.on_conflict_do_update(index_elements=[_table.c.id], set_={"value": _table.c.value + 1}))
        return
    done = connection.execute(sa.update(_table).where(_table.c.id == 1).values(value=_table.c.value + 1))
    if not done.rowcount:
        connection.execute(sa.insert(_table).values(id=1, value=1))


# The per-request read, as plain SQL (it runs on every cacheable request, hits included).
STATE_SQL = "SELECT (SELECT value FROM page_cache_generation WHERE id = 1), (SELECT id FROM search_outbox LIMIT 1)"
STATE_SQL_NO_OUTBOX = "SELECT (SELECT value FROM page_cache_generation WHERE id = 1), NULL"


def read_state(engine: sa.Engine) -> tuple[int, bool]:
    """(generation, search outbox empty?) in one statement, on a pooled DB-API connection of its
    own (a tenth of the cost of going through the ORM session; every cacheable request pays it)."""
    from marketplace.search import outbox

    sql = STATE_SQL if outbox.available(engine) else STATE_SQL_NO_OUTBOX
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            cursor.execute(sql)
            value, pending = cursor.fetchone()
        finally:
            cursor.close()
    finally:
        raw.close()  # back to the pool (which rolls back whatever the driver began)
    return int(value or 0), pending is None


def _bumps_enabled() -> bool:
    if not has_app_context():
        return True
    return seconds(current_app) > 0


def _visible(obj, state: str, session: Session) -> bool:
    insp = sa.inspect(obj)
    tables = {t.name for t in insp.mapper.tables}
    if tables <= PRIVATE_TABLES:
        return False
    if state == "dirty":
        if not session.is_modified(obj):
            return False
        if tables == {"users"}:
            changed = {attr.key for attr in insp.attrs if attr.history.has_changes()}
            return bool(changed - PRIVATE_USER_FIELDS)
    return True


def _after_flush(session: Session, _flush_context) -> None:
    if session.info.get(DIRTY_KEY) or not _bumps_enabled():
        return
    for state, objects in (("new", session.new), ("deleted", session.deleted), ("dirty", session.dirty)):
        if any(_visible(obj, state, session) for obj in objects):
            session.info[DIRTY_KEY] = True
            return


def _do_orm_execute(state) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in PRIVATE_TABLES or not _bumps_enabled():
        return
    state.session.info[DIRTY_KEY] = True


def _before_commit(session: Session) -> None:
    """Bump as late as possible (after the last flush), so that on PostgreSQL the counter's row
    lock, which serialises committing writers, is held only while the transaction commits."""
    if not _bumps_enabled():
        return
    if session.new or session.deleted or session.dirty:
        session.flush()
    if session.info.pop(DIRTY_KEY, False):
        bump(session.connection())


def _after_transaction_end(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction (not a savepoint) ended
        session.info.pop(DIRTY_KEY, None)


def install() -> None:
    """Listen to every SQLAlchemy session (once per process)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _do_orm_execute)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_transaction_end", _after_transaction_end)
        _installed = True


# --- the request hooks --------------------------------------------------------------------------


def seconds(app: Flask) -> float:
    return float(app.config.get("PAGE_CACHE_SECONDS") or 0)


def store(app: Flask) -> MemoryStore:
    cache = app.extensions.get("page_cache")
    if cache is None:
        made = MemoryStore(
            int(app.config.get("PAGE_CACHE_MAX_ENTRIES", 500)),
            int(app.config.get("PAGE_CACHE_MAX_BYTES", 50 * 1024 * 1024)),
        )
        cache = app.extensions.setdefault("page_cache", made)
    return cache


def _language(app: Flask) -> str:
    chosen = session.get("lang")
    return chosen if chosen in app.config["LANGUAGES"] else app.config["BABEL_DEFAULT_LOCALE"]


def _shareable_visitor(app: Flask) -> bool:
    if any(key not in SHAREABLE_SESSION_KEYS for key in session):
        return False
    if app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies:
        return False
    return "Authorization" not in request.headers


def _csrf_field(app: Flask) -> str:
    return app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


def before_request() -> Response | None:
    app = current_app._get_current_object()
    g.pop(STATE_KEY, None)
    g.pop(FLASHED_KEY, None)
    if request.method not in ("GET", "HEAD") or request.endpoint not in ENDPOINTS:
        return None
    ttl = seconds(app)
    if ttl <= 0 or not _shareable_visitor(app):
        return None
    from marketplace.extensions import db

    if not available(db.engine):
        return None
    generation, index_current = read_state(db.engine)
    cache = store(app)
    cache.seen(generation)
    key = (generation, request.endpoint, request.scheme, request.host, request.full_path, _language(app))
    entry = cache.get(key, time.monotonic())
    if entry is not None:
        setattr(g, STATE_KEY, {"hit": True})
        return _answer(app, entry)
    setattr(g, STATE_KEY, {"hit": False, "key": key, "store": request.method == "GET" and index_current})
    return None


def _answer(app: Flask, entry: Entry) -> Response:
    body = entry.body
    if entry.nonce:
        body = body.replace(NONCE_MARK, csp_nonce().encode())
    if entry.csrf:
        from flask_wtf.csrf import generate_csrf

        body = body.replace(CSRF_MARK, generate_csrf().encode())
    response = app.response_class(body, status=entry.status, headers=list(entry.headers))
    response.headers[HEADER] = "hit"
    return response


def after_request(response: Response) -> Response:
    state = g.get(STATE_KEY)
    if not state or state["hit"]:
        return response
    app = current_app._get_current_object()
    if state["store"] and _storable(app, response, state["key"]):
        _keep(app, response, state["key"])
        response.headers[HEADER] = "miss"
    return response


def _flashed(_app, **_kwargs) -> None:
    setattr(g, FLASHED_KEY, True)


def _storable(app: Flask, response: Response, key: tuple) -> bool:
    from flask_babel import get_locale

    if response.status_code != 200 or response.mimetype != "text/html":
        return False
    if response.direct_passthrough or response.is_streamed:
        return False
    if "Set-Cookie" in response.headers or "Content-Security-Policy" in response.headers:
        return False
    if g.get(FLASHED_KEY) or getattr(request_ctx, "flashes", None):
        return False  # a message was flashed or shown during this request
    user = g.get("_login_user")
    if user is not None and getattr(user, "is_authenticated", False):
        return False
    if not _shareable_visitor(app) or _language(app) != key[-1] or str(get_locale()) != key[-1]:
        return False
    return True


def _keep(app: Flask, response: Response, key: tuple) -> None:
    body = response.get_data()
    nonce = request.environ.get(NONCE_KEY)
    has_nonce = bool(nonce) and nonce.encode() in body
    if has_nonce:
        body = body.replace(nonce.encode(), NONCE_MARK)
    token = g.get(_csrf_field(app))
    has_csrf = bool(token) and token.encode() in body
    if has_csrf:
        body = body.replace(token.encode(), CSRF_MARK)
    headers = tuple((k, v) for k, v in response.headers.items() if k.lower() not in _KEPT_HEADERS_SKIP)
    entry = Entry(time.monotonic() + seconds(app), response.status_code, headers, body, has_nonce, has_csrf)
    store(app).set(key, entry)


def init_app(app: Flask) -> None:
    """Install the session events (invalidation) and the request hooks. Call it last in
    create_app: the lookup then runs after the other before_request hooks (session timeouts,
    rate limits) and the store before the other after_request hooks (security headers)."""
    app.config.setdefault("PAGE_CACHE_SECONDS", 0)
    install()
    app.before_request(before_request)
    message_flashed.connect(_flashed, app)
    app.after_request(after_request)
