"""Image checks shared by every upload (core/uploads.py, core/documents.py)."""

from __future__ import annotations

import struct
import zlib

import pytest

from marketplace.core import documents, uploads
from marketplace.core.errors import ServiceError


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels (the data is one empty row: it is never
    decoded, the size alone must be refused)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [7000, 20000])  # 49 MP (our limit) and 400 MP (Pillow's bomb guard)
def test_a_huge_image_is_refused_as_too_large_not_as_not_an_image(app, side):
    data = _png_claiming(side, side)
    with app.test_request_context():
        with pytest.raises(ServiceError) as saved:
            uploads.save_image(data)
        assert saved.value.message == "Ảnh có kích thước quá lớn."
        with pytest.raises(ServiceError) as reencoded:
            documents.reencode_image(data, "scan", "không phải ảnh", 2000)
        assert reencoded.value.message == "Ảnh có kích thước quá lớn."
