"""Scans of OCOP certificates: a PDF or a photo (JPEG, PNG, WebP) of at most 5 MB, checked by content.

Files live under UPLOAD_DIR/certificates with random names. The public /media route refuses
sub-folders, so a scan is only reachable through the catalog's certificate_scan view, which
serves it to the product's managers and to organisers.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from marketplace.core.documents import check_pdf, is_pdf, reencode_image
from marketplace.core.errors import ServiceError
from marketplace.core.uploads import write_file

FOLDER = "certificates"
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 3000  # enough to read the decision number and the seal
IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
CONTENT_TYPES = {"pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
_NAME = re.compile(r"^[0-9a-f]{32}\.(pdf|jpg|png|webp)$")


def max_bytes() -> int:
    return int(current_app.config.get("MAX_CERTIFICATE_SCAN_BYTES") or DEFAULT_MAX_BYTES)


def scans_dir() -> Path:
    folder = Path(current_app.config["UPLOAD_DIR"]) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def path_of(name: str) -> Path | None:
    """The file of a stored scan name, or None for a name this module never makes."""
    return scans_dir() / name if _NAME.match(name or "") else None


def content_type(name: str) -> str:
    return CONTENT_TYPES.get(name.rsplit(".", 1)[-1], "application/octet-stream")


def store(data: bytes, field: str = "cert_scan") -> str:
    """Check `data` by its content and write it under a random name; return that name.

    Raises ServiceError(field, message) for an empty or too big file, or one that is neither a
    sound PDF (no scripts, no embedded files) nor a JPEG/PNG/WebP image."""
    limit = max_bytes()
    if not data:
        raise ServiceError(field, _("Tệp bản chụp trống."))
    if len(data) > limit:
        raise ServiceError(field, _("Bản chụp lớn hơn %(size)s MB.", size=limit // (1024 * 1024)))
    if is_pdf(data):
        check_pdf(data, field)
        content, ext = data, "pdf"
    else:
        refused = _("Chỉ nhận bản chụp là tệp PDF hoặc ảnh JPEG, PNG, WebP.")
        content, kind = reencode_image(data, field, refused, MAX_SIDE)
        ext = IMAGE_FORMATS[kind]
    name = f"{secrets.token_hex(16)}.{ext}"
    write_file(scans_dir() / name, content, field)
    return name


def remove(name: str | None) -> None:
    """Delete a stored scan (call after the commit that stopped referring to it)."""
    path = path_of(name or "")
    if path is not None:
        path.unlink(missing_ok=True)
