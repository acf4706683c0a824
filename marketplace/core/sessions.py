"""Login sessions: a fresh session at every login, idle and absolute timeouts, logout ends the cookie.

The session is Flask's signed cookie (no server-side store). What that means for each rule:

- **New session at login.** The account views clear the whole session before `login_user()`
  (accounts/views.py `_start_session`): nothing from before the login survives but the language.
  On login this module adds a random `_sid` (a new value at every login) and the timestamps below,
  so the cookie after a login never equals any cookie from before it.
- **Idle and absolute timeouts.** The cookie carries `_login_at` and `_seen_at` (Unix seconds; the
  cookie is signed, so a client cannot move them). On every request a logged-in session older than
  SESSION_ABSOLUTE_HOURS, or unused for more than SESSION_IDLE_MINUTES, is cleared; the user is sent
  to the login page (with `next=` back to the page for a GET) and told why. `_seen_at` is refreshed
  at most once a minute, so an idle user's cookie is not rewritten on every request. A value of 0
  turns a timeout off. A "remember me" cookie is the user's explicit choice to stay logged in
  (REMEMBER_COOKIE_DURATION, 30 days): when it is present and still valid, Flask-Login starts a new
  session from it with new timestamps (marked not fresh) instead of the redirect.
- **Logout ends the old cookie.** Flask-Login stores `user_id:session_token` (an "alternative id",
  see marketplace.load_user). Logging out gives the account a new `session_token`, so a copy of the
  old session or remember-me cookie (replayed from a stolen laptop, a proxy log, a backup) is
  refused. A cookie cannot be revoked alone, so logging out ends the account's sessions on every
  device. A password change or reset rotates the token too (accounts/services.py).
"""

from __future__ import annotations

import secrets
import time

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import user_loaded_from_cookie, user_logged_in, user_logged_out

LOGIN_AT = "_login_at"
SEEN_AT = "_seen_at"
SESSION_ID = "_sid"
KEPT_KEYS = ("lang",)  # preferences that survive the end of a session
SEEN_RESOLUTION = 60  # seconds: how often the last-activity stamp is rewritten


def now() -> int:
    return int(time.time())


def _stamp(*_args, **_kwargs) -> None:
    at = now()
    session[SESSION_ID] = secrets.token_urlsafe(16)
    session[LOGIN_AT] = at
    session[SEEN_AT] = at


def _end_other_sessions(_app, user=None, **_kwargs) -> None:
    """Logging out rotates the account's session token: every copy of the old cookie stops working."""
    from marketplace.accounts.models import new_session_token
    from marketplace.extensions import db

    if user is None or not getattr(user, "is_authenticated", False) or not hasattr(user, "session_token"):
        return
    user.session_token = new_session_token()
    db.session.commit()


def _limits(app: Flask) -> tuple[int, int]:
    idle = int(float(app.config.get("SESSION_IDLE_MINUTES") or 0) * 60)
    absolute = int(float(app.config.get("SESSION_ABSOLUTE_HOURS") or 0) * 3600)
    return idle, absolute


def is_expired(login_at: int, seen_at: int, at: int, idle: int, absolute: int) -> bool:
    return bool((idle and at - seen_at > idle) or (absolute and at - login_at > absolute))


def _login_redirect():
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("accounts.login", next=target))


def enforce_timeouts():
    """before_request: end a logged-in session past its idle or absolute limit."""
    if request.endpoint == "static" or not session.get("_user_id"):
        return None
    at = now()
    login_at, seen_at = session.get(LOGIN_AT), session.get(SEEN_AT)
    if not isinstance(login_at, int) or not isinstance(seen_at, int):
        # A session from before timestamps existed (or made by a test helper): its clock starts now.
        session[LOGIN_AT] = session[SEEN_AT] = at
        return None
    idle, absolute = _limits(current_app)
    if not is_expired(login_at, seen_at, at, idle, absolute):
        if at - seen_at >= SEEN_RESOLUTION:
            session[SEEN_AT] = at
        return None
    kept = {key: session[key] for key in KEPT_KEYS if key in session}
    session.clear()
    session.update(kept)
    g.pop("_login_user", None)  # forget a user some earlier hook may have loaded
    remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    if remember_cookie in request.cookies:
        return None  # Flask-Login restores the login from the remember-me cookie, or nobody is logged in
    flash(_("Phiên đăng nhập đã hết hạn. Vui lòng đăng nhập lại."), "info")
    return _login_redirect()


def init_app(app: Flask) -> None:
    # First of the before_request hooks, so nothing sees the user of an expired session.
    app.before_request_funcs.setdefault(None, []).insert(0, enforce_timeouts)
    user_logged_in.connect(_stamp, app)
    user_loaded_from_cookie.connect(_stamp, app)
    user_logged_out.connect(_end_other_sessions, app)
