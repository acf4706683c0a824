"""`GET /healthz` for load balancers and monitoring (docs/deploy.md).

200 with {"status": "ok" | "degraded", "checks": {...}} while the database answers; 503 with
"error" when it does not. Never cached, never rate-limited, and it neither reads nor sets a session
cookie: a load balancer polling it every few seconds leaves no trace in sessions or rate limits.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, session

from marketplace.extensions import csrf, limiter
from marketplace.health import services

bp = Blueprint("health", __name__)
limiter.exempt(bp)
csrf.exempt(bp)


@bp.get("/healthz")
def healthz():
    # Nothing of this request's session is saved (no Set-Cookie, not even the refresh of a
    # permanent session or of the idle-timeout stamp): the cookie a browser sent stays as it was.
    session.permanent = False
    session.modified = False
    body, status = services.run_checks(current_app._get_current_object())
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
