"""The API takes no session cookie (CONTRACT.md): requests under /api/ get a throwaway session.

The app's session interface is wrapped when the API blueprint is registered. For an API request
no session cookie is read, nothing is ever saved (so no Set-Cookie, not even the refresh of a
permanent session), and nobody is logged in: neither from the session nor from a remember cookie.
Every other request goes to the wrapped interface unchanged.
"""

from __future__ import annotations

from flask import Flask, Request, Response, g
from flask.sessions import SecureCookieSession, SessionInterface, SessionMixin

API_PREFIX = "/api/"


class ApiSession(SecureCookieSession):
    """An empty session that lives for one request and is never saved."""


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/")


class ApiAwareSessionInterface(SessionInterface):
    def __init__(self, inner: SessionInterface):
        self.inner = inner

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        if is_api_path(request.path):
            manager = getattr(app, "login_manager", None)
            if manager is not None:
                g._login_user = manager.anonymous_user()  # Flask-Login's per-request user
                g._api_anonymous = True
            return ApiSession()
        return self.inner.open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if isinstance(session, ApiSession):
            if g.pop("_api_anonymous", False):
                g.pop("_login_user", None)  # tests reuse one app context across requests
            return
        self.inner.save_session(app, session, response)

    def make_null_session(self, app: Flask):
        return self.inner.make_null_session(app)

    def is_null_session(self, obj: object) -> bool:
        return self.inner.is_null_session(obj)


def install(app: Flask) -> None:
    if not isinstance(app.session_interface, ApiAwareSessionInterface):
        app.session_interface = ApiAwareSessionInterface(app.session_interface)
