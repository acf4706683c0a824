"""Attachment checks at the service level (the 5 MB limit with real sizes)."""

from __future__ import annotations

import pytest

from marketplace.core.errors import ServiceError
from marketplace.inquiries import attachments
from tests.helpers import image_bytes
from tests.inquiries.test_views import PDF


def test_five_megabytes_is_the_limit(app):
    padding = 5 * 1024 * 1024 - len(PDF)
    stored = attachments.store(attachments.Upload("vua.pdf", b"%PDF-1.4\n%" + b"0" * (padding - 2) + b"\n" + PDF[9:]))
    assert stored.size == 5 * 1024 * 1024 and stored.content_type == "application/pdf"
    with pytest.raises(ServiceError, match="lớn hơn 5 MB"):
        attachments.store(attachments.Upload("lon.pdf", PDF + b"0" * (5 * 1024 * 1024)))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "trống"),
        (b"GIF89a" + b"\x00" * 40, "Chỉ nhận ảnh"),
        (b"MZ\x90\x00 an executable", "Chỉ nhận ảnh"),
        (image_bytes("JPEG")[:60], "Chỉ nhận ảnh"),
        (b"%PDF-1.4\n1 0 obj\nendobj\n", "hỏng"),
    ],
)
def test_refused_content(app, data, message):
    with pytest.raises(ServiceError, match=message):
        attachments.store(attachments.Upload("tep.jpg", data))
    assert list(attachments.attachments_dir().iterdir()) == []


def test_images_are_reencoded_and_named_randomly(app):
    stored = attachments.store(attachments.Upload("../../etc/ảnh mẫu.JPG", image_bytes("JPEG")))
    assert stored.content_type == "image/jpeg" and stored.stored_name.endswith(".jpg")
    assert "/" not in stored.original_name and stored.original_name.endswith("ảnh mẫu.JPG")
    assert attachments.path_of(stored.stored_name).read_bytes()[:2] == b"\xff\xd8"
    webp = attachments.store(attachments.Upload("x", image_bytes("WEBP")))
    assert webp.original_name == "x.webp" and webp.content_type == "image/webp"
