"""Safe redirects: `next=` only ever points inside this site."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from flask import request


def safe_next(target: str | None, default: str = "/") -> str:
    """Return `target` if it is a local path on this host, else `default`.

    Refuses '//evil', '/\\evil', 'https:evil', 'javascript:…' and absolute URLs to other hosts, and
    the same once percent-decoded ('/%5Cevil', '/%2F/evil'), in case a proxy or browser decodes it."""
    if not target:
        return default
    target = target.strip()
    for form in (target, unquote(target)):
        if "\\" in form or any(ord(ch) < 32 or ord(ch) == 127 for ch in form):
            return default
        if form.startswith("//"):
            return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if parts.scheme in ("http", "https") and parts.netloc == request.host:
            path = parts.path or "/"  # checked again: 'http://this-host//evil' must not become '//evil'
            return safe_next(path + (f"?{parts.query}" if parts.query else ""), default)
        return default
    if not target.startswith("/") or target.startswith("//"):
        return default
    return target
