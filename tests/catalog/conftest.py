"""Fixtures for the catalogue tests."""

from __future__ import annotations

import pytest
from flask import g

from tests.helpers import login


@pytest.fixture
def as_user(client):
    """Log a user in on `client` (or log out with None).

    The `app` fixture keeps one app context for the whole test, so Flask-Login's cached user in
    `g` would survive between requests: drop it whenever the user changes."""

    def switch(user) -> None:
        if user is None:
            with client.session_transaction() as sess:
                sess.clear()
        else:
            login(client, user)
        g.pop("_login_user", None)

    return switch
