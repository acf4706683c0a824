"""Pages: the producer's batches, forms, QR codes and labels; the public trace page."""

from __future__ import annotations

import io
import re
from datetime import date

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.traceability import services
from marketplace.traceability.models import Batch, Inspection
from marketplace.traceability.public import record_scan
from marketplace.traceability.qr import qr_svg
from marketplace.traceability.validation import DestinationData, InspectionData
from tests.helpers import image_bytes
from tests.traceability.conftest import PDF_BYTES, batch_data

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"


def trace_url(batch) -> str:
    return f"/truy-xuat/{batch.public_code}"


def scans(batch) -> int:
    db.session.expire_all()
    return db.session.get(Batch, batch.id).scan_count


# --------------------------------------------------------------------------- producer pages


def test_dashboard_links_to_batches(client, as_user, world):
    as_user(world.owner)
    page = client.get("/my/producers").get_data(as_text=True)
    assert f"/my/batches?product_id={world.product.id}" in page
    assert "Lô hàng &amp; truy xuất" in page or "Lô hàng & truy xuất" in page


def test_create_a_batch_through_the_form(client, as_user, world):
    as_user(world.owner)
    form_page = client.get(f"/my/products/{world.product.id}/batches/new").get_data(as_text=True)
    assert 'value="kg"' in form_page and 'value="2026-12-01"' in form_page  # product unit, today
    response = client.post(
        f"/my/products/{world.product.id}/batches/new",
        data={
            "code": "LO-2026-11",
            "date_kind": "harvest",
            "produced_on": "2026-11-20",
            "quantity": "1.250,5",
            "unit": "kg",
            "shelf_life_value": "12",
            "shelf_life_unit": "month",
            "external_code": "HN-TX-0001",
        },
    )
    assert response.status_code == 302
    made = db.session.scalars(sa.select(Batch)).one()
    assert response.headers["Location"].endswith(f"/my/batches/{made.id}")
    assert (made.code, str(made.quantity), made.date_kind, made.status) == (
        "LO-2026-11",
        "1250.500",
        "harvest",
        "draft",
    )
    page = client.get(f"/my/batches/{made.id}").get_data(as_text=True)
    assert f"http://localhost/truy-xuat/{made.public_code}" in page
    assert "1.250,5 kg" in page
    assert "20/11/2027" in page  # best before from 12 months' shelf life


