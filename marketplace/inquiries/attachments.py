"""Message attachments: images (JPEG, PNG, WebP) or PDF up to 5 MB, checked by content.

Files live under DATA_DIR/uploads/attachments with random names. They are never under the
public /media route (it refuses sub-folders); a view serves them to the thread's parties only.
"""

from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from marketplace.core.errors import ServiceError
from marketplace.core.uploads import write_file
from marketplace.core.vn_text import clean_line
from marketplace.inquiries.common import setting

IMAGE_FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp")}
MAX_PIXELS = 40_000_000
MAX_SIDE = 2400
_PDF_HEADER = re.compile(rb"^%PDF-[12]\.\d")
# Bounded repeats: a long run of digits must not make the search quadratic.
_PDF_OBJECT = re.compile(rb"(?<!\d)\d{1,10}[ \t\r\n]{1,5}\d{1,5}[ \t\r\n]{1,5}obj\b")
_PDF_ACTIVE = (b"/JavaScript", b"/Launch", b"/EmbeddedFile")


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    original_name: str
    content_type: str
    size: int


def attachments_dir() -> Path:
    folder = Path(current_app.config["UPLOAD_DIR"]) / "attachments"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def path_of(stored_name: str) -> Path:
    return attachments_dir() / stored_name


def _original_name(filename: str, ext: str) -> str:
    name = clean_line(filename).replace("/", "_").replace("\\", "_").strip(". ")
    name = "".join(ch for ch in name if ch.isprintable()) or f"tep-dinh-kem.{ext}"
    stem, dot, suffix = name.rpartition(".")
    if not dot or suffix.lower() not in {ext, "jpeg" if ext == "jpg" else ext}:
        name = f"{name}.{ext}"
    return name[-200:]


def _is_pdf(data: bytes) -> bool:
    return bool(_PDF_HEADER.match(data[:16]))


def _check_pdf(data: bytes, field: str) -> None:
    """A structural check: header, at least one object, a cross-reference pointer and the end marker."""
    tail = data[-2048:]
    if b"%%EOF" not in tail or b"startxref" not in tail or not _PDF_OBJECT.search(data):
        raise ServiceError(field, _("Tệp PDF bị hỏng hoặc không hợp lệ."))
    if any(marker in data for marker in _PDF_ACTIVE):
        raise ServiceError(field, _("Tệp PDF chứa mã lệnh hoặc tệp nhúng nên không được nhận."))


def _reencode_image(data: bytes, field: str) -> tuple[bytes, str, str]:
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            if kind not in IMAGE_FORMATS:
                raise ServiceError(field, _("Chỉ nhận ảnh JPEG, PNG, WebP hoặc tệp PDF."))
            if probe.width * probe.height > MAX_PIXELS:
                raise ServiceError(field, _("Ảnh có kích thước quá lớn."))
            probe.verify()
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            img = ImageOps.exif_transpose(img)
            img = img.convert("RGBA" if kind in ("PNG", "WEBP") and "A" in img.getbands() else "RGB")
            img.thumbnail((MAX_SIDE, MAX_SIDE))
            out = io.BytesIO()
            # Saved without exif/icc/info: GPS and camera data do not travel with the file.
            if kind == "JPEG":
                img.save(out, "JPEG", quality=88, optimize=True)
            elif kind == "PNG":
                img.save(out, "PNG", optimize=True)
            else:
                img.save(out, "WEBP", quality=88)
    except ServiceError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        raise ServiceError(field, _("Chỉ nhận ảnh JPEG, PNG, WebP hoặc tệp PDF.")) from None
    ext, mime = IMAGE_FORMATS[kind]
    return out.getvalue(), ext, mime


def store(upload: Upload, field: str = "attachments") -> StoredFile:
    """Check `upload` by content and write it under a random name. Raises ServiceError."""
    limit = int(setting("ATTACHMENT_MAX_BYTES"))
    data = upload.data
    if not data:
        raise ServiceError(field, _("Tệp đính kèm “%(name)s” trống.", name=clean_line(upload.filename)[:80]))
    if len(data) > limit:
        size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{max(1, limit // 1024)} KB"
        raise ServiceError(
            field, _("Tệp “%(name)s” lớn hơn %(size)s.", name=clean_line(upload.filename)[:80], size=size)
        )
    if _is_pdf(data):
        _check_pdf(data, field)
        content, ext, mime = data, "pdf", "application/pdf"
    else:
        content, ext, mime = _reencode_image(data, field)
    stored_name = f"{secrets.token_hex(16)}.{ext}"
    write_file(path_of(stored_name), content, field)
    return StoredFile(stored_name, _original_name(upload.filename, ext), mime, len(content))


def remove(stored_names: list[str]) -> None:
    for name in stored_names:
        path_of(name).unlink(missing_ok=True)
