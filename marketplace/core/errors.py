"""Domain errors raised by services, and the HTML/JSON error handlers."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, g, jsonify, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

RETRY_AFTER_SECONDS = 5
log = logging.getLogger(__name__)


class ServiceError(Exception):
    """Bad input or a refused action: `field` names the form field (or None), `message` says why."""

    def __init__(self, field: str | None, message: str, code: str = "invalid"):
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


class NotAllowed(ServiceError):
    def __init__(self, message: str | None = None):
        super().__init__(None, message or gettext("Bạn không có quyền thực hiện thao tác này."), code="forbidden")


def json_error(status: int, code: str, message: str, field: str | None = None):
    response = jsonify({"error": {"code": code, "message": message, "field": field}})
    response.status_code = status
    return response


def wants_json() -> bool:
    return request.path.startswith("/api/")


def is_transient_db_error(error: BaseException) -> bool:
    """Worth a retry, not a bug: SQLite's write lock held too long, or the PostgreSQL connection lost
    (server restarting, network cut) or the pool exhausted."""
    from marketplace.core.sqlite import is_lock_error

    if isinstance(error, sa.exc.TimeoutError):  # the connection pool stayed empty
        return True
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    if is_lock_error(error):
        return True
    if error.connection_invalidated:
        return True
    return _dialect_of(error) == "postgresql" and isinstance(error, sa.exc.OperationalError)


def _dialect_of(error: BaseException) -> str | None:
    module = type(getattr(error, "orig", None)).__module__ or ""
    return "postgresql" if module.startswith(("psycopg", "psycopg2")) else None


def busy_response():
    """503 with Retry-After: HTML page, or JSON under /api/. Renders without touching the database
    again (anonymous header, no BEGIN IMMEDIATE)."""
    from marketplace.core.sqlite import read_only_from_now
    from marketplace.extensions import login_manager

    read_only_from_now()
    # The locale and the page header would load the user from the database again: answer as for
    # an anonymous visitor (the session cookie is untouched).
    g._login_user = login_manager.anonymous_user()
    try:
        message = gettext("Hệ thống đang bận, vui lòng thử lại sau giây lát.")
    except Exception:  # noqa: BLE001 - never fail while saying we are busy
        message = "Hệ thống đang bận, vui lòng thử lại sau giây lát."
    if wants_json():
        response = json_error(503, "service_unavailable", message)
    else:
        try:
            response = app_response(render_template("errors/503.html", message=message), 503)
        except Exception:  # noqa: BLE001 - the page itself needed the database: plain text will do
            log.warning("503 page could not be rendered", exc_info=True)
            _discard_session()
            response = app_response(message, 503, mimetype="text/plain")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _discard_session() -> None:
    from marketplace.extensions import db

    try:
        db.session.invalidate()
    except Exception:  # noqa: BLE001, S110 - the pool replaces what it cannot close
        pass


def app_response(body, status: int, mimetype: str | None = None):
    from flask import make_response

    response = make_response(body, status)
    if mimetype:
        response.mimetype = mimetype
    return response


def register_error_handlers(app: Flask) -> None:
    from marketplace.extensions import db

    def reset_session() -> None:
        """Roll back; when the connection is gone (a restarted PostgreSQL) the rollback itself
        fails: discard the connection instead, so the request teardown does not fail again."""
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001
            app.logger.warning("rollback failed; discarding the session's connection", exc_info=True)
            try:
                db.session.invalidate()
            except Exception:  # noqa: BLE001 - nothing more to do: the pool replaces it
                app.logger.warning("invalidating the session failed", exc_info=True)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        reset_session()
        status = error.code or 500
        if wants_json():
            code = (error.name or "error").lower().replace(" ", "_")
            return json_error(status, code, error.description or error.name)
        template = f"errors/{status}.html" if status in (400, 403, 404, 405, 413, 429) else "errors/generic.html"
        return render_template(template, error=error), status

    @app.errorhandler(sa.exc.DBAPIError)
    @app.errorhandler(sa.exc.TimeoutError)
    def database_error(error: Exception):
        if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
            try:
                db.session.invalidate()  # the connection is dead: no rollback round-trip
            except Exception:  # noqa: BLE001
                reset_session()
        else:
            reset_session()
        if not is_transient_db_error(error):
            return unexpected_error(error)
        app.logger.warning("database busy or unreachable (%s %s): %s", request.method, request.path, error)
        return busy_response()

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        reset_session()
        app.logger.exception("unhandled error")
        if wants_json():
            return json_error(500, "server_error", "Internal server error")
        return render_template("errors/500.html"), 500
