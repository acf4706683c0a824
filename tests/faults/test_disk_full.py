"""Fault d: the disk fills up. Uploads fail with a clear message and leave neither a file nor a row;
an index write failure keeps the outbox rows and the search page keeps answering."""

from __future__ import annotations

import errno
import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from marketplace.catalog.models import Product, ProductImage
from marketplace.core import uploads
from marketplace.extensions import db
from marketplace.inquiries import services as inquiry_services
from marketplace.inquiries.models import Attachment, Message
from marketplace.search.models import SearchOutbox
from tests.helpers import image_bytes, make_producer, make_product, make_user

FULL = "Máy chủ hết dung lượng lưu trữ"
PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\n"
    b"endobj\nxref\n0 3\n0000000000 65535 f \ntrailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n9\n%%EOF\n"
)


def files_under(folder: Path) -> list[Path]:
    return [p for p in Path(folder).rglob("*") if p.is_file()]


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def disk_full(monkeypatch):
    """Every upload write stops half-way with ENOSPC (after a partial temporary file exists)."""
    calls = []

    def write_half(f, data: bytes) -> None:
        calls.append(len(data))
        f.write(data[: len(data) // 2])
        f.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(uploads, "_write_all", write_half)
    return calls


def test_product_image_upload_on_a_full_disk(app, client, as_user, disk_full):
    manager = make_user(roles=("producer",))
    product = make_product(make_producer(managers=[manager]))
    db.session.commit()
    as_user(manager)
    response = client.post(
        f"/my/products/{product.id}/images",
        data={"images": [(io.BytesIO(image_bytes()), "anh.jpg")]},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and disk_full
    assert "anh.jpg" in page and FULL in page
    db.session.expire_all()
    assert db.session.get(Product, product.id).images == [] and count(ProductImage) == 0
    assert files_under(app.config["UPLOAD_DIR"]) == []  # no temporary file, no half image


def test_thumbnail_failing_after_the_full_image_removes_both(app, monkeypatch):
    real = uploads._write_all
    seen = []

    def second_fails(f, data: bytes) -> None:
        seen.append(1)
        if len(seen) == 2:
            raise OSError(errno.EDQUOT, "Disk quota exceeded")
        real(f, data)

    monkeypatch.setattr(uploads, "_write_all", second_fails)
    with pytest.raises(uploads.ServiceError, match=FULL):
        uploads.save_image(image_bytes())
    assert files_under(app.config["UPLOAD_DIR"]) == []


def test_message_attachment_on_a_full_disk(app, client, as_user, disk_full):
    buyer = make_user(roles=("buyer",))
    producer = make_producer(managers=[make_user(roles=("producer",))])
    inquiry = inquiry_services.create_inquiry(
        buyer, producer, inquiry_services.InquiryData(10, "hộp", message="Xin báo giá")
    )
    db.session.commit()
    messages = count(Message)
    as_user(buyer)
    response = client.post(
        f"/threads/{inquiry.thread.id}/messages",
        data={"body": "Gửi hợp đồng", "attachments": [(io.BytesIO(PDF), "hop-dong.pdf")]},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and FULL in page and "Gửi hợp đồng" in page  # the text is kept
    db.session.expire_all()
    assert count(Message) == messages and count(Attachment) == 0
    assert files_under(app.config["UPLOAD_DIR"]) == []


def test_index_write_failure_keeps_the_outbox_and_search_answers(app, client, monkeypatch):
    from whoosh.writing import SegmentWriter

    make_product(ref="GOM-1", name="Gốm men rạn Bát Tràng", ocop_group="handicraft")
    db.session.commit()
    assert "/san-pham/GOM-1" in client.get("/products?q=gốm").get_data(as_text=True)  # index built
    make_product(ref="NON-1", name="Nón lá Chuông", ocop_group="handicraft")
    db.session.commit()
    assert count(SearchOutbox) >= 1

    def no_space(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(SegmentWriter, "commit", no_space)
    page = client.get("/products?q=nón lá")
    assert page.status_code == 200 and "/san-pham/NON-1" not in page.get_data(as_text=True)  # the old index answers
    db.session.expire_all()
    assert count(SearchOutbox) >= 1  # the change is still queued
    monkeypatch.undo()
    from marketplace.search import get_backend

    get_backend(app).pending = True  # this process queued it: the next read drains
    assert "/san-pham/NON-1" in client.get("/products?q=nón lá").get_data(as_text=True)
    db.session.expire_all()
    assert count(SearchOutbox) == 0


def test_certificate_scan_on_a_full_disk(app, disk_full):
    from marketplace.catalog import scans

    with pytest.raises(uploads.ServiceError, match=FULL) as caught:
        scans.store(PDF)
    assert caught.value.field == "cert_scan"
    assert files_under(app.config["UPLOAD_DIR"]) == []