def test_bad_input_is_kept_and_explained(client, as_user, world):
    as_user(world.owner)
    services.create_batch(world.owner, world.product, batch_data(code="LO-01"))
    db.session.commit()
    response = client.post(
        f"/my/products/{world.product.id}/batches/new",
        data={
            "code": "LO-01",
            "date_kind": "production",
            "produced_on": "2026-11-20",
            "quantity": "12,5",
            "unit": "kg",
            "shelf_life_unit": "month",
            "notes": "Ghi chú dài",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Sản phẩm này đã có lô mang mã LO-01." in page
    assert 'value="12,5"' in page and "Ghi chú dài" in page
    response = client.post(
        f"/my/products/{world.product.id}/batches/new",
        data={
            "code": "LO-02",
            "date_kind": "production",
            "produced_on": "hôm qua",
            "quantity": "nhiều",
            "shelf_life_unit": "month",
        },
    )
    page = response.get_data(as_text=True)
    assert "Ngày không hợp lệ." in page and "Vui lòng nhập một số" in page and 'value="nhiều"' in page
    assert db.session.scalar(sa.select(sa.func.count(Batch.id))) == 1


def test_batches_list_shows_scan_counts(client, as_user, world, published):
    record_scan(published)
    record_scan(published)
    draft = services.create_batch(world.owner, world.product, batch_data(code="LO-NHAP"))
    db.session.commit()
    as_user(world.owner)
    page = client.get("/my/batches").get_data(as_text=True)
    assert "LO-01" in page and "LO-NHAP" in page
    assert re.search(r'class="scan-count">2<', page)
    filtered = client.get("/my/batches?status=draft").get_data(as_text=True)
    assert "LO-NHAP" in filtered and ">LO-01<" not in filtered
    assert draft.scan_count == 0


def test_empty_batches_list(client, as_user, world):
    as_user(world.owner)
    page = client.get(f"/my/batches?product_id={world.product.id}").get_data(as_text=True)
    assert "Chưa có lô hàng nào." in page
    assert f"/my/products/{world.product.id}/batches/new" in page


def test_add_edit_delete_items_through_the_forms(client, as_user, world, batch):
    as_user(world.owner)
    base = f"/my/batches/{batch.id}"
    assert client.get(f"{base}/destinations/new").status_code == 200
    response = client.post(
        f"{base}/destinations/new",
        data={
            "kind": "sales_point",
            "sales_point_id": str(world.point.id),
            "shipped_on": "2026-11-25",
            "quantity": "50 kg",
        },
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("#destinations")
    response = client.post(
        f"{base}/steps/new", data={"name": "Sấy", "started_on": "2026-11-22", "ended_on": "2026-11-21"}
    )
    assert "Ngày kết thúc không thể trước ngày bắt đầu." in response.get_data(as_text=True)
    step = batch.steps[0]
    assert client.get(f"{base}/steps/{step.id}/edit").status_code == 200
    response = client.post(f"{base}/steps/{step.id}/edit", data={"name": "Xay xát", "started_on": "2026-11-18"})
    assert response.status_code == 302
    assert client.post(f"{base}/inputs/{batch.inputs[0].id}/delete").status_code == 302
    db.session.expire_all()
    batch = db.session.get(Batch, batch.id)
    assert [d.sales_point_id for d in batch.destinations] == [world.point.id]
    assert batch.steps[0].name == "Xay xát" and batch.steps[0].ended_on is None
    assert batch.inputs == []


def test_upload_an_inspection_report(client, as_user, world, published):
    as_user(world.owner)
    response = client.post(
        f"/my/batches/{published.id}/inspections/new",
        data={
            "name": "Chỉ tiêu vi sinh",
            "inspected_on": "2026-11-21",
            "organisation": "Trung tâm kiểm nghiệm Hà Nội",
            "result": "Đạt QCVN 8-3:2012/BYT",
            "outcome": "pass",
            "file": (io.BytesIO(PDF_BYTES), "phieu-ket-qua.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    item = db.session.scalars(sa.select(Inspection)).one()
    as_user(None)
    response = client.get(f"/truy-xuat/{published.public_code}/kiem-nghiem/{item.id}")
    response.close()
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # A fake PDF (HTML) is refused with the message next to the field.
    as_user(world.owner)
    response = client.post(
        f"/my/batches/{published.id}/inspections/new",
        data={
            "name": "X",
            "inspected_on": "2026-11-21",
            "result": "Y",
            "outcome": "pass",
            "file": (io.BytesIO(b"<html>hi</html>"), "fake.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert "Chỉ nhận tệp PDF hoặc ảnh JPEG, PNG, WebP." in response.get_data(as_text=True)
    # A photo works and is served inline.
    response = client.post(
        f"/my/batches/{published.id}/inspections/new",
        data={
            "name": "Ảnh phiếu",
            "inspected_on": "2026-11-21",
            "result": "Đạt",
            "outcome": "pass",
            "file": (io.BytesIO(image_bytes()), "anh.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    photo = db.session.scalars(sa.select(Inspection).where(Inspection.file_kind == "image")).one()
    response = client.get(f"/truy-xuat/{published.public_code}/kiem-nghiem/{photo.id}")
    response.close()
    assert response.mimetype == "image/jpeg"


def test_qr_codes_point_to_the_absolute_trace_url(app, client, as_user, world, batch):
    as_user(world.owner)
    svg = client.get(f"/my/batches/{batch.id}/qr.svg")
    assert svg.mimetype == "image/svg+xml"
    assert svg.data == qr_svg(f"http://localhost/truy-xuat/{batch.public_code}")
    png = client.get(f"/my/batches/{batch.id}/qr.png?download=1")
    assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert png.headers["Content-Disposition"] == 'attachment; filename="qr-nep-01-lo-01.png"'
    inline = client.get(f"/my/batches/{batch.id}/qr.svg?inline=1").get_data(as_text=True)
    assert "viewBox" in inline and "width=" not in inline.split(">")[0]
    app.config["PUBLIC_BASE_URL"] = "https://ocop.hanoi.gov.vn/"
    svg = client.get(f"/my/batches/{batch.id}/qr.svg")
    assert svg.data == qr_svg(f"https://ocop.hanoi.gov.vn/truy-xuat/{batch.public_code}")
    page = client.get(f"/my/batches/{batch.id}").get_data(as_text=True)
    assert f"https://ocop.hanoi.gov.vn/truy-xuat/{batch.public_code}" in page


def test_label_sheet_is_a4_print_css(client, as_user, world, batch):
    as_user(world.owner)
    page = client.get(f"/my/batches/{batch.id}/labels").get_data(as_text=True)
    assert "size: A4" in page and "@media print" in page
    assert page.count('class="label"') == 21 and page.count('class="sheet"') == 1
    page = client.get(f"/my/batches/{batch.id}/labels?sheet=40&copies=50").get_data(as_text=True)
    assert page.count('class="label"') == 50 and page.count('class="sheet"') == 2
    page = client.get(f"/my/batches/{batch.id}/labels?sheet=bogus&copies=-4").get_data(as_text=True)
    assert page.count('class="label"') == 1
    page = client.get(f"/my/batches/{batch.id}/labels?copies=999999").get_data(as_text=True)
    assert page.count('class="label"') == 1000
    assert "Lô: LO-01" in page and "HSD: 20/05/2027" in page


def test_publish_and_delete_draft_through_routes(client, as_user, world, batch):
    as_user(world.owner)
    draft = services.create_batch(world.owner, world.product, batch_data(code="XOA"))
    db.session.commit()
    draft_id = draft.id
    assert client.post(f"/my/batches/{draft_id}/delete").status_code == 302
    assert db.session.get(Batch, draft_id) is None
    assert client.post(f"/my/batches/{batch.id}/publish").status_code == 302
    db.session.expire_all()
    assert db.session.get(Batch, batch.id).status == "published"
    client.post(f"/my/batches/{batch.id}/delete")
    assert db.session.get(Batch, batch.id) is not None  # a published batch is never deleted


# --------------------------------------------------------------------------- the public page


def test_draft_is_404_for_visitors_and_a_preview_for_its_producer(client, as_user, world, batch):
    assert client.get(trace_url(batch)).status_code == 404
    as_user(world.owner)
    page = client.get(trace_url(batch)).get_data(as_text=True)
    assert "Bản xem trước" in page
    assert scans(batch) == 0


def test_unknown_codes_are_404(client, world):
    assert client.get("/truy-xuat/khong-co-ma-nay-dau-nhe").status_code == 404
    assert client.get("/truy-xuat/x").status_code == 404


def test_trace_page_shows_the_facts(client, world, published):
    services.add_item(
        world.owner,
        published,
        services.ITEM_KINDS["inspections"],
        InspectionData(inspected_on=date(2026, 11, 21), name="Chỉ tiêu vi sinh", result="Đạt QCVN", outcome="pass"),
    )
    services.add_item(
        world.owner,
        published,
        services.ITEM_KINDS["destinations"],
        DestinationData(kind="sales_point", sales_point_id=world.point.id, shipped_on=date(2026, 11, 25)),
    )
    db.session.commit()
    response = client.get(trace_url(published), headers={"User-Agent": PHONE})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for text in (
        "Gạo nếp cái hoa vàng",
        "HTX Nếp cái hoa vàng",
        "Thôn Đông",
        "★★★★",
        "Còn hiệu lực",
        "LO-01",
        "20/11/2026",
        "120,5 kg",
        "20/05/2027",
        "Thóc nếp",
        "Hộ ông Tư",
        "Xã Đông Anh",
        "Xay xát và đóng gói",
        "Chỉ tiêu vi sinh",
        "Đạt QCVN",
        "Điểm bán OCOP Hàng Bông",
        "12 Hàng Bông",
    ):
        assert text in page, text
    assert 'class="timeline"' in page
    assert "Điểm bán chờ duyệt" not in page  # only approved sales points
    assert 'name="viewport"' in page and 'name="robots" content="noindex"' in page
    # The chain in order: input, step, production, inspection, destination.
    chain = page[page.index('<ol class="timeline">') :]
    positions = [
        chain.index(f'class="tl-{kind}"') for kind in ("input", "step", "produced", "inspection", "destination")
    ]
    assert positions == sorted(positions)


def test_expired_certificate_is_said(client, world, published):
    world.product.certificate.expires_on = date(2026, 6, 1)
    db.session.commit()
    page = client.get(trace_url(published)).get_data(as_text=True)
    assert "Đã hết hạn" in page and "★★★★" not in page


def test_scans_are_counted_without_the_producer_or_bots(client, as_user, world, published):
    url = trace_url(published)
    client.get(url, headers={"User-Agent": PHONE})
    client.get(url, headers={"User-Agent": PHONE})
    assert scans(published) == 2
    client.get(url, headers={"User-Agent": "Googlebot/2.1"})
    client.get(url, headers={"User-Agent": ""})  # no User-Agent at all
    client.head(url, headers={"User-Agent": PHONE})
    client.get(url, headers={"User-Agent": PHONE, "Referer": f"http://localhost{url}"})  # language switch reload
    client.get(f"/api/v1/trace/{published.public_code}", headers={"User-Agent": PHONE})
    as_user(world.owner)
    client.get(url, headers={"User-Agent": PHONE})
    assert scans(published) == 2
    as_user(world.other)  # another producer is a visitor like any other
    client.get(url, headers={"User-Agent": PHONE})
    assert scans(published) == 3


def test_recall_shows_a_red_banner_with_the_reason(client, as_user, world, published):
    as_user(world.owner)
    response = client.post(f"/my/batches/{published.id}/recall", data={"reason": ""})
    assert "Vui lòng nêu lý do thu hồi." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Batch, published.id).status == "published"
    assert 'class="trace-recall"' not in client.get(trace_url(published)).get_data(as_text=True)

    response = client.post(f"/my/batches/{published.id}/recall", data={"reason": "Bao bì bị rách, nguy cơ ẩm mốc."})
    assert response.status_code == 302
    as_user(None)
    page = client.get(trace_url(published)).get_data(as_text=True)
    banner = page[page.index('class="trace-recall"') : page.index("</div>", page.index('class="trace-recall"'))]
    assert 'role="alert"' in banner
    assert "LÔ HÀNG ĐÃ BỊ THU HỒI" in banner and "Bao bì bị rách, nguy cơ ẩm mốc." in banner
    assert "--ocop-red" in page  # the banner is red
    as_user(world.owner)
    listing = client.get("/my/batches").get_data(as_text=True)
    assert "Đã thu hồi" in listing


def test_edit_history_is_visible_on_the_trace_page(client, as_user, world, published):
    as_user(world.owner)
    response = client.post(
        f"/my/batches/{published.id}/edit",
        data={
            "code": "LO-01",
            "date_kind": "production",
            "produced_on": "2026-11-20",
            "quantity": "118",
            "unit": "kg",
            "expires_on": "2027-05-20",
            "shelf_life_unit": "month",
        },
    )
    assert response.status_code == 302
    producer_page = client.get(f"/my/batches/{published.id}").get_data(as_text=True)
    assert "Chủ HTX" in producer_page  # who, for the producer
    as_user(None)
    page = client.get(trace_url(published)).get_data(as_text=True)
    history = page[page.index('id="history-heading"') :]
    assert "Số lượng" in history and "<del>120,5</del>" in history and "<ins>118</ins>" in history
    assert "Công bố trang truy xuất" in history
    assert "Chủ HTX" not in page  # no personal names in public


def test_english_toggle_uses_the_site_language_switch(client, world, published):
    url = trace_url(published)
    page = client.get(url).get_data(as_text=True)
    assert 'action="/lang/en"' in page and f'name="next" value="{url}"' in page
    response = client.post("/lang/en", data={"next": url})
    assert response.headers["Location"].endswith(url)
    page = client.get(url).get_data(as_text=True)
    assert '<html lang="en"' in page
    assert "Yellow-flower sticky rice" in page  # the English product name leads
