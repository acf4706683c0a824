"""Domain errors raised by services, and the HTML/JSON error handlers."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException


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


def register_error_handlers(app: Flask) -> None:
    from marketplace.extensions import db

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        db.session.rollback()
        status = error.code or 500
        if wants_json():
            code = (error.name or "error").lower().replace(" ", "_")
            return json_error(status, code, error.description or error.name)
        template = f"errors/{status}.html" if status in (400, 403, 404, 405, 413, 429) else "errors/generic.html"
        return render_template(template, error=error), status

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error")
        if wants_json():
            return json_error(500, "server_error", "Internal server error")
        return render_template("errors/500.html"), 500
