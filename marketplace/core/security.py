"""HTTP security headers on every response, the per-request CSP nonce, the trusted-proxy set-up.

Every response the app makes (pages, JSON, 404/405/500 error pages, static files, uploaded media)
gets, from one `after_request` hook:

- `Content-Security-Policy`: no inline script (a page that really needs one uses
  `<script nonce="{{ csp_nonce() }}">`), scripts only from this site (and Stripe.js when
  STRIPE_JS_URL is set), images from this site, `data:`/`blob:` and the map tile host (MAP_TILE_URL),
  no plugins, no `<base>`, no framing, forms post only here.
- `X-Content-Type-Options: nosniff`, `Referrer-Policy: strict-origin-when-cross-origin` (a view may
  set a stricter one, e.g. the password-reset page), `X-Frame-Options: DENY`.
- `Strict-Transport-Security` in production (MARKETPLACE_ENV=production or PREFERRED_URL_SCHEME=https).
- `Cache-Control: no-store` on every response to a logged-in user and on every response that sets
  or clears the session cookie, so no shared cache or back button shows one person's page to another;
  `Cache-Control: private` on any other HTML page (it holds the visitor's CSRF token).
  Files that are the same for everyone (CACHEABLE_ENDPOINTS, default: static files) keep their
  caching unless they set a cookie.

TRUSTED_PROXIES (default 0) is the number of reverse proxies in front of the app: with N > 0 the
client address (rate limits, logs) and scheme come from the last N X-Forwarded-For/-Proto hops
(werkzeug ProxyFix); with 0 those headers are ignored, so a forged one changes nothing.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, has_request_context, request, session
from werkzeug.middleware.proxy_fix import ProxyFix

NONCE_KEY = "marketplace.csp_nonce"
STRIPE_JS_HOST = "js.stripe.com"
# What Stripe.js needs besides its script (https://docs.stripe.com/security/guide#content-security-policy).
STRIPE_EXTRA = {
    "script-src": ["https://*.js.stripe.com"],
    "frame-src": ["https://*.js.stripe.com", "https://hooks.stripe.com"],
    "connect-src": ["https://api.stripe.com"],
}
STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
DEFAULT_REFERRER_POLICY = "strict-origin-when-cross-origin"


def csp_nonce() -> str:
    """This request's nonce for a `<script nonce=...>` (the same value all through one request)."""
    if not has_request_context():
        return ""
    nonce = request.environ.get(NONCE_KEY)
    if nonce is None:
        nonce = request.environ[NONCE_KEY] = secrets.token_urlsafe(18)
    return nonce


def _origin(url: str | None) -> str | None:
    """'https://tile.openstreetmap.org/{z}/{x}/{y}.png' -> 'https://tile.openstreetmap.org';
    a '{s}.' sub-domain template becomes a wildcard ('https://*.tile.example.org')."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    host = parts.netloc.rsplit("@", 1)[-1]
    if "{" in host:
        labels = host.split(".")
        if "{" in "".join(labels[1:]) or len(labels) < 3:
            return None  # only a template in the first label can be a wildcard
        host = ".".join(["*", *labels[1:]])
    return f"{parts.scheme}://{host}"


def content_security_policy(config, nonce: str) -> str:
    """The CSP header value for `config` (a Flask config mapping) and this request's nonce."""
    sources: dict[str, list[str]] = {
        "default-src": ["'self'"],
        "script-src": ["'self'", f"'nonce-{nonce}'"],
        "style-src": ["'self'", "'unsafe-inline'"],  # style="" attributes exist; no script can run from CSS
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-src": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
    tiles = _origin(config.get("MAP_TILE_URL"))
    if tiles:
        sources["img-src"].append(tiles)
    stripe_js = _origin(config.get("STRIPE_JS_URL"))
    if stripe_js:
        sources["script-src"].append(stripe_js)
        sources["frame-src"] = [stripe_js]
        sources["connect-src"].append(stripe_js)
        if urlsplit(stripe_js).hostname == STRIPE_JS_HOST:
            for directive, extra in STRIPE_EXTRA.items():
                sources[directive].extend(extra)
        stripe_api = _origin(config.get("STRIPE_API_BASE"))  # a local stand-in (localstripe) in tests
        if stripe_api:
            sources["connect-src"].append(stripe_api)
    for directive, extra in (config.get("CSP_EXTRA_SOURCES") or {}).items():
        current = sources.setdefault(directive, [])
        if current == ["'none'"]:
            current.clear()
        current.extend(extra)
    parts = []
    for directive, values in sources.items():
        unique = list(dict.fromkeys(values))
        parts.append(f"{directive} {' '.join(unique)}")
    return "; ".join(parts)


def hsts_enabled(config) -> bool:
    return config.get("MARKETPLACE_ENV") == "production" or config.get("PREFERRED_URL_SCHEME") == "https"


def _logged_in() -> bool:
    return bool(session.get("_user_id"))


def _sets_session_cookie(app: Flask) -> bool:
    """Will this response carry a Set-Cookie for the session (new, refreshed or cleared)?"""
    if session.modified:
        return True
    interface = app.session_interface
    return not interface.is_null_session(session) and interface.should_set_cookie(app, session) and bool(session)


# What every policy holds, also one a view set itself.
ALWAYS_DIRECTIVES = ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'")


def set_security_headers(response: Response) -> Response:
    app = current_app._get_current_object()
    config = app.config
    # A view that serves a file sets its own, stricter policy (e.g. "default-src 'none'; sandbox"
    # for uploaded PDFs and images): keep it.
    own = response.headers.get("Content-Security-Policy")
    if own:
        present = {part.strip().split(" ", 1)[0] for part in own.split(";") if part.strip()}
        missing = [d for d in ALWAYS_DIRECTIVES if d.split(" ", 1)[0] not in present]
        response.headers["Content-Security-Policy"] = "; ".join([own.rstrip("; "), *missing])
    else:
        response.headers["Content-Security-Policy"] = content_security_policy(config, csp_nonce())
    for name, value in STATIC_HEADERS.items():
        response.headers[name] = value
    response.headers.setdefault("Referrer-Policy", DEFAULT_REFERRER_POLICY)
    if hsts_enabled(config):
        max_age = int(config.get("HSTS_MAX_AGE", 31536000))
        response.headers["Strict-Transport-Security"] = f"max-age={max_age}; includeSubDomains"
    sets_cookie = _sets_session_cookie(app) or "Set-Cookie" in response.headers
    shared = request.endpoint in config.get("CACHEABLE_ENDPOINTS", ("static",))
    if sets_cookie or (_logged_in() and not shared):
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Expires", None)
    elif response.mimetype == "text/html" and "Cache-Control" not in response.headers:
        # A page carries the visitor's CSRF token (the language switch): never for a shared cache.
        response.headers["Cache-Control"] = "private"
    return response


def init_app(app: Flask) -> None:
    """Install the header hook, `csp_nonce()` for templates and ProxyFix for TRUSTED_PROXIES."""
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies < 0:
        raise RuntimeError("TRUSTED_PROXIES must be 0 or more")
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    app.add_template_global(csp_nonce, "csp_nonce")
    app.after_request(set_security_headers)
