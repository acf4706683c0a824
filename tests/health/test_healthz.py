"""GET /healthz: database, search index and Redis checks; 503 only when the database is down;
never cached, never a session cookie, never a secret in the answer."""

from __future__ import annotations

import socket
import time
from datetime import timedelta

import pytest

from config import TestConfig
from marketplace import create_app
from marketplace.core.models import utcnow
from marketplace.extensions import db
from marketplace.health import services
from marketplace.search import reindex
from marketplace.search.models import SearchOutbox
from tests.helpers import login, make_product, make_user

SECRET = "s3cret-Pa55word"  # noqa: S105 (a test value that must never appear in an answer)
# A guard against a hang (a check waiting on a dead server for ever), not a speed check: the
# checks' own timeouts are asserted where they are set; speed belongs to bench/.
HANG_GUARD_SECONDS = 30


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # free once closed: nothing listens there


def _redis_answers(host: str = "127.0.0.1", port: int = 6379) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


@pytest.fixture
def other_app(_schema, tmp_path):
    """An app of its own (its own config), disposed after the test."""
    made = []

    def make(**overrides):
        settings = {"SQLALCHEMY_DATABASE_URI": _schema, "DATA_DIR": tmp_path / f"data{len(made)}", **overrides}
        app = create_app(TestConfig, settings)
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_ok_with_the_index_built_and_no_redis(app, client):
    make_product(status="published")
    db.session.commit()
    reindex()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    checks = body["checks"]
    assert checks["database"]["status"] == "ok"
    assert checks["database"]["dialect"] == db.engine.dialect.name
    assert checks["search_index"]["status"] == "ok"
    assert checks["search_index"]["backend"] == app.config["SEARCH_BACKEND"]
    assert checks["search_index"]["documents"] == 1
    assert checks["search_index"]["outbox_backlog"] == 0
    assert checks["redis"] == {"status": "not_configured"}
    for name in ("database", "search_index"):
        assert isinstance(checks[name]["latency_ms"], float)


def test_a_missing_whoosh_index_is_degraded_not_down(app, client):
    if app.config["SEARCH_BACKEND"] != "whoosh":
        pytest.skip("the Whoosh index folder")
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["checks"]["search_index"]["error"] == "index_missing"
    assert body["checks"]["database"]["status"] == "ok"


def test_a_stale_outbox_is_reported(app, client):
    reindex()
    db.session.add(SearchOutbox(entity="product", entity_id=1, op="upsert", created_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    app.config["SEARCH_AUTO_DRAIN"] = False
    search = client.get("/healthz").get_json()["checks"]["search_index"]
    assert search["status"] == "error" and search["error"] == "outbox_stale"
    assert search["outbox_backlog"] == 1 and search["outbox_oldest_s"] >= 3500


def test_redis_configured_but_unreachable_is_degraded_without_waiting(other_app):
    url = f"redis://:{SECRET}@127.0.0.1:{_closed_port()}/3"
    app = other_app(REDIS_URL=url)
    started = time.perf_counter()
    response = app.test_client().get("/healthz")
    elapsed = time.perf_counter() - started
    # The client gives up after its own short timeouts and never retries.
    client = app.extensions[services.REDIS_CLIENT_KEY][1]
    options = client.connection_pool.connection_kwargs
    assert options["socket_timeout"] == options["socket_connect_timeout"] == services.REDIS_TIMEOUT <= 1
    assert client.get_retry()._retries == 0
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "error"
    assert body["checks"]["redis"]["error"] == "ConnectionError"
    assert elapsed < HANG_GUARD_SECONDS
    text = response.get_data(as_text=True)
    assert SECRET not in text and "redis://" not in text and "127.0.0.1" not in text


@pytest.mark.skipif(not _redis_answers(), reason="no Redis on 127.0.0.1:6379")
def test_redis_reachable_is_ok(other_app):
    app = other_app(REDIS_URL="redis://127.0.0.1:6379/11")  # PING only: nothing is written
    body = app.test_client().get("/healthz").get_json()
    assert body["checks"]["redis"]["status"] == "ok"
    assert isinstance(body["checks"]["redis"]["latency_ms"], float)


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
def test_database_down_is_503_without_secrets(other_app, tmp_path, kind):
    if kind == "postgresql":
        url = f"postgresql+psycopg://ocop_user:{SECRET}@127.0.0.1:{_closed_port()}/ocop?connect_timeout=2"
    else:
        url = f"sqlite:///{tmp_path / 'no-such-folder' / 'marketplace.db'}"
    app = other_app(SQLALCHEMY_DATABASE_URI=url)
    started = time.perf_counter()
    response = app.test_client().get("/healthz")
    assert time.perf_counter() - started < HANG_GUARD_SECONDS  # connect_timeout=2 in the URL
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "error"
    assert body["checks"]["database"]["status"] == "error"
    assert body["checks"]["database"]["error"] == "OperationalError"
    text = response.get_data(as_text=True)
    for secret in (SECRET, "ocop_user", "no-such-folder", str(tmp_path), "postgresql", "sqlite:"):
        assert secret not in text
    assert response.headers["Cache-Control"] == "no-store"


def test_headers_no_cookie_and_no_store(app, client):
    response = client.get("/healthz")
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in response.headers
    assert not response.headers.getlist("Set-Cookie")
    # A logged-in browser's cookie is neither refreshed nor rewritten by a health check.
    user = make_user()
    db.session.commit()
    login(client, user)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert not response.headers.getlist("Set-Cookie")
    assert response.headers["Cache-Control"] == "no-store"
    assert client.head("/healthz").status_code == 200


def test_not_rate_limited(other_app, monkeypatch):
    from marketplace.extensions import limiter

    # Flask-Limiter keeps the first app's default limits on the shared Limiter: put them back after.
    monkeypatch.setattr(limiter.limit_manager, "_default_limits", list(limiter.limit_manager._default_limits))
    app = other_app(RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2 per minute")
    client = app.test_client()
    assert client.get("/").status_code == 200
    assert [client.get("/healthz").status_code for _ in range(6)] == [200] * 6


def test_the_route_is_the_health_blueprint(app):
    adapter = app.url_map.bind("localhost")
    endpoint, _ = adapter.match("/healthz", method="GET")
    assert endpoint == "health.healthz"


def test_overall_status_rules(monkeypatch, app):
    def fake(database="ok", search="ok", redis="ok"):
        monkeypatch.setattr(services, "check_database", lambda: {"status": database})
        monkeypatch.setattr(services, "check_search_index", lambda _app: {"status": search})
        monkeypatch.setattr(services, "check_redis", lambda _app: {"status": redis})
        return services.run_checks(app)

    assert fake()[0]["status"] == "ok" and fake()[1] == 200
    body, status = fake(redis="not_configured")
    assert (body["status"], status) == ("ok", 200)
    assert fake(redis="error")[0]["status"] == "degraded" and fake(redis="error")[1] == 200
    assert fake(search="error")[0]["status"] == "degraded"
    assert fake(database="error", redis="error")[0]["status"] == "error"
    assert fake(database="error")[1] == 503
