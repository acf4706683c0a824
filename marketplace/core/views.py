"""Site-wide routes: language switch, health check, uploaded files."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, request, send_from_directory, session, url_for
from werkzeug.exceptions import NotFound

from marketplace.core.urls import safe_next

bp = Blueprint("core", __name__)


@bp.post("/lang/<code>")
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(safe_next(request.form.get("next") or request.referrer, default="/"))


@bp.get("/media/<path:filename>")
def media(filename: str):
    """Uploaded images, stored under random names (see core/uploads.py)."""
    if "/" in filename.strip("/") and not filename.startswith("thumbs/"):
        raise NotFound()
    response = send_from_directory(current_app.config["UPLOAD_DIR"], filename, max_age=86400)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/favicon.ico")
def favicon():
    return redirect(url_for("static", filename="img/favicon.svg"), code=301)
