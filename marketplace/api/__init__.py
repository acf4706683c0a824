"""JSON API /api/v1 (CONTRACT.md): no session cookie, no CSRF, JSON errors, rate-limited."""

from flask import Blueprint, current_app

from marketplace.api.sessions import install as install_sessions
from marketplace.extensions import limiter

DEFAULT_RATE_LIMIT = "120 per minute"

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def rate_limit() -> str:
    """Per client address, shared by every API route; set API_RATE_LIMIT (e.g. "600 per minute") to change it."""
    return current_app.config.get("API_RATE_LIMIT") or DEFAULT_RATE_LIMIT


limiter.shared_limit(rate_limit, scope="api")(bp)  # one budget for the whole API
bp.record_once(lambda state: install_sessions(state.app))

from marketplace.api import match, trace, views  # noqa: E402,F401  (match: POST /match, the matching module)
