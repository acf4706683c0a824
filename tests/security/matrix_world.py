"""A world of real objects for the access-control matrix, and database snapshots.

`build_world()` makes eight actors and, for every URL converter of the app, an object owned by
buyer A and producer A (so "buyer_b" and "producer_b" are the outsiders). `snapshot()` reads
every row of every table; `restore()` puts such a snapshot back (after an allowed request changed
things), so the matrix needs one world per test instead of one per request.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import sqlalchemy as sa

from marketplace.core.models import utcnow
from marketplace.extensions import db
from tests.forums.factories import make_forum, make_meeting, make_registration
from tests.helpers import image_bytes, make_producer, make_product, make_sales_point, make_user

ROLES = ("anonymous", "buyer", "buyer_b", "producer", "producer_b", "sales_point", "organiser", "admin")

PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\nxref\n0 1\n0000000000 65535 f \n"
    b"trailer\n<< /Root 1 0 R >>\nstartxref\n9\n%%EOF\n"
)


def build_world() -> SimpleNamespace:
    """Every object a URL rule can name, committed. Returns the users by role and the ids."""
    from marketplace.banking import services as banking
    from marketplace.catalog import scans
    from marketplace.catalog.models import ProductImage
    from marketplace.dashboard.models import ListingReport
    from marketplace.inquiries import attachments, messaging, moderation, rfqs
    from marketplace.inquiries import services as inquiries
    from marketplace.inquiries.models import Notification, Thread
    from marketplace.payments import services as payments
    from marketplace.producers.invitations import hash_token
    from marketplace.producers.models import ProducerClaim, ProducerInvitation, ProducerPhoto
    from marketplace.sales_points.models import CarryRequest, SalesPointPhoto
    from marketplace.traceability import services as trace
    from marketplace.traceability.validation import (
        BatchData,
        DestinationData,
        InputData,
        InspectionData,
        StepData,
        UploadedFile,
    )

    users = {
        "buyer": make_user(roles=("buyer",), name="Người mua A"),
        "buyer_b": make_user(roles=("buyer",), name="Người mua B"),
        "producer": make_user(roles=("producer",), name="Chủ HTX A"),
        "producer_b": make_user(roles=("producer",), name="Chủ HTX B"),
        "sales_point": make_user(roles=("sales_point",), name="Chủ điểm bán"),
        "organiser": make_user(roles=("organiser",), name="Ban tổ chức"),
        "admin": make_user(roles=("admin",), name="Quản trị"),
    }
    buyer, producer_user = users["buyer"], users["producer"]
    producer = make_producer(managers=[producer_user], name="HTX Mây tre Phú Vinh")
    producer_b = make_producer(managers=[users["producer_b"]], name="HTX Chè Tân Cương", district="Sóc Sơn")
    unclaimed = make_producer(name="Hộ Gốm Bát Tràng", district="Gia Lâm")
    product = make_product(producer, ref="MAY-01", name="Giỏ mây Phú Vinh")
    product_b = make_product(producer_b, ref="CHE-01", name="Chè Tân Cương", ocop_group="beverage")
    product.certificate.scan_filename = scans.store(PDF)
    image = ProductImage(product_id=product.id, filename="anh-may.jpg", thumb_filename="anh-may-t.jpg")
    producer_photo = ProducerPhoto(producer_id=producer.id, filename="htx.jpg", thumb_filename="htx-t.jpg")
    point = make_sales_point(
        products=[product_b], name="Điểm bán OCOP Hàng Bông", owner_id=users["sales_point"].id, lat=21.03, lng=105.85
    )
    point_photo = SalesPointPhoto(sales_point_id=point.id, filename="diem.jpg", thumb_filename="diem-t.jpg")
    carry = CarryRequest(sales_point_id=point.id, product_id=product.id, requested_by_id=producer_user.id)
    claim = ProducerClaim(producer_id=unclaimed.id, user_id=producer_user.id, evidence="CN-1")
    token = secrets.token_urlsafe(32)
    invitation = ProducerInvitation(
        producer_id=producer.id,
        email="moi@example.vn",
        token_hash=hash_token(token),
        created_by_id=users["admin"].id,
        expires_at=utcnow() + timedelta(days=7),
    )
    db.session.add_all([image, producer_photo, point_photo, carry, claim, invitation])
    db.session.flush()

    banking.save_account(producer_user, producer, banking.BankAccountData("970436", "0011001234567", "Nguyen Van Phu"))

    # Traceability: a published batch with one item of each kind.
    batch = trace.create_batch(
        producer_user,
        product,
        BatchData(code="LO-01", produced_on=date(2026, 11, 20), quantity=Decimal("10"), unit="kg"),
    )
    kinds = trace.ITEM_KINDS
    item_input = trace.add_item(producer_user, batch, kinds["inputs"], InputData(name="Mây", supplier="Hộ Tư"))
    trace.add_item(
        producer_user,
        batch,
        kinds["steps"],
        StepData(name="Phơi", started_on=date(2026, 11, 20), place="Phú Nghĩa"),
    )
    inspection = trace.add_item(
        producer_user,
        batch,
        kinds["inspections"],
        InspectionData(
            inspected_on=date(2026, 11, 21),
            name="Kiểm nghiệm",
            organisation="Quatest 1",
            result="Đạt",
            file=UploadedFile("kq.pdf", PDF),
        ),
    )
    trace.add_item(
        producer_user,
        batch,
        kinds["destinations"],
        DestinationData(sales_point_id=point.id, shipped_on=date(2026, 11, 22), quantity="5"),
    )
    trace.publish_batch(producer_user, batch)

    # Inquiry with a message carrying an attachment, reported by the producer.
    inquiry = inquiries.create_inquiry(
        buyer, producer, inquiries.InquiryData(quantity=100, unit="cái", message="Xin báo giá giỏ mây."), product
    )
    thread = db.session.scalar(sa.select(Thread).where(Thread.inquiry_id == inquiry.id))
    message = messaging.post_message(
        buyer, thread, "Ảnh mẫu", [attachments.Upload(filename="mau.png", data=image_bytes("PNG"))]
    )
    report = moderation.report_message(producer_user, message, "Nội dung không phù hợp")

    # RFQ with an accepted quote, payment terms and a deposit order.
    rfq = rfqs.create_rfq(
        buyer,
        rfqs.RfqData(
            title="Giỏ mây quà Tết",
            quantity=200,
            unit="cái",
            deadline=date.today() + timedelta(days=20),
            invite_producer_ids=[producer.id],
        ),
    )
    quote = rfqs.submit_quote(
        producer_user,
        rfq,
        producer,
        rfqs.QuoteData(
            unit_price_vnd=120_000, lead_time_days=10, valid_until=date.today() + timedelta(days=30), sample_offer=True
        ),
    )
    rfqs.accept_quote(buyer, quote)
    payments.set_terms(producer_user, quote, 30, 50_000)
    order = payments.create_quote_order(buyer, quote, "deposit")

    listing_report = ListingReport(product_id=product.id, reporter_id=users["buyer_b"].id, reason="Sai giá")
    notification = Notification(user_id=buyer.id, kind="test", text="Có báo giá mới", link="/rfqs")
    db.session.add_all([listing_report, notification])

    # A forum with buyer A and producer A registered, and a placed meeting between them.
    forum = make_forum(created_by=users["organiser"], fee_vnd=100_000)
    reg_buyer = make_registration(forum, buyer, "buyer")
    reg_producer = make_registration(forum, producer_user, "producer", producer=producer)
    meeting = make_meeting(forum, reg_buyer, reg_producer, slot=forum.slots[0])
    db.session.commit()

    ids = {
        "producer_id": producer.id,
        "product_id": product.id,
        "image_id": image.id,
        "photo_id": producer_photo.id,
        "point_id": point.id,
        "request_id": carry.id,
        "claim_id": claim.id,
        "batch_id": batch.id,
        "item_id": item_input.id,
        "kind": "inputs",
        "inspection_id": inspection.id,
        "inquiry_id": inquiry.id,
        "thread_id": thread.id,
        "message_id": message.id,
        "attachment_id": message.attachments[0].id,
        "report_id": report.id,
        "rfq_id": rfq.id,
        "quote_id": quote.id,
        "order_id": order.id,
        "notification_id": notification.id,
        "cert_id": product.certificate.id,
        "user_id": buyer.id,
        "forum_id": forum.id,
        "registration_id": reg_buyer.id,
        "meeting_id": meeting.id,
        "token": token,
        "ref": product.ref,
        "name": "Chương Mỹ",
        "filename": "anh-may.jpg",
    }
    return SimpleNamespace(
        users=users,
        session_ids={role: user.get_id() for role, user in users.items()},
        user_ids={role: user.id for role, user in users.items()},
        ids=ids,
        product_ref=product.ref,
        point_ref=point.ref,
        sales_point_photo_id=point_photo.id,
        producer_b_id=producer_b.id,
        product_b_id=product_b.id,
        reg_producer_id=reg_producer.id,
        invitation_token=token,
        public_code=batch.public_code,
        unclaimed_id=unclaimed.id,
        media_name=_media_file(),
        refresh_files=_media_file,
    )


def _media_file() -> str:
    from pathlib import Path

    from flask import current_app

    folder = Path(current_app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "anh-may.jpg").write_bytes(image_bytes())
    return "anh-may.jpg"


# --------------------------------------------------------------------------- snapshots

# Columns any request may change without that being a change of data (none so far: sessions are
# cookies; last_login_at moves only on a real log-in).
VOLATILE: dict[str, set[str]] = {}


def snapshot() -> dict[str, tuple[list[str], list[tuple]]]:
    """Every row of every table (sorted), by table name."""
    db.session.expire_all()
    result = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name not in VOLATILE.get(table.name, set())]
            rows = conn.execute(sa.select(*columns)).all()
            result[table.name] = ([c.name for c in columns], sorted((tuple(r) for r in rows), key=repr))
    return result


def fingerprint(snap) -> str:
    digest = hashlib.sha256()
    for name in sorted(snap):
        digest.update(name.encode())
        digest.update(repr(snap[name][1]).encode())
    return digest.hexdigest()


def diff(before, after) -> list[str]:
    """The tables whose rows differ, with a short account of what changed."""
    lines = []
    for name in sorted(before):
        old, new = {repr(r) for r in before[name][1]}, {repr(r) for r in after[name][1]}
        if old != new:
            lines.append(f"{name}: -{sorted(old - new)[:3]} +{sorted(new - old)[:3]}")
    return lines


def restore(snap, now=None) -> None:
    """Put the rows of `snap` back: in the tables that differ, new rows are deleted (children
    first), changed rows updated and missing rows inserted again (parents first)."""
    db.session.rollback()
    now = now or snapshot()
    tables = [t for t in db.metadata.sorted_tables if snap[t.name] != now[t.name]]
    with db.engine.begin() as conn:
        for table in reversed(tables):
            names, rows = snap[table.name]
            keys = [names.index(c.name) for c in table.primary_key.columns]
            wanted = {tuple(row[i] for i in keys): row for row in rows}
            for row in now[table.name][1]:
                key = tuple(row[i] for i in keys)
                if key not in wanted:
                    conn.execute(
                        table.delete().where(*(c == v for c, v in zip(table.primary_key.columns, key, strict=True)))
                    )
        for table in tables:
            names, rows = snap[table.name]
            keys = [names.index(c.name) for c in table.primary_key.columns]
            current = {tuple(row[i] for i in keys): row for row in now[table.name][1]}
            for row in rows:
                key = tuple(row[i] for i in keys)
                where = [c == v for c, v in zip(table.primary_key.columns, key, strict=True)]
                if key not in current:
                    conn.execute(table.insert().values(dict(zip(names, row, strict=True))))
                elif current[key] != row:
                    conn.execute(table.update().where(*where).values(dict(zip(names, row, strict=True))))
