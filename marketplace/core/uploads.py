"""Image uploads: checked by content, re-encoded without metadata, stored under random names."""

from __future__ import annotations

import io
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
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        raise ServiceError(field, _("Tệp không phải là ảnh hợp lệ (JPEG, PNG hoặc WebP).")) from None

    ext = ALLOWED_FORMATS[kind] if kind != "JPEG" or img.mode == "RGB" else "jpg"
    name = secrets.token_hex(16)
    folder = upload_dir()
    full = img.copy()
    full.thumbnail((MAX_SIDE, MAX_SIDE))
    filename = f"{name}.{ext}"
    _write(full, folder / filename, kind)
    thumb = img.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    thumb_filename = f"thumbs/{name}.{ext}"
    _write(thumb, folder / thumb_filename, kind)
    return StoredImage(filename=filename, thumb_filename=thumb_filename)


def _write(img: Image.Image, path: Path, kind: str) -> None:
    # Saving without exif/icc/info drops the original metadata (GPS, camera, comments).
    if kind == "JPEG":
        img.save(path, "JPEG", quality=85, optimize=True)
    elif kind == "PNG":
        img.save(path, "PNG", optimize=True)
    else:
        img.save(path, "WEBP", quality=85)


def delete_image(stored: StoredImage) -> None:
    folder = upload_dir()
    for name in (stored.filename, stored.thumb_filename):
        (folder / name).unlink(missing_ok=True)
