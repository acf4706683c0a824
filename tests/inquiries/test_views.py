"""Pages through the test client: forms, messages, comparison, bell, limits, attachments."""

from __future__ import annotations

import io
from datetime import timedelta

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.inquiries import rfqs, services
from marketplace.inquiries.models import Attachment, BuyerProfile, Inquiry, Message, Quote, Rfq
from tests.helpers import image_bytes, make_producer, make_user
from tests.inquiries.conftest import TODAY, quote_data, rfq_data

PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\n"
    b"endobj\nxref\n0 3\n0000000000 65535 f \ntrailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n110\n%%EOF\n"
)


def _body(response) -> str:
    return response.get_data(as_text=True)


INQUIRY_FORM = {
    "quantity": "1.000",
    "unit": "hộp",
    "target_price_vnd": "95.000",
    "needed_by": (TODAY + timedelta(days=20)).isoformat(),
    "delivery_district": "Hoàn Kiếm",
    "message": "Chào anh, tôi cần chè cho dịp Tết.",
}


def test_product_page_and_storefront_link_to_the_inquiry_form(client, world, as_user):
    page = _body(client.get(f"/san-pham/{world.product_a.ref}"))
    assert f"/inquiries/new?product={world.product_a.ref}" in page
    store = _body(client.get(f"/producers/{world.producer_a.id}"))
    assert f"/inquiries/new?producer={world.producer_a.id}" in store
    assert f"/rfqs/new?invite={world.producer_a.id}" in store
    as_user(world.seller_a)  # the producer's own pages: no button
    assert "/inquiries/new" not in _body(client.get(f"/san-pham/{world.product_a.ref}"))
    unmanaged = make_producer(name="Chưa có chủ")
    db.session.commit()
    assert "/inquiries/new" not in _body(client.get(f"/producers/{unmanaged.id}"))


