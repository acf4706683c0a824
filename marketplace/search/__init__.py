"""Vietnamese full-text search over products (issue 3): one interface, two backends.

Public functions (call these from views, the API and other features):
- search_products(SearchQuery(...)) -> SearchResult: hits (product_id, score, highlights), total,
  facets {"ocop_group", "ocop_stars", "district", "certification", "price_band"}, suggestion.
- suggest(prefix, limit=8) -> list[str]: autocomplete strings (product then producer names).
- search_producers(text, limit=20) -> list[int]: producer ids, best first.
- reindex(progress=None) -> int, drain(timeout) -> DrainReport, queue(session, product_ids=...).
get_backend() returns the backend chosen by SEARCH_BACKEND (whoosh | postgres).
"""

from __future__ import annotations

import threading
import time

from flask import Flask, current_app

from marketplace.search.base import (
    PRICE_BANDS,
    SORTS,
    DrainReport,
    Hit,
    SearchBackend,
    SearchQuery,
    SearchResult,
)
from marketplace.search.outbox import queue

EXTENSION_KEY = "ocop_search"
_create_lock = threading.Lock()

__all__ = [
    "PRICE_BANDS",
    "SORTS",
    "DrainReport",
    "Hit",
    "SearchBackend",
    "SearchQuery",
    "SearchResult",
    "drain",
    "get_backend",
    "init_app",
    "queue",
    "reindex",
    "search_producers",
    "search_products",
    "suggest",
]


def init_app(app: Flask) -> None:
    """Install the outbox session events and the periodic catch-up drain."""
    from marketplace.search import outbox

    app.config.setdefault("SEARCH_BACKEND", "whoosh")
    outbox.install()
    app.extensions[EXTENSION_KEY] = None
    state = {"last": time.monotonic()}

    @app.before_request
    def _drain_if_due() -> None:
        interval = float(app.config.get("SEARCH_DRAIN_INTERVAL", 0 if app.testing else 5.0) or 0)
        now = time.monotonic()
        if not interval or now - state["last"] < interval:
            return
        state["last"] = now
        _catch_up(app)


def _catch_up(app: Flask) -> None:
    """Apply rows another process left queued (its drain found the index busy, or it died)."""
    import logging

    from sqlalchemy.orm import Session

    from marketplace.extensions import db
    from marketplace.search import outbox

    try:
        if not outbox.available(db.engine):
            return
        with Session(db.engine) as session:
            if not outbox.has_rows(session):
                return
        get_backend(app).drain(timeout=0.05)
    except Exception:
        logging.getLogger(__name__).exception("search catch-up drain failed")


def get_backend(app: Flask | None = None) -> SearchBackend:
    """The app's backend (created on first use): Whoosh, or PostgreSQL when SEARCH_BACKEND=postgres."""
    app = app or current_app._get_current_object()
    backend = app.extensions.get(EXTENSION_KEY)
    if backend is not None:
        return backend
    with _create_lock:
        backend = app.extensions.get(EXTENSION_KEY)
        if backend is None:
            kind = (app.config.get("SEARCH_BACKEND") or "whoosh").lower()
            if kind == "postgres":
                from marketplace.search.postgres_backend import PostgresBackend

                backend = PostgresBackend(app)
                backend.ensure_schema()
            elif kind == "whoosh":
                from marketplace.search.whoosh_backend import WhooshBackend

                backend = WhooshBackend(app)
            else:
                raise RuntimeError(f"unknown SEARCH_BACKEND {kind!r} (whoosh or postgres)")
            app.extensions[EXTENSION_KEY] = backend
    return backend


def search_products(query: SearchQuery | None = None, **fields) -> SearchResult:
    """Search public products: search_products(SearchQuery(text="mây", min_stars=4)) or
    search_products(text="mây", min_stars=4). Any text is safe; bad numbers are normalised."""
    return get_backend().query(query if query is not None else SearchQuery(**fields))


def suggest(prefix: str, limit: int = 8) -> list[str]:
    """Autocomplete for the header search box: at most `limit` names starting with the prefix's
    last word (diacritics optional)."""
    return get_backend().suggest(prefix, max(0, min(int(limit), 20)))


def search_producers(text: str, limit: int = 20) -> list[int]:
    return get_backend().search_producers(text, limit)


def reindex(progress=None) -> int:
    """Rebuild the index from the database (new folder / table contents swapped in atomically)."""
    return get_backend().rebuild(progress=progress)


def drain(timeout: float = 30.0) -> DrainReport:
    """Apply the queued outbox rows now."""
    return get_backend().drain(timeout=timeout)
