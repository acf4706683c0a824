"""Safe redirects: `next=` only ever points inside this site."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request


def safe_next(target: str | None, default: str = "/") -> str:
    """Return `target` if it is a local path on this host, else `default`.

    Refuses '//evil', '/\\evil', 'https:evil', 'javascript:…' and absolute URLs to other hosts."""
    if not target:
        return default
    target = target.strip()
    if any(ch in target for ch in ("\\", "\r", "\n", "\t")) or any(ord(ch) < 32 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if parts.scheme in ("http", "https") and parts.netloc == request.host:
            path = parts.path or "/"
            return path + (f"?{parts.query}" if parts.query else "")
        return default
    if not target.startswith("/") or target.startswith("//"):
        return default
    return target
