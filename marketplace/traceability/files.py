"""Inspection files: the test reports (a PDF or a photo) producers attach to a batch's inspections.

Checks an upload by its content and size, stores it under a random name in the uploads folder,
records it on the Inspection, and deletes files once nothing refers to them. Kept apart from
services.py because storage is about the disk, not about the batch's rules; the public trace page
serves these files through traceability.views.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from marketplace.core.documents import check_pdf
from marketplace.core.errors import ServiceError
from marketplace.core.uploads import save_image, upload_dir, write_file
from marketplace.core.vn_text import nfc
from marketplace.traceability.models import Inspection
from marketplace.traceability.validation import CONTROL_CHARS, UploadedFile

DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024
DOCUMENTS_DIR = "documents"


@dataclass(frozen=True)
class StoredFile:
    name: str  # relative to the uploads folder
    kind: str  # pdf | image
    thumb: str | None = None


def max_file_bytes() -> int:
    return int(current_app.config.get("TRACE_MAX_FILE_BYTES") or DEFAULT_MAX_FILE_BYTES)


def store_inspection_file(upload: UploadedFile) -> StoredFile:
    """Check the file by its content (a PDF, or a JPEG/PNG/WebP photo), at most the size limit, and
    store it under a random name. Photos are re-encoded (metadata such as GPS dropped)."""
    data = upload.data
    limit = max_file_bytes()
    if not data:
        raise ServiceError("file", _("Tệp trống."))
    if len(data) > limit:
        raise ServiceError("file", _("Tệp lớn hơn %(n)s MB.", n=limit // (1024 * 1024)))
    if data[:5] == b"%PDF-":
        check_pdf(data, "file")  # sound, and no scripts or embedded files: the trace page is public
        folder = upload_dir() / DOCUMENTS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{DOCUMENTS_DIR}/{secrets.token_hex(16)}.pdf"
        write_file(upload_dir() / name, data, field="file")
        return StoredFile(name=name, kind="pdf")
    try:
        stored = save_image(data, field="file")
    except ServiceError as error:
        if error.code == "storage_unavailable":  # the disk, not the file: say so
            raise
        raise ServiceError("file", _("Chỉ nhận tệp PDF hoặc ảnh JPEG, PNG, WebP.")) from None
    return StoredFile(name=stored.filename, kind="image", thumb=stored.thumb_filename)


def file_path(name: str) -> Path:
    return upload_dir() / name


def remove_files(names: Iterable[str]) -> None:
    """Delete stored files (call after the commit that stopped referring to them)."""
    root = upload_dir().resolve()
    for name in names:
        path = (root / name).resolve()
        if path.is_relative_to(root):
            path.unlink(missing_ok=True)


def _original_name(filename: str) -> str:
    base = nfc(filename).replace("\\", "/").rsplit("/", 1)[-1]
    return CONTROL_CHARS.sub("", base)[:200] or "file"


def inspection_file_names(item: Inspection) -> list[str]:
    """The stored files of an inspection (the file and its thumbnail), if any."""
    return [name for name in (item.file_name, item.file_thumb) if name]


def attach_inspection_file(item: Inspection, stored: StoredFile, filename: str) -> None:
    """Record a stored file on the inspection, with the uploader's file name made safe to show."""
    item.file_name = stored.name
    item.file_kind = stored.kind
    item.file_thumb = stored.thumb
    item.file_original_name = _original_name(filename)
