"""Full-text search (issue: Vietnamese search). Stub until the search package lands."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Hook the index outbox into the app (stub)."""
