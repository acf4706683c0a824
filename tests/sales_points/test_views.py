"""Sales point pages through the test client: registry, point page, open data, applying,
products and stock, the review queue, producers' view and requests, "where to buy"."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import sqlalchemy as sa

from marketplace.core.dates import HANOI
from marketplace.extensions import db
from marketplace.mail.models import OutgoingMail
from marketplace.sales_points import hours
from marketplace.sales_points.models import CarryRequest, SalesPoint, SalesPointProduct, SalesPointReview
from tests.helpers import image_bytes, make_sales_point

FORM = {
    "name": "Cửa hàng OCOP Phố Cổ",
    "kind": "shop",
    "district": "Hoàn Kiếm",
    "commune": "Hàng Bạc",
    "address": "10 Hàng Bạc",
    "lat": "21,0335",
    "lng": "105.8532",
    "opening_hours": "8h-21h",
    "phone": "024 3826 1234",
    "display_area_m2": "20",
    "description": "Gian trưng bày riêng.\n<script>alert(1)</script>",
}


def body(response) -> str:
    return response.get_data(as_text=True)


# --------------------------------------------------------------------------- public pages


def test_registry_lists_approved_points_with_map_data_and_filters(client, world, monkeypatch):
    monkeypatch.setattr(hours, "local_now", lambda: datetime(2026, 12, 1, 23, 0, tzinfo=HANOI))
    page = body(client.get("/diem-ban"))
    assert "Điểm OCOP Hàng Trống" in page and "Siêu thị OCOP Long Biên" in page
    assert "Cửa hàng chờ duyệt" not in page
    assert "vendor/leaflet/leaflet.js" in page and "js/sales_points_map.js" in page
    assert "unpkg" not in page and "cdn" not in page.lower()
    data = re.search(r'<script type="application/json" id="sp-map-data">(.*?)</script>', page, re.S).group(1)
    assert '"ref": "SP-HK"' in data and '"ref": "SP-NEW"' not in data
    assert 'data-tile-url="https://tile.openstreetmap.org/{z}/{x}/{y}.png"' in page
    assert "/diem-ban/du-lieu-mo.csv" in page and "/diem-ban/du-lieu-mo.geojson" in page

    filtered = body(client.get("/diem-ban?kind=mall"))
    assert "Siêu thị OCOP Long Biên" in filtered and "Điểm OCOP Hàng Trống" not in filtered
    assert "kind=mall" in filtered  # the export links keep the filters
    assert "Điểm OCOP Hàng Trống" in body(client.get("/diem-ban?group=food"))
    assert "Siêu thị OCOP Long Biên" not in body(client.get("/diem-ban?group=food"))
    late = body(client.get("/diem-ban?open=1"))  # 23:00: only the 24-hour point is open
    assert "Siêu thị OCOP Long Biên" in late and "Điểm OCOP Hàng Trống" not in late
    empty = body(client.get("/diem-ban?district=Ba+Vì"))
    assert "Không có điểm bán nào khớp bộ lọc." in empty
    near = body(client.get("/diem-ban?near=21.047,105.876"))
    assert near.index("Siêu thị OCOP Long Biên") < near.index("Điểm OCOP Hàng Trống") and " km" in near
    # junk is ignored, never an error
    assert client.get("/diem-ban?near=abc&page=-3&kind=%00&district=<b>").status_code == 200


def test_registry_without_tiles(client, app, world):
    app.config["MAP_TILE_URL"] = ""
    page = body(client.get("/diem-ban"))
    assert 'data-tile-url=""' in page and "Điểm OCOP Hàng Trống" in page


def test_registry_paginates(client, world):
    for n in range(25):
        make_sales_point([], ref=f"SP-X{n:02d}", district="Ba Đình", name=f"Điểm phụ {n:02d}")
    db.session.commit()
    first = body(client.get("/diem-ban?district=Ba+Đình"))
    assert "25 điểm bán" in first
    assert "Điểm phụ 00" in first and "Điểm phụ 24" not in first and 'rel="next"' in first
    assert "Điểm phụ 24" in body(client.get("/diem-ban?district=Ba+Đình&page=2"))


def test_point_page_shows_products_and_hides_non_public_points(client, world, as_user):
    page = body(client.get("/diem-ban/SP-HK"))
    assert "Điểm OCOP Hàng Trống" in page and "Gạo nếp cái hoa vàng" in page and "Còn hàng" in page
    assert "08:00-21:00" in page and "Sửa thông tin" not in page
    assert client.get("/diem-ban/SP-NEW").status_code == 404
    assert client.get("/diem-ban/NO-SUCH").status_code == 404
    as_user(world.other_operator)
    assert client.get("/diem-ban/SP-NEW").status_code == 404
    as_user(world.operator)
    own = body(client.get("/diem-ban/SP-NEW"))
    assert "chưa hiển thị công khai" in own
    assert "Sửa thông tin" in body(client.get("/diem-ban/SP-HK"))
    as_user(world.organiser)
    assert client.get("/diem-ban/SP-NEW").status_code == 200


def test_point_page_escapes_user_text(client, world):
    world.point.description = "<script>alert(1)</script>"
    world.point.name = "<b>Điểm</b>"
    db.session.commit()
    page = body(client.get("/diem-ban/SP-HK"))
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "<b>Điểm</b>" not in body(client.get("/diem-ban"))


def test_open_data_exports(client, world):
    response = client.get("/diem-ban/du-lieu-mo.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert [r["ref"] for r in rows] == ["SP-HK", "SP-LB"]
    assert rows[0]["product_refs"] == "P-RICE"
    geo = client.get("/diem-ban/du-lieu-mo.geojson?district=Long+Biên")
    assert geo.status_code == 200 and geo.mimetype == "application/geo+json"
    features = geo.get_json()["features"]
    assert [f["properties"]["ref"] for f in features] == ["SP-LB"]
    assert features[0]["properties"]["url"].endswith("/diem-ban/SP-LB")


def test_product_page_where_to_buy(client, world):
    world.foreign.products.append(world.rice)
    db.session.commit()
    db.session.execute(
        sa.update(SalesPointProduct).where(SalesPointProduct.sales_point_id == world.foreign.id).values(in_stock=False)
    )
    db.session.commit()
    page = body(client.get("/san-pham/P-RICE"))
    assert "Nơi mua" in page
    assert 'data-where-to-buy data-product="P-RICE"' in page and 'data-api="/api/v1/sales-points"' in page
    assert 'data-ref="SP-HK"' in page and 'data-ref="SP-LB"' in page
    assert 'href="/diem-ban/SP-HK"' in page and "Tạm hết hàng" in page
    assert "js/where_to_buy.js" in page
    assert "Cửa hàng chờ duyệt" not in page


# --------------------------------------------------------------------------- operators


def test_apply_then_choose_products(client, world, as_user):
    as_user(world.operator)
    assert "Đăng ký điểm giới thiệu" in body(client.get("/my/sales-points/new"))
    response = client.post(
        "/my/sales-points/new",
        data={**FORM, "photos": [(io.BytesIO(image_bytes()), "mat-tien.jpg")]},
        content_type="multipart/form-data",
    )
    point = db.session.scalar(sa.select(SalesPoint).where(SalesPoint.name == "Cửa hàng OCOP Phố Cổ"))
    assert response.status_code == 302 and response.location.endswith(f"/my/sales-points/{point.id}/products")
    assert point.status == "pending" and point.owner_id == world.operator.id
    assert point.lat == 21.0335 and point.opening_hours == "08:00-21:00" and len(point.photos) == 1

    found = body(client.get(f"/my/sales-points/{point.id}/products?q=lan+may"))
    assert "Làn mây đan tay" in found
    response = client.post(
        f"/my/sales-points/{point.id}/products/add", data={"product_id": world.basket.id, "q": "lan may"}
    )
    assert response.status_code == 302 and "q=lan" in response.location
    assert [p.ref for p in db.session.get(SalesPoint, point.id).products] == ["P-BASKET"]
    client.post(f"/my/sales-points/{point.id}/products/add", data={"product_id": world.rice.id})
    client.post(f"/my/sales-points/{point.id}/stock", data={"in_stock": [str(world.rice.id)]})
    flags = dict(
        db.session.execute(
            sa.select(SalesPointProduct.product_id, SalesPointProduct.in_stock).where(
                SalesPointProduct.sales_point_id == point.id
            )
        ).all()
    )
    assert flags == {world.basket.id: False, world.rice.id: True}
    client.post(f"/my/sales-points/{point.id}/products/remove", data={"product_id": world.basket.id})
    assert [p.ref for p in db.session.get(SalesPoint, point.id).products] == ["P-RICE"]
    dashboard = body(client.get("/my/sales-points"))
    assert "Cửa hàng OCOP Phố Cổ" in dashboard and "Chờ duyệt" in dashboard


def test_apply_bad_input_keeps_what_was_typed(client, world, as_user):
    as_user(world.operator)
    before = db.session.scalar(sa.select(sa.func.count(SalesPoint.id)))
    response = client.post("/my/sales-points/new", data={**FORM, "opening_hours": "sáng thứ Hai", "lat": "abc"})
    page = body(response)
    assert response.status_code == 200
    assert "Vui lòng nhập một số" in page
    assert 'value="Cửa hàng OCOP Phố Cổ"' in page and 'value="10 Hàng Bạc"' in page
    response = client.post("/my/sales-points/new", data={**FORM, "opening_hours": "sáng thứ Hai"})
    assert "Giờ mở cửa có dạng 08:00-21:00" in body(response)
    response = client.post("/my/sales-points/new", data={**FORM, "name": "", "kind": "castle"})
    assert "Vui lòng nhập tên điểm bán." in body(response) and "Lựa chọn không hợp lệ." in body(response)
    response = client.post(
        "/my/sales-points/new",
        data={**FORM, "photos": [(io.BytesIO(b"<html>not an image"), "anh.jpg")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200 and "anh.jpg" in body(response)
    assert db.session.scalar(sa.select(sa.func.count(SalesPoint.id))) == before


def test_edit_own_point_and_photos(client, world, as_user):
    as_user(world.operator)
    form = body(client.get(f"/my/sales-points/{world.point.id}/edit"))
    assert 'value="Điểm OCOP Hàng Trống"' in form and "data-sales-point-picker" in form
    response = client.post(f"/my/sales-points/{world.point.id}/edit", data={**FORM, "name": "Điểm OCOP Hàng Trống mới"})
    assert response.status_code == 302
    assert db.session.get(SalesPoint, world.point.id).name == "Điểm OCOP Hàng Trống mới"
    client.post(
        f"/my/sales-points/{world.point.id}/photos",
        data={"photos": [(io.BytesIO(image_bytes("PNG")), "a.png"), (io.BytesIO(b"xx"), "b.png")]},
        content_type="multipart/form-data",
    )
    point = db.session.get(SalesPoint, world.point.id)
    assert len(point.photos) == 1
    assert "b.png" in body(client.get(f"/my/sales-points/{world.point.id}/edit"))  # the flashed error
    photo = point.photos[0]
    assert client.post(f"/my/sales-points/{world.point.id}/photos/{photo.id}/delete").status_code == 302
    assert db.session.get(SalesPoint, world.point.id).photos == []
    assert client.post(f"/my/sales-points/{world.point.id}/photos/{photo.id}/delete").status_code == 404


def test_rejected_point_shows_reason_and_resubmits(client, world, as_user):
    as_user(world.organiser)
    client.post(f"/admin/sales-points/{world.pending.id}/reject", data={"reason": "Thiếu ảnh khu trưng bày"})
    as_user(world.operator)
    assert "Thiếu ảnh khu trưng bày" in body(client.get("/my/sales-points"))
    client.post(f"/my/sales-points/{world.pending.id}/edit", data=FORM)
    assert db.session.get(SalesPoint, world.pending.id).status == "pending"


# --------------------------------------------------------------------------- organisers


def test_review_queue_approve_with_checklist(client, world, as_user):
    as_user(world.organiser)
    queue = body(client.get("/admin/sales-points"))
    assert "Cửa hàng chờ duyệt" in queue and "Điểm OCOP Hàng Trống" not in queue
    review = body(client.get(f"/admin/sales-points/{world.pending.id}"))
    assert "Quyết định 950" in review and "check_display" in review
    # a missing checklist item: not approved, the form comes back with the message
    partial = {"check_place": "y", "check_products": "y", "check_contact": "y"}
    response = client.post(f"/admin/sales-points/{world.pending.id}/approve", data=partial)
    assert response.status_code == 200 and "đạt đủ các tiêu chí" in body(response)
    assert db.session.get(SalesPoint, world.pending.id).status == "pending"
    response = client.post(
        f"/admin/sales-points/{world.pending.id}/approve", data={**partial, "check_display": "y", "reason": "Tốt"}
    )
    assert response.status_code == 302
    assert db.session.get(SalesPoint, world.pending.id).status == "approved"
    record = db.session.scalar(sa.select(SalesPointReview))
    assert record.reviewer_id == world.organiser.id and record.decision == "approved" and all(record.checklist.values())
    assert db.session.scalar(sa.select(OutgoingMail).where(OutgoingMail.to == world.operator.email)) is not None
    assert "Cửa hàng chờ duyệt" in body(client.get("/diem-ban"))
    history = body(client.get(f"/admin/sales-points/{world.pending.id}"))
    assert "Lịch sử xét duyệt" in history and "4/4 tiêu chí" in history


def test_reject_needs_reason_then_suspend_and_reinstate(client, world, as_user):
    as_user(world.admin)
    response = client.post(f"/admin/sales-points/{world.pending.id}/reject", data={"reason": " "})
    assert response.status_code == 200 and "Vui lòng nêu lý do từ chối" in body(response)
    client.post(f"/admin/sales-points/{world.pending.id}/reject", data={"reason": "Không phải điểm bán cố định"})
    assert db.session.get(SalesPoint, world.pending.id).status == "rejected"
    response = client.post(f"/admin/sales-points/{world.point.id}/suspend", data={"reason": ""})
    assert "Vui lòng nêu lý do tạm ngừng." in body(response)
    client.post(f"/admin/sales-points/{world.point.id}/suspend", data={"reason": "Không còn sản phẩm OCOP"})
    assert db.session.get(SalesPoint, world.point.id).status == "suspended"
    assert client.get("/diem-ban/SP-HK").status_code == 200  # admin still sees it
    assert "Điểm OCOP Hàng Trống" not in body(client.get("/diem-ban"))
    assert "Điểm OCOP Hàng Trống" in body(client.get("/admin/sales-points?status=suspended"))
    client.post(f"/admin/sales-points/{world.point.id}/reinstate", data={"reason": ""})
    assert db.session.get(SalesPoint, world.point.id).status == "approved"
    # a decision on a stale status is refused with a message, nothing recorded
    response = client.post(f"/admin/sales-points/{world.point.id}/reinstate", data={}, follow_redirects=True)
    assert "Trạng thái điểm bán đã thay đổi" in body(response)
    assert db.session.scalar(sa.select(sa.func.count(SalesPointReview.id))) == 3


# --------------------------------------------------------------------------- producers and requests


def test_producer_view_and_carry_request_flow(client, world, as_user):
    as_user(world.producer_user)
    page = body(client.get("/my/producers/sales-points"))
    assert "Gạo nếp cái hoa vàng" in page and "Điểm OCOP Hàng Trống" in page
    assert "Chưa có điểm bán nào" in page  # the tea
    response = client.post(
        "/my/producers/carry-requests",
        data={"product_id": world.tea.id, "sales_point_id": world.foreign.id, "message": "Trà sen mùa mới"},
    )
    assert response.status_code == 302
    carry = db.session.scalar(sa.select(CarryRequest))
    assert carry.status == "pending" and carry.requested_by_id == world.producer_user.id
    again = client.post(
        "/my/producers/carry-requests", data={"product_id": world.tea.id, "sales_point_id": world.foreign.id}
    )
    assert again.status_code == 200 and "đang chờ" in body(again)
    bad = client.post("/my/producers/carry-requests", data={"product_id": world.tea.id, "sales_point_id": 0})
    assert "Vui lòng chọn điểm bán." in body(bad)

    as_user(world.other_operator)
    dashboard = body(client.get("/my/sales-points"))
    assert "Trà sen mùa mới" in dashboard and "Nhận bày bán" in dashboard
    response = client.post(f"/my/carry-requests/{carry.id}/accept", data={"response": "Đồng ý"})
    assert response.status_code == 302
    assert db.session.get(CarryRequest, carry.id).status == "accepted"
    assert {p.ref for p in db.session.get(SalesPoint, world.foreign.id).products} == {"P-BASKET", "P-TEA"}

    as_user(world.producer_user)
    page = body(client.get("/my/producers/sales-points"))
    assert "Đã nhận" in page and "Đồng ý" in page


def test_decline_and_withdraw(client, world, as_user):
    as_user(world.producer_user)
    client.post("/my/producers/carry-requests", data={"product_id": world.rice.id, "sales_point_id": world.foreign.id})
    client.post("/my/producers/carry-requests", data={"product_id": world.tea.id, "sales_point_id": world.foreign.id})
    first, second = db.session.scalars(sa.select(CarryRequest).order_by(CarryRequest.id)).all()
    client.post(f"/my/producers/carry-requests/{second.id}/withdraw")
    assert db.session.get(CarryRequest, second.id).status == "withdrawn"
    as_user(world.other_operator)
    client.post(f"/my/carry-requests/{first.id}/decline", data={"response": "Hết chỗ"})
    assert db.session.get(CarryRequest, first.id).status == "declined"
    assert db.session.get(SalesPointProduct, (world.foreign.id, world.rice.id)) is None
