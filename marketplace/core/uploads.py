"""Image uploads: checked by content, re-encoded without metadata, stored under random names.

Every uploaded file (images here, message attachments, certificate scans, inspection files) is
written by `write_file`: into a temporary file in the same folder, then renamed over the final
name with os.replace, so a reader never sees a half-written file. When the disk is full (or the
quota is reached, or the filesystem is read-only) the temporary file is removed and a ServiceError
says so; services write their files before adding the database rows, so a failed write leaves
neither a file nor a row (docs/faults.md).
"""

from __future__ import annotations

import errno
import io
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from marketplace.core.errors import ServiceError

ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MAX_PIXELS = 40_000_000
MAX_SIDE = 2000
THUMB_SIDE = 400
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredImage:
    filename: str
    thumb_filename: str


def upload_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"])
    (path / "thumbs").mkdir(parents=True, exist_ok=True)
    return path


def save_image(data: bytes, field: str = "images") -> StoredImage:
    """Verify `data` is a JPEG/PNG/WebP image of at most MAX_IMAGE_BYTES; store it re-encoded.

    Raises ServiceError with a Vietnamese message for anything else (an HTML file named .jpg,
    a truncated file, a decompression bomb)."""
    limit = current_app.config["MAX_IMAGE_BYTES"]
    if len(data) > limit:
        raise ServiceError(field, _("Ảnh lớn hơn %(size)s MB.", size=limit // (1024 * 1024)))
    if not data:
        raise ServiceError(field, _("Tệp ảnh trống."))
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            if kind not in ALLOWED_FORMATS:
                raise ServiceError(field, _("Chỉ nhận ảnh JPEG, PNG hoặc WebP."))
            if probe.width * probe.height > MAX_PIXELS:
                raise ServiceError(field, _("Ảnh có kích thước quá lớn."))
            probe.verify()
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            img = ImageOps.exif_transpose(img)
            img = img.convert("RGBA" if kind == "PNG" and "A" in img.getbands() else "RGB")
    except ServiceError:
        raise
    except Image.DecompressionBombError:  # Pillow refuses to open it: far more pixels than MAX_PIXELS
        raise ServiceError(field, _("Ảnh có kích thước quá lớn.")) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ServiceError(field, _("Tệp không phải là ảnh hợp lệ (JPEG, PNG hoặc WebP).")) from None

    ext = ALLOWED_FORMATS[kind] if kind != "JPEG" or img.mode == "RGB" else "jpg"
    name = secrets.token_hex(16)
    folder = upload_dir()
    full = img.copy()
    full.thumbnail((MAX_SIDE, MAX_SIDE))
    filename = f"{name}.{ext}"
    write_file(folder / filename, _encode(full, kind), field)
    thumb = img.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    thumb_filename = f"thumbs/{name}.{ext}"
    try:
        write_file(folder / thumb_filename, _encode(thumb, kind), field)
    except ServiceError:
        (folder / filename).unlink(missing_ok=True)
        raise
    return StoredImage(filename=filename, thumb_filename=thumb_filename)


def _encode(img: Image.Image, kind: str) -> bytes:
    # Saving without exif/icc/info drops the original metadata (GPS, camera, comments).
    out = io.BytesIO()
    if kind == "JPEG":
        img.save(out, "JPEG", quality=85, optimize=True)
    elif kind == "PNG":
        img.save(out, "PNG", optimize=True)
    else:
        img.save(out, "WEBP", quality=85)
    return out.getvalue()


def disk_error_message(error: OSError) -> str:
    if error.errno in DISK_FULL_ERRNOS:
        return _("Máy chủ hết dung lượng lưu trữ, chưa lưu được tệp. Vui lòng thử lại sau hoặc báo quản trị viên.")
    return _("Máy chủ không lưu được tệp, vui lòng thử lại sau.")


def _write_all(f, data: bytes) -> None:
    f.write(data)
    f.flush()


def write_file(path: Path, data: bytes, field: str | None = None) -> None:
    """Write `data` to `path` all or nothing: a temporary file beside it, then os.replace.

    On an OSError (disk full, quota, read-only filesystem, I/O error) the temporary file is
    removed and ServiceError(field, message) is raised."""
    tmp = path.with_name(f".tmp-{secrets.token_hex(8)}-{path.name}")
    try:
        with open(tmp, "xb") as f:
            _write_all(f, data)
        os.replace(tmp, path)
    except OSError as error:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:  # pragma: no cover - the folder itself is gone or read-only
            pass
        log.warning("could not store upload %s: %s", path.name, error)
        raise ServiceError(field, disk_error_message(error), code="storage_unavailable") from error


def delete_image(stored: StoredImage) -> None:
    folder = upload_dir()
    for name in (stored.filename, stored.thumb_filename):
        (folder / name).unlink(missing_ok=True)
