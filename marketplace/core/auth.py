"""Access control helpers for views: roles, verified e-mail, ownership."""

from __future__ import annotations

from functools import wraps

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user


def role_required(*roles: str, verified: bool = True):
    """Logged in (else to the login page), e-mail verified (else to the notice page) and,
    when roles are given, holding one of them (else 403)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return redirect(
                    url_for("accounts.login", next=request.full_path.rstrip("?") if request.method == "GET" else None)
                )
            if verified and not current_user.email_verified:
                flash(_("Vui lòng xác minh địa chỉ email trước khi tiếp tục."), "warning")
                return redirect(url_for("accounts.verify_notice"))
            if roles and not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def login_required(view):
    """Logged in; no role or verification needed."""
    return role_required(verified=False)(view)
