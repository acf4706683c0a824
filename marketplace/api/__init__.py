"""JSON API /api/v1 (CONTRACT.md): no session cookie, no CSRF, JSON errors."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from marketplace.api import views  # noqa: E402,F401
