"""Documents checked by their content, whatever their name says: PDFs without active content, and
photos decoded and saved again. Used by message attachments, certificate scans and inspection
files; product images have their own path with thumbnails (core/uploads.save_image)."""

from __future__ import annotations

import io
import re

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from marketplace.core.errors import ServiceError

IMAGE_FORMATS = ("JPEG", "PNG", "WEBP")
MAX_PIXELS = 40_000_000
_PDF_HEADER = re.compile(rb"^%PDF-[12]\.\d")
# Bounded repeats: a long run of digits must not make the search quadratic.
_PDF_OBJECT = re.compile(rb"(?<!\d)\d{1,10}[ \t\r\n]{1,5}\d{1,5}[ \t\r\n]{1,5}obj\b")
_PDF_ACTIVE = (b"/JavaScript", b"/Launch", b"/EmbeddedFile")


def is_pdf(data: bytes) -> bool:
    return bool(_PDF_HEADER.match(data[:16]))


def check_pdf(data: bytes, field: str) -> None:
    """A structural check (header, at least one object, a cross-reference pointer and the end
    marker) and no scripts, launch actions or embedded files. Raises ServiceError(field, …)."""
    tail = data[-2048:]
    if not is_pdf(data) or b"%%EOF" not in tail or b"startxref" not in tail or not _PDF_OBJECT.search(data):
        raise ServiceError(field, _("Tệp PDF bị hỏng hoặc không hợp lệ."))
    if any(marker in data for marker in _PDF_ACTIVE):
        raise ServiceError(field, _("Tệp PDF chứa mã lệnh hoặc tệp nhúng nên không được nhận."))


def reencode_image(data: bytes, field: str, refused: str, max_side: int) -> tuple[bytes, str]:
    """Decode a JPEG/PNG/WebP photo and save it again at most `max_side` pixels wide and high, in
    its own format: metadata (GPS, camera) and anything hidden after the image do not travel.
    Returns (bytes, PIL format); anything else raises ServiceError(field, refused)."""
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
            img.thumbnail((max_side, max_side))
            out = io.BytesIO()
            if kind == "JPEG":
                img.save(out, "JPEG", quality=88, optimize=True)
            elif kind == "PNG":
                img.save(out, "PNG", optimize=True)
            else:
                img.save(out, "WEBP", quality=88)
    except ServiceError:
        raise
    except Image.DecompressionBombError:  # Pillow refuses to open it: far more pixels than MAX_PIXELS
        raise ServiceError(field, _("Ảnh có kích thước quá lớn.")) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ServiceError(field, refused) from None
    return out.getvalue(), kind
