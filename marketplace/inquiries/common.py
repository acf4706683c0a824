"""Small helpers shared by the inquiry modules: settings, site paths, who is a party."""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app, has_request_context, request, url_for

from marketplace.accounts.models import User
from marketplace.producers.models import Producer

DEFAULTS: dict[str, object] = {
    "RFQ_MAX_QUOTES": 10,
    "INQUIRY_DAILY_LIMIT": 20,
    "RFQ_DAILY_LIMIT": 5,
    "ATTACHMENT_MAX_BYTES": 5 * 1024 * 1024,
    "MAX_ATTACHMENTS_PER_MESSAGE": 3,
    "RFQ_MAX_DAYS": 180,
    "QUOTE_MAX_VALID_DAYS": 365,
    "NOTIFICATION_DIGEST_HOUR": 7,
    "LEAD_NOTIFY_LIMIT": 50,
    "RESPONSIVENESS_DAYS": 180,
    "RESPONSE_GRACE_HOURS": 48,
}


def setting(key: str):
    """A feature setting from app.config, else its default above."""
    value = current_app.config.get(key)
    return DEFAULTS.get(key) if value is None else value


def site_path(endpoint: str, **values) -> str:
    """A path inside the site; works in CLI commands too (no request context)."""
    if has_request_context():
        return url_for(endpoint, **values)
    return current_app.url_map.bind("localhost").build(endpoint, values)


def absolute_url(path: str) -> str:
    """PUBLIC_BASE_URL + path; without it, the request's host (or the dev server in CLI runs)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        base = request.host_url if has_request_context() else "http://127.0.0.1:5000"
    return str(base).rstrip("/") + path


def is_authenticated(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and getattr(user, "id", None))


def is_producer_party(user, producer: Producer | None) -> bool:
    """A producer-role user who manages `producer`."""
    return (
        is_authenticated(user) and producer is not None and user.has_role("producer") and producer.is_managed_by(user)
    )


def producer_users(producer: Producer) -> list[User]:
    """The people who answer for a producer: its managers holding the producer role, not suspended."""
    return [m for m in producer.managers if m.has_role("producer") and not m.suspended]


def unique_users(users: Iterable[User | None]) -> list[User]:
    seen: dict[int, User] = {}
    for user in users:
        if user is not None and user.id not in seen:
            seen[user.id] = user
    return list(seen.values())
