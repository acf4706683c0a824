"""The QR target of a batch (an absolute URL) and its QR code as SVG or PNG (segno, pure Python)."""

from __future__ import annotations

import io

import segno
from flask import current_app, request, url_for

from marketplace.traceability.models import Batch

PNG_SCALE = 12  # pixels per module: a 33-module code gives a ~490 px image, crisp when printed
BORDER = 4  # the quiet zone the QR standard asks for


def public_base_url() -> str:
    """PUBLIC_BASE_URL (scheme://host[:port], e.g. https://ocop.hanoi.gov.vn), else this request's host."""
    configured = (current_app.config.get("PUBLIC_BASE_URL") or "").strip()
    return (configured or request.host_url).rstrip("/")


def public_trace_url(batch: Batch) -> str:
    """The absolute URL printed in the batch's QR code."""
    return public_base_url() + url_for("traceability.trace", code=batch.public_code)


def _code(url: str) -> segno.QRCode:
    return segno.make(url, error="m", micro=False)


def qr_svg(url: str, scalable: bool = False) -> bytes:
    """An SVG QR code; `scalable` omits width/height (a viewBox only) so CSS can size it."""
    buffer = io.BytesIO()
    _code(url).save(buffer, kind="svg", scale=10, border=BORDER, xmldecl=not scalable, omitsize=scalable)
    return buffer.getvalue()


def qr_png(url: str, scale: int = PNG_SCALE) -> bytes:
    buffer = io.BytesIO()
    _code(url).save(buffer, kind="png", scale=scale, border=BORDER)
    return buffer.getvalue()
