"""Fixtures for the fault tests (issue 11 part 6; docs/faults.md)."""

from __future__ import annotations

import os

import pytest
from flask import g

from tests.helpers import login

ON_POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))
sqlite_only = pytest.mark.skipif(
    ON_POSTGRES, reason="SQLite-only fault (write lock, file database); run without TEST_DATABASE_URL"
)


@pytest.fixture
def as_user(client):
    """Log a user in on `client` (the app fixture keeps one app context: drop Flask-Login's cache)."""

    def switch(user) -> None:
        login(client, user)
        g.pop("_login_user", None)

    return switch
