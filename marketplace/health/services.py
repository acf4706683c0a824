"""Readiness checks behind `GET /healthz`: the database, the search index, Redis.

Each check returns a dict: "status" ("ok", "error" or, for Redis without REDIS_URL,
"not_configured"), "latency_ms", and a few harmless facts (the database dialect, the search backend
and its document count, the search outbox backlog). A failure is reported by the exception's class
name only and logged in full: the answer is public, so no connection string, host, user or password
ever appears in it.

The overall status (`run_checks`):
- "ok": every configured service answers;
- "degraded": the database answers but the search index or Redis does not (search results may be
  stale; rate limits fall back to per-process memory, RATELIMIT_IN_MEMORY_FALLBACK_ENABLED), the
  instance can still serve pages;
- "error": the database does not answer: take the instance out of rotation (HTTP 503).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from marketplace.extensions import db

log = logging.getLogger(__name__)

OK = "ok"
ERROR = "error"
NOT_CONFIGURED = "not_configured"
DEGRADED = "degraded"

REDIS_TIMEOUT = 0.5  # seconds: connect and read; a health check must answer quickly
OUTBOX_STALE_SECONDS = 300  # queued index changes older than this: drains are failing
REDIS_CLIENT_KEY = "ocop_health_redis"


def _timed(name: str, check: Callable[[], dict]) -> dict:
    """Run one check: its facts plus status and latency; any exception becomes status "error"
    with the exception's class name (never its message, which may hold a connection string)."""
    started = time.perf_counter()
    try:
        result = {"status": OK, **check()}
    except Exception as error:  # noqa: BLE001 - a health check reports every failure
        log.warning("health check %s failed: %s", name, error, exc_info=log.isEnabledFor(logging.DEBUG))
        result = {"status": ERROR, "error": type(error).__name__}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def check_database() -> dict:
    """SELECT 1 on a connection from the app's pool."""

    def run() -> dict:
        engine = db.engine
        with engine.connect() as conn:
            if conn.execute(sa.text("SELECT 1")).scalar() != 1:
                raise RuntimeError("SELECT 1 did not return 1")
        return {"dialect": engine.dialect.name}

    return _timed("database", run)


def _outbox_backlog(app: Flask) -> dict:
    """Queued index changes not yet applied, and the age of the oldest (both cheap: the table is
    emptied by every drain)."""
    from marketplace.search import outbox
    from marketplace.search.models import SearchOutbox

    if not outbox.available(db.engine):
        return {"outbox_backlog": None}
    with Session(db.engine) as session:
        count, oldest = session.execute(
            sa.select(sa.func.count(), sa.func.min(SearchOutbox.created_at)).select_from(SearchOutbox)
        ).one()
    facts: dict = {"outbox_backlog": int(count or 0)}
    if oldest is not None:
        if oldest.tzinfo is None:  # SQLite returns naive datetimes (stored as UTC)
            oldest = oldest.replace(tzinfo=UTC)
        age = max(0.0, (datetime.now(UTC) - oldest).total_seconds())
        facts["outbox_oldest_s"] = round(age, 1)
        limit = float(app.config.get("HEALTH_OUTBOX_STALE_SECONDS", OUTBOX_STALE_SECONDS))
        if age > limit:
            facts["status"] = ERROR
            facts["error"] = "outbox_stale"
    return facts


def check_search_index(app: Flask) -> dict:
    """The configured backend answers a trivial query (its document count). A Whoosh index that was
    never built counts as an error here (the first search would build it, slowly): run
    `flask search reindex` after deploying to a new data dir."""

    def run() -> dict:
        from marketplace.search import get_backend

        backend = get_backend(app)
        facts: dict = {"backend": backend.name}
        current_name = getattr(backend, "current_name", None)  # Whoosh: the live index folder
        if current_name is not None and current_name() is None:
            facts.update(status=ERROR, error="index_missing")
            return facts
        facts["documents"] = int(backend.doc_count())
        facts.update(_outbox_backlog(app))
        return facts

    return _timed("search_index", run)


def _redis_client(app: Flask, url: str):
    """One client per app (its pool keeps a connection between checks), with short timeouts and
    no retries: an unreachable Redis must make the check fail fast, not wait."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    cached = app.extensions.get(REDIS_CLIENT_KEY)
    if cached is not None and cached[0] == url:
        return cached[1]
    client = redis.Redis.from_url(
        url,
        socket_timeout=REDIS_TIMEOUT,
        socket_connect_timeout=REDIS_TIMEOUT,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
        max_connections=4,
    )
    app.extensions[REDIS_CLIENT_KEY] = (url, client)
    return client


def check_redis(app: Flask) -> dict:
    """PING, when REDIS_URL is set (rate limits shared by every worker and instance)."""
    url = app.config.get("REDIS_URL")
    if not url:
        return {"status": NOT_CONFIGURED}

    def run() -> dict:
        if not _redis_client(app, url).ping():
            raise RuntimeError("PING did not answer PONG")
        return {}

    return _timed("redis", run)


def run_checks(app: Flask) -> tuple[dict, int]:
    """The /healthz body and its HTTP status: 200 while the database answers, else 503."""
    checks = {
        "database": check_database(),
        "search_index": check_search_index(app),
        "redis": check_redis(app),
    }
    if checks["database"]["status"] != OK:
        status = ERROR
    elif any(check["status"] == ERROR for check in checks.values()):
        status = DEGRADED
    else:
        status = OK
    return {"status": status, "checks": checks}, (503 if status == ERROR else 200)
