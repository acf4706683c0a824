"""Message attachments: images (JPEG, PNG, WebP) or PDF up to 5 MB, checked by content.

Files live under DATA_DIR/uploads/attachments with random names. They are never under the
public /media route (it refuses sub-folders); a view serves them to the thread's parties only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from marketplace.core.documents import check_pdf, is_pdf, reencode_image
from marketplace.core.errors import ServiceError
from marketplace.core.uploads import write_file
from marketplace.core.vn_text import clean_line
from marketplace.inquiries.common import setting

IMAGE_FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp")}
MAX_SIDE = 2400


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
    if is_pdf(data):
        check_pdf(data, field)
        content, ext, mime = data, "pdf", "application/pdf"
    else:
        content, kind = reencode_image(data, field, _("Chỉ nhận ảnh JPEG, PNG, WebP hoặc tệp PDF."), MAX_SIDE)
        ext, mime = IMAGE_FORMATS[kind]
    stored_name = f"{secrets.token_hex(16)}.{ext}"
    write_file(path_of(stored_name), content, field)
    return StoredFile(stored_name, _original_name(upload.filename, ext), mime, len(content))


def remove(stored_names: list[str]) -> None:
    for name in stored_names:
        path_of(name).unlink(missing_ok=True)