def test_anonymous_is_sent_to_login(client, world):
    response = client.get(f"/inquiries/new?product={world.product_a.ref}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_buyer_profile_page(client, world, as_user):
    as_user(world.buyer)
    page = _body(client.get("/buyer/profile"))
    assert "Siêu thị Xanh" in page  # prefilled from the account
    response = client.post("/buyer/profile", data={"kind": "supermarket", "organisation": "", "contact_name": "Mai"})
    assert response.status_code == 200 and "Vui lòng nhập tên tổ chức" in _body(response)
    response = client.post(
        "/buyer/profile",
        data={"kind": "horeca", "organisation": "Khách sạn Hồ Gươm", "contact_name": "Mai", "district": "Hoàn Kiếm"},
    )
    assert response.status_code == 302
    assert db.session.scalar(sa.select(BuyerProfile.organisation)) == "Khách sạn Hồ Gươm"
    as_user(world.seller_a)
    assert client.get("/buyer/profile").status_code == 403


def test_inquiry_through_the_pages(client, world, as_user):
    as_user(world.buyer)
    form = client.get(f"/inquiries/new?product={world.product_a.ref}")
    assert form.status_code == 200 and "Chè xanh Shan tuyết" in _body(form)
    bad = client.post(f"/inquiries/new?product={world.product_a.ref}", data={**INQUIRY_FORM, "quantity": "0"})
    assert bad.status_code == 200
    assert "Số lượng phải lớn hơn 0" in _body(bad) and "cho dịp Tết" in _body(bad)  # what was typed stays
    past = client.post(
        f"/inquiries/new?product={world.product_a.ref}", data={**INQUIRY_FORM, "needed_by": "2020-01-01"}
    )
    assert "quá khứ" in _body(past)
    response = client.post(f"/inquiries/new?product={world.product_a.ref}", data=INQUIRY_FORM)
    assert response.status_code == 302
    inquiry = db.session.scalar(sa.select(Inquiry))
    assert response.headers["Location"].endswith(f"/inquiries/{inquiry.id}")

    as_user(world.seller_a)
    home = _body(client.get("/"))
    assert "data-unread>1<" in home  # the bell
    inbox = _body(client.get("/messages"))
    assert "Hỏi hàng: Chè xanh Shan tuyết" in inbox and "Siêu thị Xanh" in inbox
    page = _body(client.get(f"/inquiries/{inquiry.id}"))
    assert "cho dịp Tết" in page and "1.000 hộp" in page
    assert "data-unread" not in _body(client.get("/"))  # reading the page read its notification
    empty = client.post(f"/threads/{inquiry.thread.id}/messages", data={"body": "  "})
    assert empty.status_code == 400 and "Vui lòng nhập nội dung" in _body(empty)
    reply = client.post(
        f"/threads/{inquiry.thread.id}/messages",
        data={"body": "Dạ có ạ, báo giá kèm theo.", "attachments": [(io.BytesIO(PDF), "bao-gia.pdf")]},
        content_type="multipart/form-data",
    )
    assert reply.status_code == 302
    db.session.expire_all()
    assert inquiry.status == "answered"
    [attachment] = db.session.scalars(sa.select(Attachment)).all()
    assert attachment.original_name == "bao-gia.pdf" and attachment.content_type == "application/pdf"

    as_user(world.buyer)
    page = _body(client.get(f"/inquiries/{inquiry.id}"))
    assert "báo giá kèm theo" in page and "bao-gia.pdf" in page
    download = client.get(f"/attachments/{attachment.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    download.close()
    assert client.get(f"/media/attachments/{attachment.stored_name}").status_code == 404

    assert client.post(f"/inquiries/{inquiry.id}/close").status_code == 302
    db.session.expire_all()
    assert inquiry.status == "closed"
    assert "Cuộc trao đổi này đã đóng" in _body(client.get(f"/inquiries/{inquiry.id}"))


def test_attachments_checked_by_content(client, world, as_user):
    inquiry = services.create_inquiry(
        world.buyer, world.producer_a, services.InquiryData(10, "hộp", message="Xin báo giá")
    )
    db.session.commit()
    as_user(world.buyer)
    url = f"/threads/{inquiry.thread.id}/messages"

    def send(data: bytes, name: str):
        return client.post(
            url, data={"body": "Xem tệp", "attachments": [(io.BytesIO(data), name)]}, content_type="multipart/form-data"
        )

    fake = send(b"<html><script>alert(1)</script></html>", "anh.jpg")
    assert fake.status_code == 400 and "Chỉ nhận ảnh JPEG, PNG, WebP hoặc tệp PDF" in _body(fake)
    assert "Xem tệp" in _body(fake)
    broken = send(b"%PDF-1.7\nnothing here", "hop-dong.pdf")
    assert "PDF bị hỏng" in _body(broken)
    scripted = send(PDF.replace(b"/Type /Catalog", b"/Type /Catalog /OpenAction << /S /JavaScript >>"), "x.pdf")
    assert "mã lệnh" in _body(scripted)
    # (A small limit here: Werkzeug's test client spools bodies over 500 KB to a file it never closes.)
    client.application.config["ATTACHMENT_MAX_BYTES"] = 100 * 1024
    big = send(PDF + b"%" + b"0" * (100 * 1024), "lon.pdf")
    assert "lớn hơn 100 KB" in _body(big)
    client.application.config["ATTACHMENT_MAX_BYTES"] = 5 * 1024 * 1024
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 1
    ok = send(image_bytes("PNG"), "mau.png")
    assert ok.status_code == 302
    attachment = db.session.scalar(sa.select(Attachment))
    assert attachment.content_type == "image/png" and attachment.stored_name.endswith(".png")
    assert "mau" not in attachment.stored_name
    shown = client.get(f"/attachments/{attachment.id}")
    assert shown.status_code == 200 and shown.headers["Content-Type"] == "image/png"
    assert "sandbox" in shown.headers["Content-Security-Policy"]
    shown.close()
    stored = world_path = client.application.config["UPLOAD_DIR"] / "attachments" / attachment.stored_name
    assert stored.is_file() and world_path.parent.name == "attachments"


def test_inquiry_limit_answers_429(app, client, world, as_user):
    app.config["INQUIRY_DAILY_LIMIT"] = 1
    as_user(world.buyer)
    assert client.post(f"/inquiries/new?product={world.product_a.ref}", data=INQUIRY_FORM).status_code == 302
    response = client.post(f"/inquiries/new?product={world.product_a.ref}", data=INQUIRY_FORM)
    assert response.status_code == 429
    assert "mức tối đa cho phép" in _body(response) and "cho dịp Tết" in _body(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Inquiry)) == 1


RFQ_FORM = {
    "title": "Chè xanh đóng hộp quà Tết",
    "details": "Hộp 200 g.",
    "ocop_group": "beverage",
    "quantity": "500",
    "unit": "hộp",
    "min_stars": "3",
    "target_price_vnd": "120.000",
    "deadline": (TODAY + timedelta(days=10)).isoformat(),
    "delivery_district": "Hoàn Kiếm",
    "visibility": "public",
}


def test_rfq_pages_quote_compare_accept(app, client, world, as_user):
    as_user(world.buyer)
    assert client.get("/rfqs").status_code == 200
    assert "Bạn chưa đăng yêu cầu báo giá nào" in _body(client.get("/rfqs"))
    bad = client.post("/rfqs/new", data={**RFQ_FORM, "deadline": "2026-11-30", "quantity": "-3"})
    assert bad.status_code == 200 and "Số lượng phải lớn hơn 0" in _body(bad)
    bad = client.post("/rfqs/new", data={**RFQ_FORM, "deadline": "2026-11-30"})
    assert "quá khứ" in _body(bad)
    response = client.post("/rfqs/new", data=RFQ_FORM)
    assert response.status_code == 302
    rfq = db.session.scalar(sa.select(Rfq))
    page = _body(client.get(f"/rfqs/{rfq.id}"))
    assert "Chưa có báo giá nào" in page and "HTX Chè Ba Vì" in page  # suggestions to invite

    as_user(world.seller_a)
    assert rfq.title in _body(client.get("/leads"))
    page = _body(client.get(f"/rfqs/{rfq.id}"))
    assert "Gửi báo giá" in page
    quote_form = {
        "producer_id": str(world.producer_a.id),
        "unit_price_vnd": "115.000",
        "moq": "100",
        "lead_time_days": "7",
        "valid_until": (TODAY + timedelta(days=30)).isoformat(),
        "note": "Giao tận nơi.",
        "sample_offer": "y",
    }
    bad = client.post(f"/rfqs/{rfq.id}/quotes", data={**quote_form, "unit_price_vnd": "0"})
    assert bad.status_code == 400 and "Giá phải lớn hơn 0" in _body(bad)
    response = client.post(f"/rfqs/{rfq.id}/quotes", data=quote_form)
    assert response.status_code == 302
    quote_a = db.session.scalar(sa.select(Quote).where(Quote.producer_id == world.producer_a.id))
    assert quote_a.sample_offer and quote_a.unit_price_vnd == 115_000

    as_user(world.seller_c)  # handicraft: does not fit, and cannot see it
    assert client.get(f"/rfqs/{rfq.id}").status_code == 404
    assert rfq.title not in _body(client.get("/leads"))

    as_user(world.seller_b)
    response = client.post(
        f"/rfqs/{rfq.id}/quotes",
        data={**quote_form, "producer_id": str(world.producer_b.id), "unit_price_vnd": "105.000"},
    )
    assert response.status_code == 302

    as_user(world.buyer)
    page = _body(client.get(f"/rfqs/{rfq.id}"))
    assert "So sánh báo giá" in page and "52.500.000 ₫" in page and "57.500.000 ₫" in page
    assert page.index("HTX Chè Ba Vì") < page.index("HTX Chè Tân Cương")  # cheapest first
    assert "thấp nhất" in page
    response = client.post(f"/quotes/{quote_a.id}/accept", data={"back": "rfq"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/rfqs/{rfq.id}")
    db.session.expire_all()
    assert rfq.status == "awarded"
    again = client.post(f"/quotes/{quote_a.id}/accept", follow_redirects=True)
    assert "Không thể chuyển từ trạng thái" in _body(again)

    as_user(world.seller_b)
    quote_b = db.session.scalar(sa.select(Quote).where(Quote.producer_id == world.producer_b.id))
    page = _body(client.get(f"/quotes/{quote_b.id}"))
    assert 'data-notice="declined"' in page and "Người mua đã chọn một báo giá khác" in page
    notices = _body(client.get("/notifications"))
    assert "người mua đã chọn nhà cung cấp khác" in notices


def test_rfq_limit_answers_429(app, client, world, as_user):
    app.config["RFQ_DAILY_LIMIT"] = 1
    as_user(world.buyer)
    assert client.post("/rfqs/new", data=RFQ_FORM).status_code == 302
    response = client.post("/rfqs/new", data=RFQ_FORM)
    assert response.status_code == 429 and "mức tối đa" in _body(response)


def test_invited_rfq_from_a_storefront(client, world, as_user):
    as_user(world.buyer)
    plain = _body(client.get("/rfqs/new"))  # nobody to invite: no dead-end "invited only" choice
    assert 'value="invited"' not in plain and 'data-hint="invite"' in plain
    page = _body(client.get(f"/rfqs/new?invite={world.producer_c.id}"))
    assert "HTX Mây tre Phú Vinh" in page
    assert 'value="invited"' in page and 'data-hint="invite"' not in page
    data = {
        **RFQ_FORM,
        "title": "Làn mây đựng quà",
        "ocop_group": "handicraft",
        "visibility": "invited",
        "invite": str(world.producer_c.id),
    }
    assert client.post("/rfqs/new", data=data).status_code == 302
    rfq = db.session.scalar(sa.select(Rfq))
    assert [inv.producer_id for inv in rfq.invitations] == [world.producer_c.id]
    as_user(world.seller_c)
    assert "Được mời" in _body(client.get("/leads"))
    response = client.post(f"/rfqs/{rfq.id}/decline-invitation", data={"producer_id": world.producer_c.id})
    assert response.status_code == 302
    assert rfq.invitations[0].declined


def test_notifications_pages(client, world, as_user):
    rfqs.create_rfq(world.buyer, rfq_data())
    db.session.commit()
    as_user(world.seller_a)
    page = _body(client.get("/notifications"))
    assert "Cơ hội mới cho HTX Chè Tân Cương" in page
    from marketplace.inquiries.models import Notification

    item = db.session.scalar(sa.select(Notification).where(Notification.user_id == world.seller_a.id))
    response = client.post(f"/notifications/{item.id}/open")
    assert response.status_code == 302 and response.headers["Location"].endswith(item.link)
    assert db.session.get(Notification, item.id).read_at is not None
    assert client.post("/notifications/read-all").status_code == 302
    assert client.get("/notifications/settings").status_code == 200
    assert client.post("/notifications/settings", data={"email_mode": "daily"}).status_code == 302
    assert client.post("/notifications/settings", data={"email_mode": "weekly"}).status_code == 200
    as_user(world.seller_b)  # someone else's notification
    assert client.post(f"/notifications/{item.id}/open").status_code == 404


def test_csrf_is_required(world, tmp_path, _schema):
    from config import TestConfig
    from marketplace import create_app
    from tests import helpers

    csrf_app = create_app(
        TestConfig, {"SQLALCHEMY_DATABASE_URI": _schema, "DATA_DIR": tmp_path / "d", "WTF_CSRF_ENABLED": True}
    )
    try:
        client = csrf_app.test_client()
        helpers.login(client, world.buyer)
        assert client.post("/rfqs/new", data=RFQ_FORM).status_code == 400
        assert client.post(f"/rfqs/{999}/cancel").status_code == 400
    finally:
        with csrf_app.app_context():
            db.session.remove()
            db.engine.dispose()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rfq)) == 0


def test_quote_pages_for_withdraw_and_decline(client, world, as_user):
    rfq = rfqs.create_rfq(world.buyer, rfq_data())
    quote_a = rfqs.submit_quote(world.seller_a, rfq, world.producer_a, quote_data())
    quote_b = rfqs.submit_quote(world.seller_b, rfq, world.producer_b, quote_data())
    db.session.commit()
    as_user(world.seller_a)
    assert client.post(f"/quotes/{quote_a.id}/accept").status_code == 403  # a party, not the buyer
    assert client.post(f"/quotes/{quote_a.id}/withdraw").status_code == 302
    as_user(world.buyer)
    assert client.post(f"/quotes/{quote_b.id}/withdraw").status_code == 403
    assert client.post(f"/quotes/{quote_b.id}/decline", data={"note": "Giá cao"}).status_code == 302
    db.session.expire_all()
    assert (quote_a.status, quote_b.status) == ("withdrawn", "declined")
    assert client.post(f"/rfqs/{rfq.id}/cancel").status_code == 302
    db.session.expire_all()
    assert rfq.status == "cancelled"


def test_storefront_shows_responsiveness_and_nav_links(client, world, as_user):
    from marketplace.core.models import utcnow
    from marketplace.inquiries import messaging

    inquiry = services.create_inquiry(
        world.buyer, world.producer_a, services.InquiryData(5, "hộp", message="Xin báo giá")
    )
    messaging.post_message(world.seller_a, inquiry.thread, "Dạ có ạ")
    inquiry.created_at = utcnow() - timedelta(hours=3)
    inquiry.first_response_at = inquiry.created_at + timedelta(minutes=40)
    db.session.commit()
    page = _body(client.get(f"/producers/{world.producer_a.id}"))
    assert "Phản hồi 100% yêu cầu" in page and "trong 40 phút" in page
    assert "data-responsiveness" not in _body(client.get(f"/producers/{world.producer_b.id}"))
    as_user(world.buyer)
    home = _body(client.get("/"))
    assert 'href="/rfqs"' in home and 'href="/messages"' in home and 'href="/leads"' not in home
    as_user(world.seller_a)
    home = _body(client.get("/"))
    assert 'href="/leads"' in home and 'href="/notifications"' in home


def test_wtforms_own_messages_speak_the_pages_language(client, world, as_user):
    """A bare Length(max=200) used to say "Field cannot be longer than 200 characters." on a
    Vietnamese page (core/forms.py maps WTForms' messages into our catalogue)."""
    as_user(world.buyer)
    long_title = {**RFQ_FORM, "title": "Chè " * 100}
    page = _body(client.post("/rfqs/new", data=long_title))
    assert "Tối đa 200 ký tự." in page and "Field cannot be longer" not in page
    with client.session_transaction() as session:
        session["lang"] = "en"
    page = _body(client.post("/rfqs/new", data=long_title))
    assert "At most 200 characters." in page and "Tối đa 200 ký tự." not in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rfq)) == 0


def test_a_buyer_without_profile_is_shown_how_to_add_one(client, world, as_user):
    newcomer = make_user(roles=("buyer",), name="Anh Hùng")
    db.session.commit()
    as_user(newcomer)
    response = client.post(f"/inquiries/new?product={world.product_a.ref}", data=INQUIRY_FORM)
    assert response.status_code == 302
    own = _body(client.get(response.headers["Location"]))
    assert 'data-hint="profile"' in own and 'href="/buyer/profile"' in own
    as_user(world.seller_a)
    theirs = _body(client.get(response.headers["Location"]))
    assert "Người mua chưa cập nhật hồ sơ." in theirs and 'data-hint="profile"' not in theirs
