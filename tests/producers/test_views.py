"""Producer pages through the test client: directory, storefront, dashboard, editing, claims, invitations."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import sqlalchemy as sa
from flask import g

from marketplace.core.models import utcnow
from marketplace.extensions import db
from marketplace.mail.models import OutgoingMail
from marketplace.producers.models import Producer, ProducerClaim, ProducerInvitation, ProducerPhoto
from tests import helpers
from tests.helpers import image_bytes, make_producer, make_product, make_user

FORM = {
    "name": "HTX Mây tre đan Phú Vinh",
    "kind": "cooperative",
    "district": "Chương Mỹ",
    "commune": "Phú Nghĩa",
    "craft_village": "Phú Vinh",
    "address": "Thôn Phú Vinh",
    "story": "Nghề mây tre có từ thế kỷ 17.\n<script>alert(1)</script>",
    "phone": "0243 123 456",
    "email": "lienhe@phuvinh.vn",
    "website": "https://phuvinh.vn",
    "certifications": ["vietgap", "organic"],
    "other_certifications": "Nhãn hiệu riêng",
    "lat": "20,9",
    "lng": "105.7",
}


def login(client, user) -> None:
    """Switch the logged-in user; the fixture's app context (and Flask-Login's cached user in g) outlives requests."""
    g.pop("_login_user", None)
    helpers.login(client, user)


def logout(client) -> None:
    g.pop("_login_user", None)
    with client.session_transaction() as sess:
        sess.clear()


def _body(response) -> str:
    return response.get_data(as_text=True)


# --------------------------------------------------------------------------- directory


def test_directory_lists_and_filters(client):
    make_producer(name="HTX Rau Vân Nội", district="Đông Anh")
    make_producer(name="HTX Gốm", district="Gia Lâm", craft_village="Bát Tràng")
    db.session.commit()
    body = _body(client.get("/producers"))
    assert "HTX Rau Vân Nội" in body and "HTX Gốm" in body
    body = _body(client.get("/producers?q=dong+anh"))
    assert "HTX Rau Vân Nội" in body and "HTX Gốm" not in body
    body = _body(client.get("/producers?district=dong%20anh"))
    assert "HTX Rau Vân Nội" in body and "HTX Gốm" not in body
    body = _body(client.get("/producers?craft_village=B%C3%A1t+Tr%C3%A0ng&kind=cooperative&page=abc"))
    assert "HTX Gốm" in body and "HTX Rau Vân Nội" not in body


def test_directory_empty_states(client):
    assert "Chưa có nhà sản xuất nào." in _body(client.get("/producers"))
    make_producer(name="A")
    db.session.commit()
    assert "Không có nhà sản xuất nào khớp" in _body(client.get("/producers?q=zzz"))


def test_directory_shows_count_and_stars(client):
    producer = make_producer(name="HTX Sao")
    make_product(producer, stars=4)
    make_product(producer, stars=3)
    db.session.commit()
    body = _body(client.get("/producers"))
    assert "2 sản phẩm" in body
    assert "OCOP 4 sao" in body


def _statements_for(client, url: str) -> int:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def test_directory_avoids_n_plus_one(client, app):
    for n in range(2):
        make_product(make_producer(name=f"P{n:02d}"))
    db.session.commit()
    few = [_statements_for(client, url) for url in ("/producers", "/producers?q=p")]
    for n in range(2, 14):
        make_product(make_producer(name=f"P{n:02d}"))
    db.session.commit()
    assert [_statements_for(client, url) for url in ("/producers", "/producers?q=p")] == few


# --------------------------------------------------------------------------- storefront


def test_storefront_shows_details_and_public_products(client):
    producer = make_producer(
        name="HTX Lụa",
        district="Hà Đông",
        commune="Vạn Phúc",
        craft_village="Vạn Phúc",
        story="Dòng một\n<b>đậm</b>",
        phone="0912 345 678",
        website="https://lua.vn",
        certifications="vietgap;Nhãn riêng",
        lat=20.98,
        lng=105.77,
    )
    make_product(producer, name="Khăn lụa tơ tằm", price_min_vnd=250000, price_max_vnd=400000)
    make_product(producer, name="Bản nháp bí mật", status="draft")
    make_product(producer, name="Sản phẩm bị ẩn", hidden=True)
    db.session.commit()
    body = _body(client.get(f"/producers/{producer.id}"))
    assert "HTX Lụa" in body and "Hợp tác xã" in body and "Làng nghề Vạn Phúc" in body
    assert "&lt;b&gt;đậm&lt;/b&gt;" in body and "<b>đậm</b>" not in body
    assert "Khăn lụa tơ tằm" in body and "250.000 – 400.000 ₫" in body
    assert "Bản nháp bí mật" not in body and "Sản phẩm bị ẩn" not in body
    assert "VietGAP" in body and "Nhãn riêng" in body
    assert 'href="https://lua.vn"' in body
    assert "openstreetmap.org/?mlat=20.98&amp;mlon=105.77" in body
    assert "Sửa gian hàng" not in body
    assert "Chưa có người quản lý" in body


def test_storefront_never_links_a_bad_website_from_imported_data(client):
    producer = make_producer(website="javascript:alert(1)")
    db.session.commit()
    body = _body(client.get(f"/producers/{producer.id}"))
    assert "javascript:alert" not in body


def test_storefront_for_a_manager_and_for_claimers(client):
    owner = make_user(roles=("producer",))
    managed = make_producer(managers=[owner])
    make_product(managed, status="draft")
    unmanaged = make_producer()
    db.session.commit()
    login(client, owner)
    body = _body(client.get(f"/producers/{managed.id}"))
    assert "Sửa gian hàng" in body and "1 sản phẩm nháp" in body
    assert "Chưa có người quản lý" not in body
    body = _body(client.get(f"/producers/{unmanaged.id}"))
    assert "Sửa gian hàng" not in body
    assert f'href="/producers/{unmanaged.id}/claim"' in body


def test_storefront_unknown_id_is_404(client):
    assert client.get("/producers/999999").status_code == 404


def test_storefront_paginates_products(client):
    producer = make_producer()
    for n in range(14):
        make_product(producer, name=f"SP {n:02d}")
    db.session.commit()
    first = _body(client.get(f"/producers/{producer.id}"))
    second = _body(client.get(f"/producers/{producer.id}?page=2"))
    names = [f"SP {n:02d}" for n in range(14)]
    assert [n for n in names if n in first] == names[:12]
    assert [n for n in names if n in second] == names[12:]


# --------------------------------------------------------------------------- dashboard and editing


def test_dashboard_lists_products_in_every_status(client):
    owner = make_user(roles=("producer",))
    producer = make_producer(managers=[owner], name="HTX Của Tôi")
    names = {
        status: make_product(producer, status=status, name=f"SP {status}").name
        for status in ("draft", "published", "archived")
    }
    make_product(producer, name="SP ẩn", hidden=True)
    make_product(make_producer(name="HTX Khác"), name="SP người khác")
    db.session.commit()
    login(client, owner)
    body = _body(client.get("/my/producers"))
    for name in [*names.values(), "SP ẩn"]:
        assert name in body
    assert "SP người khác" not in body and "HTX Khác" not in body
    assert "Bị ẩn bởi ban tổ chức" in body and "Nháp" in body and "Đã lưu trữ" in body
    assert f"/my/products/new?producer_id={producer.id}" in body


def test_dashboard_empty_state(client):
    login(client, make_user(roles=("producer",)))
    db.session.commit()
    body = _body(client.get("/my/producers"))
    assert "Bạn chưa quản lý gian hàng nào." in body and "Tạo gian hàng mới" in body


def test_create_producer_via_form(client):
    user = make_user(roles=("producer",))
    db.session.commit()
    login(client, user)
    assert client.get("/my/producers/new").status_code == 200
    response = client.post("/my/producers/new", data=FORM)
    assert response.status_code == 302
    producer = db.session.scalars(sa.select(Producer)).one()
    assert producer.is_managed_by(user)
    assert (producer.lat, producer.lng, producer.certifications) == (20.9, 105.7, "vietgap;organic;Nhãn hiệu riêng")


def test_create_duplicate_shows_a_clear_error_and_keeps_input(client):
    make_producer(name=FORM["name"], district=FORM["district"])
    user = make_user(roles=("producer",))
    db.session.commit()
    login(client, user)
    response = client.post("/my/producers/new", data=FORM)
    body = _body(response)
    assert response.status_code == 200
    assert "Đã có cơ sở tên" in body
    assert 'value="Thôn Phú Vinh"' in body
    assert db.session.scalar(sa.select(sa.func.count(Producer.id))) == 1


def test_edit_refuses_a_javascript_website(client):
    owner = make_user(roles=("producer",))
    producer = make_producer(managers=[owner], website="https://cu.vn")
    db.session.commit()
    login(client, owner)
    response = client.post(f"/my/producers/{producer.id}/edit", data={**FORM, "website": "javascript:alert(1)"})
    assert response.status_code == 200
    assert "Website phải bắt đầu bằng http:// hoặc https://." in _body(response)
    db.session.expire_all()
    assert db.session.get(Producer, producer.id).website == "https://cu.vn"


def test_edit_validates_coordinates(client):
    owner = make_user(roles=("producer",))
    producer = make_producer(managers=[owner])
    db.session.commit()
    login(client, owner)
    body = _body(client.post(f"/my/producers/{producer.id}/edit", data={**FORM, "lat": "95"}))
    assert "Vĩ độ phải nằm trong khoảng -90 đến 90." in body
    body = _body(client.post(f"/my/producers/{producer.id}/edit", data={**FORM, "lng": "abc"}))
    assert "Vui lòng nhập một số" in body


def test_edit_form_prefills_and_saves(client):
    owner = make_user(roles=("producer",))
    producer = make_producer(managers=[owner], name="Cũ", certifications="vietgap;Riêng")
    db.session.commit()
    login(client, owner)
    body = _body(client.get(f"/my/producers/{producer.id}/edit"))
    assert 'value="Cũ"' in body and 'value="Riêng"' in body
    assert 'list="craft-villages"' in body and '<datalist id="craft-villages">' in body
    response = client.post(f"/my/producers/{producer.id}/edit", data=FORM)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Producer, producer.id).name == FORM["name"]


def test_photo_upload_refuses_a_fake_image_with_a_message(client):
    owner = make_user(roles=("producer",))
    producer = make_producer(managers=[owner])
    db.session.commit()
    login(client, owner)
    response = client.post(
        f"/my/producers/{producer.id}/photos",
        data={"photos": [(io.BytesIO(image_bytes()), "xuong.jpg"), (io.BytesIO(b"<html></html>"), "gia.jpg")]},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    body = _body(response)
    assert response.status_code == 200
    assert "Đã thêm 1 ảnh." in body
    assert "gia.jpg: Tệp không phải là ảnh hợp lệ" in body
    photo = db.session.scalars(sa.select(ProducerPhoto)).one()
    with client.get(f"/media/{photo.thumb_filename}") as media:
        assert media.status_code == 200
    assert photo.thumb_filename in _body(client.get(f"/producers/{producer.id}"))


def test_photo_upload_without_files(client):
    owner = make_user(roles=("producer",))
    producer = make_producer(managers=[owner])
    db.session.commit()
    login(client, owner)
    body = _body(client.post(f"/my/producers/{producer.id}/photos", data={}, follow_redirects=True))
    assert "Vui lòng chọn ít nhất một ảnh." in body


def test_photo_delete(client, app):
    owner = make_user(roles=("producer",))
    producer = make_producer(managers=[owner])
    db.session.commit()
    login(client, owner)
    client.post(
        f"/my/producers/{producer.id}/photos",
        data={"photos": [(io.BytesIO(image_bytes()), "a.jpg")]},
        content_type="multipart/form-data",
    )
    photo = db.session.scalars(sa.select(ProducerPhoto)).one()
    path = app.config["UPLOAD_DIR"] / photo.filename
    assert path.exists()
    response = client.post(f"/my/producers/{producer.id}/photos/{photo.id}/delete")
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(ProducerPhoto.id))) == 0
    assert not path.exists()


# --------------------------------------------------------------------------- claims


def test_claim_then_approve_through_the_pages(client):
    producer = make_producer(name="HTX Nhận")
    product = make_product(producer)
    claimer = make_user(roles=("producer",))
    organiser = make_user(roles=("organiser",))
    db.session.commit()
    number = product.certificate.number
    login(client, claimer)
    assert "Số giấy chứng nhận OCOP" in _body(client.get(f"/producers/{producer.id}/claim"))
    response = client.post(
        f"/producers/{producer.id}/claim", data={"evidence": number.upper(), "message": "Tôi là chủ nhiệm"}
    )
    assert response.status_code == 302
    assert "Đang chờ duyệt" in _body(client.get("/my/producers"))
    again = client.post(f"/producers/{producer.id}/claim", data={"evidence": number}, follow_redirects=True)
    assert "Bạn đã gửi yêu cầu" in _body(again)
    assert db.session.scalar(sa.select(sa.func.count(ProducerClaim.id))) == 1

    login(client, organiser)
    body = _body(client.get("/admin/claims"))
    assert "HTX Nhận" in body and "Khớp chứng nhận của cơ sở" in body and "Tôi là chủ nhiệm" in body
    claim = db.session.scalars(sa.select(ProducerClaim)).one()
    response = client.post(f"/admin/claims/{claim.id}/approve", follow_redirects=True)
    assert "Đã duyệt" in _body(response)
    db.session.expire_all()
    claim = db.session.get(ProducerClaim, claim.id)
    assert claim.status == "approved" and claim.decided_by_id == organiser.id and claim.decided_at
    assert db.session.get(Producer, producer.id).is_managed_by(claimer)
    assert db.session.scalars(sa.select(OutgoingMail)).one().to == claimer.email
    assert "Không có yêu cầu nào đang chờ duyệt." in _body(client.get("/admin/claims"))

    login(client, claimer)
    assert "Đã duyệt" in _body(client.get("/my/producers"))
    refused = client.get(f"/producers/{producer.id}/claim", follow_redirects=True)
    assert "đã có người quản lý" in _body(refused)


def test_claim_reject_requires_a_reason(client):
    producer = make_producer()
    claimer = make_user(roles=("producer",))
    organiser = make_user(roles=("admin",))
    db.session.commit()
    login(client, claimer)
    client.post(f"/producers/{producer.id}/claim", data={"evidence": "sai/123"})
    claim = db.session.scalars(sa.select(ProducerClaim)).one()
    login(client, organiser)
    assert "Không khớp chứng nhận nào" in _body(client.get("/admin/claims"))
    body = _body(client.post(f"/admin/claims/{claim.id}/reject", data={"reason": " "}, follow_redirects=True))
    assert "Vui lòng nêu lý do từ chối." in body
    db.session.expire_all()
    assert db.session.get(ProducerClaim, claim.id).status == "pending"
    client.post(f"/admin/claims/{claim.id}/reject", data={"reason": "Số không có trong hồ sơ."})
    db.session.expire_all()
    claim = db.session.get(ProducerClaim, claim.id)
    assert (claim.status, claim.reason, claim.decided_by_id) == ("rejected", "Số không có trong hồ sơ.", organiser.id)
    assert not db.session.get(Producer, producer.id).managers
    assert "Số không có trong hồ sơ." in db.session.scalars(sa.select(OutgoingMail)).one().body
    login(client, claimer)
    body = _body(client.get("/my/producers"))
    assert "Bị từ chối" in body and "Số không có trong hồ sơ." in body


def test_claim_requires_evidence(client):
    producer = make_producer()
    claimer = make_user(roles=("producer",))
    db.session.commit()
    login(client, claimer)
    body = _body(client.post(f"/producers/{producer.id}/claim", data={"evidence": ""}))
    assert "Vui lòng nhập số giấy chứng nhận OCOP." in body
    assert db.session.scalar(sa.select(sa.func.count(ProducerClaim.id))) == 0


def test_claim_unknown_ids_are_404(client):
    organiser = make_user(roles=("organiser",))
    db.session.commit()
    login(client, organiser)
    assert client.post("/admin/claims/424242/approve").status_code == 404
    assert client.post("/admin/claims/424242/reject", data={"reason": "x"}).status_code == 404
    assert client.get("/admin/producers/424242/invite").status_code == 404


# --------------------------------------------------------------------------- invitations


def _invite(client, organiser, producer, email="chu@example.vn") -> str:
    login(client, organiser)
    response = client.post(f"/admin/producers/{producer.id}/invite", data={"email": email})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = _body(response)
    match = re.search(r"/invitations/([A-Za-z0-9_-]{40,})", body)
    assert match, body
    return match.group(1)


def test_invitation_flow_single_use(client):
    producer = make_producer(name="HTX Được Mời")
    organiser = make_user(roles=("organiser",))
    invitee = make_user(roles=("buyer",), email="chu@example.vn")
    stranger = make_user(roles=("buyer",), email="nguoi-la@example.vn")
    db.session.commit()
    token = _invite(client, organiser, producer)
    invitation = db.session.scalars(sa.select(ProducerInvitation)).one()
    assert invitation.token_hash != token and token not in invitation.token_hash
    mail = db.session.scalars(sa.select(OutgoingMail)).one()
    assert mail.to == "chu@example.vn" and f"/invitations/{token}" in mail.body
    assert "chu@example.vn" in _body(client.get(f"/admin/producers/{producer.id}/invite"))
    assert token not in _body(client.get(f"/admin/producers/{producer.id}/invite"))

    login(client, stranger)  # a forwarded link: refused, and the invitation stays usable
    response = client.get(f"/invitations/{token}")
    assert response.status_code == 403 and "c•••@example.vn" in _body(response)
    assert client.post(f"/invitations/{token}").status_code == 403
    db.session.expire_all()
    assert not db.session.get(Producer, producer.id).managers

    login(client, invitee)
    body = _body(client.get(f"/invitations/{token}"))
    assert "HTX Được Mời" in body and "Nhận quản lý gian hàng" in body
    db.session.expire_all()
    assert not db.session.get(Producer, producer.id).managers  # GET changes nothing
    response = client.post(f"/invitations/{token}")
    assert response.status_code == 302 and response.headers["Location"].endswith("/my/producers")
    db.session.expire_all()
    invitee = db.session.get(type(invitee), invitee.id)
    assert db.session.get(Producer, producer.id).is_managed_by(invitee)
    assert invitee.has_role("producer")
    assert "HTX Được Mời" in _body(client.get("/my/producers"))

    other = make_user(roles=("buyer",))
    db.session.commit()
    login(client, other)
    response = client.get(f"/invitations/{token}")
    assert response.status_code == 410 and "đã được sử dụng" in _body(response)
    assert client.post(f"/invitations/{token}").status_code == 410
    db.session.expire_all()
    assert not db.session.get(Producer, producer.id).is_managed_by(other)


def test_invitation_expired_and_unknown_pages(client):
    producer = make_producer()
    organiser = make_user(roles=("organiser",))
    invitee = make_user()
    db.session.commit()
    token = _invite(client, organiser, producer)
    invitation = db.session.scalars(sa.select(ProducerInvitation)).one()
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    login(client, invitee)
    response = client.post(f"/invitations/{token}")
    assert response.status_code == 410 and "đã hết hạn" in _body(response)
    response = client.get("/invitations/khong-co-loi-moi-nay")
    assert response.status_code == 404 and "không tồn tại" in _body(response)
    db.session.expire_all()
    assert not db.session.get(Producer, producer.id).managers


def test_invitation_needs_a_logged_in_verified_account(client):
    producer = make_producer()
    organiser = make_user(roles=("organiser",))
    unverified = make_user(verified=False)
    db.session.commit()
    token = _invite(client, organiser, producer)
    logout(client)
    response = client.get(f"/invitations/{token}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(client, unverified)
    response = client.post(f"/invitations/{token}")
    assert response.status_code == 302 and "/login" not in response.headers["Location"]
    db.session.expire_all()
    assert db.session.scalars(sa.select(ProducerInvitation)).one().used_at is None


def test_invite_form_validates_email(client):
    producer = make_producer()
    organiser = make_user(roles=("organiser",))
    db.session.commit()
    login(client, organiser)
    body = _body(client.post(f"/admin/producers/{producer.id}/invite", data={"email": "khong-hop-le"}))
    assert "Địa chỉ email không hợp lệ." in body
    assert db.session.scalar(sa.select(sa.func.count(ProducerInvitation.id))) == 0
