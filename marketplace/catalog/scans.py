"""Scans of OCOP certificates: a PDF or a photo (JPEG, PNG, WebP) of at most 5 MB, checked by content.

Files live under UPLOAD_DIR/certificates with random names. The public /media route refuses
sub-folders, so a scan is only reachable through the catalog's certificate_scan view, which
serves it to the product's managers and to organisers.
"""

from __future__ import annotations

import io
import re
import secrets
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from marketplace.core.errors import ServiceError
from marketplace.core.uploads import write_file

FOLDER = "certificates"
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 3000  # enough to read the decision number and the seal
IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
CONTENT_TYPES = {"pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
_PDF_HEADER = re.compile(rb"^%PDF-[12]\.\d")
_PDF_OBJECT = re.compile(rb"(?<!\d)\d{1,10}[ \t\r\n]{1,5}\d{1,5}[ \t\r\n]{1,5}obj\b")
_PDF_ACTIVE = (b"/JavaScript", b"/Launch", b"/EmbeddedFile")
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


def _check_pdf(data: bytes, field: str) -> None:
    tail = data[-2048:]
    if b"%%EOF" not in tail or b"startxref" not in tail or not _PDF_OBJECT.search(data):
        raise ServiceError(field, _("Tệp PDF bị hỏng hoặc không hợp lệ."))
    if any(marker in data for marker in _PDF_ACTIVE):
        raise ServiceError(field, _("Tệp PDF chứa mã lệnh hoặc tệp nhúng nên không được nhận."))


def _reencode_image(data: bytes, field: str) -> tuple[bytes, str]:
    """Decode and save again: drops metadata (GPS, camera) and anything hidden after the image."""
    refused = _("Chỉ nhận bản chụp là tệp PDF hoặc ảnh JPEG, PNG, WebP.")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            if kind not in IMAGE_FORMATS:
                raise ServiceError(field, refused)
            if probe.width * probe.height > MAX_PIXELS:
                raise ServiceError(field, _("Ảnh có kích thước quá lớn."))
            probe.verify()
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            img = ImageOps.exif_transpose(img)
            img = img.convert("RGBA" if kind in ("PNG", "WEBP") and "A" in img.getbands() else "RGB")
            img.thumbnail((MAX_SIDE, MAX_SIDE))
            out = io.BytesIO()
            if kind == "JPEG":
                img.save(out, "JPEG", quality=88, optimize=True)
            elif kind == "PNG":
                img.save(out, "PNG", optimize=True)
            else:
                img.save(out, "WEBP", quality=88)
    except ServiceError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        raise ServiceError(field, refused) from None
    return out.getvalue(), IMAGE_FORMATS[kind]


def store(data: bytes, field: str = "cert_scan") -> str:
    """Check `data` by its content and write it under a random name; return that name.

    Raises ServiceError(field, message) for an empty or too big file, or one that is neither a
    sound PDF (no scripts, no embedded files) nor a JPEG/PNG/WebP image."""
    limit = max_bytes()
    if not data:
        raise ServiceError(field, _("Tệp bản chụp trống."))
    if len(data) > limit:
        raise ServiceError(field, _("Bản chụp lớn hơn %(size)s MB.", size=limit // (1024 * 1024)))
    if _PDF_HEADER.match(data[:16]):
        _check_pdf(data, field)
        content, ext = data, "pdf"
    else:
        content, ext = _reencode_image(data, field)
    name = f"{secrets.token_hex(16)}.{ext}"
    write_file(scans_dir() / name, content, field)
    return name


def remove(name: str | None) -> None:
    """Delete a stored scan (call after the commit that stopped referring to it)."""
    path = path_of(name or "")
    if path is not None:
        path.unlink(missing_ok=True)
