"""Scans of OCOP certificates: producers' managers attach them, organisers see them in the review
queue, nobody else may know they exist; a replaced scan sends a verified certificate back to review."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import current_app

from marketplace.catalog import scans
from marketplace.catalog import services as catalog
from marketplace.catalog.models import Certificate
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.dashboard import services
from marketplace.extensions import db
from tests.helpers import image_bytes, login, make_producer, make_product, make_user

PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\n"
    b"endobj\nxref\n0 3\n0000000000 65535 f \ntrailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n110\n%%EOF\n"
)
PDF_WITH_SCRIPT = PDF.replace(b"/Type /Catalog", b"/Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >>")


@pytest.fixture
def world(app):
    manager = make_user(roles=("producer",), email="quanly@htx.vn")
    other_manager = make_user(roles=("producer",), email="khac@htx.vn")
    producer = make_producer(managers=[manager], name="HTX Chè Long Phú")
    make_producer(managers=[other_manager])
    product = make_product(producer, stars=4, verified=False, name="Chè Long Phú", ref="HN-SCAN0001")
    organiser = make_user(roles=("organiser",), email="bantochuc@ocop.vn")
    buyer = make_user(roles=("buyer",))
    db.session.commit()
    return {
        "manager": manager,
        "other_manager": other_manager,
        "product": product,
        "organiser": organiser,
        "buyer": buyer,
    }


def _form(product, **changes) -> dict:
    cert = product.certificate
    data = {
        "name": product.name,
        "ocop_group": product.ocop_group,
        "unit": product.unit,
        "price_min_vnd": "100.000",
        "cert_stars": str(cert.stars) if cert else "0",
        "cert_number": cert.number if cert else "",
        "cert_level": cert.level if cert else "province",
        "cert_issued_on": cert.issued_on.isoformat() if cert and cert.issued_on else "",
    }
    data.update(changes)
    return data


def _post_edit(client, product, scan: bytes | None = None, filename: str = "giay-chung-nhan.pdf", **changes):
    data = _form(product, **changes)
    if scan is not None:
        data["cert_scan"] = (io.BytesIO(scan), filename)
    return client.post(
        f"/my/products/{product.id}/edit", data=data, content_type="multipart/form-data", follow_redirects=False
    )


def _cert(product) -> Certificate:
    db.session.expire_all()
    return db.session.scalar(sa.select(Certificate).where(Certificate.product_id == product.id))


def _scan_files() -> list[Path]:
    folder = Path(current_app.config["UPLOAD_DIR"]) / "certificates"
    return sorted(folder.iterdir()) if folder.exists() else []


# --------------------------------------------------------------------------- storing


def test_pdf_and_image_scans_are_stored_under_random_names(app):
    name = scans.store(PDF)
    assert name.endswith(".pdf") and len(name) == 36
    assert scans.path_of(name).read_bytes() == PDF
    assert Path(current_app.config["UPLOAD_DIR"]) / "certificates" / name == scans.path_of(name)
    photo = scans.store(image_bytes("PNG"))
    assert photo.endswith(".png") and photo != name
    assert scans.content_type(photo) == "image/png"
    # Names this module never makes are refused (no path traversal through a stored value).
    assert scans.path_of("../marketplace.db") is None and scans.path_of("") is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "trống"),
        (b"<html><script>alert(1)</script></html>", "Chỉ nhận bản chụp"),
        (b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n", "PDF bị hỏng"),
        (PDF_WITH_SCRIPT, "mã lệnh"),
        (image_bytes("GIF"), "Chỉ nhận bản chụp"),
    ],
)
def test_bad_files_are_refused_by_content(app, data, message):
    with pytest.raises(ServiceError, match=message) as caught:
        scans.store(data)
    assert caught.value.field == "cert_scan"
    assert _scan_files() == []


def test_size_limit(app):
    app.config["MAX_CERTIFICATE_SCAN_BYTES"] = 1024
    with pytest.raises(ServiceError, match="lớn hơn"):
        scans.store(PDF + b"%" * 2000)
    assert scans.max_bytes() == 1024


def test_image_scans_lose_their_metadata(app):
    from PIL import Image

    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "Máy ảnh bí mật"  # Make
    Image.new("RGB", (40, 30), (10, 20, 30)).save(buffer, "JPEG", exif=exif.tobytes())
    name = scans.store(buffer.getvalue())
    with Image.open(scans.path_of(name)) as stored:
        assert not stored.getexif()


# --------------------------------------------------------------------------- the service rules


def test_only_managers_attach_and_a_certificate_is_needed(world):
    product = world["product"]
    with pytest.raises(NotAllowed):
        catalog.attach_certificate_scan(world["other_manager"], product, PDF)
    with pytest.raises(NotAllowed):
        catalog.attach_certificate_scan(world["organiser"], product, PDF)
    bare = make_product(product.producer, stars=0)
    with pytest.raises(ServiceError, match="trước khi gửi bản chụp"):
        catalog.attach_certificate_scan(world["manager"], bare, PDF)
    assert _scan_files() == []


def test_replacing_the_scan_of_a_verified_certificate_sends_it_back_to_review(world):
    product, organiser, manager = world["product"], world["organiser"], world["manager"]
    assert catalog.attach_certificate_scan(manager, product, PDF) == ""
    services.verify_certificate(organiser, product.certificate)
    db.session.commit()
    assert services.pending_count() == 0
    first = product.certificate.scan_filename
    old = catalog.attach_certificate_scan(manager, product, image_bytes())
    db.session.commit()
    assert old == first
    cert = _cert(product)
    assert cert.verified is False and cert.verified_at is None and cert.reviewed_by_id is None
    assert cert.scan_filename != first and cert.scan_filename.endswith(".jpg")
    assert services.pending_count() == 1


def test_a_first_scan_keeps_a_verified_certificate_verified(world):
    product = world["product"]
    services.verify_certificate(world["organiser"], product.certificate)
    catalog.attach_certificate_scan(world["manager"], product, PDF)
    db.session.commit()
    assert _cert(product).verified is True


def test_a_scan_answers_a_rejection(world):
    product = world["product"]
    services.reject_certificate(world["organiser"], product.certificate, "Thiếu bản chụp quyết định công nhận")
    db.session.commit()
    assert services.pending_count() == 0
    catalog.attach_certificate_scan(world["manager"], product, PDF)
    db.session.commit()
    assert _cert(product).rejected_reason == ""
    assert services.pending_count() == 1


def test_remove_scan(world):
    product = world["product"]
    with pytest.raises(ServiceError, match="chưa có bản chụp"):
        catalog.remove_certificate_scan(world["manager"], product)
    catalog.attach_certificate_scan(world["manager"], product, PDF)
    name = product.certificate.scan_filename
    with pytest.raises(NotAllowed):
        catalog.remove_certificate_scan(world["buyer"], product)
    assert catalog.remove_certificate_scan(world["manager"], product) == name
    assert product.certificate.scan_filename == ""


# --------------------------------------------------------------------------- through the pages


def test_manager_attaches_a_scan_with_the_edit_form(world, client):
    product = world["product"]
    login(client, world["manager"])
    page = client.get(f"/my/products/{product.id}/edit").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'name="cert_scan"' in page
    response = _post_edit(client, product, PDF, "chứng nhận.PDF")
    assert response.status_code == 302
    cert = _cert(product)
    assert cert.scan_filename.endswith(".pdf") and "chứng" not in cert.scan_filename
    assert [p.name for p in _scan_files()] == [cert.scan_filename]
    page = client.get(f"/my/products/{product.id}/edit").get_data(as_text=True)
    assert f"/my/products/{product.id}/certificate/scan" in page and "Xoá bản chụp hiện có" in page


def test_a_new_product_with_certificate_and_scan(world, client):
    login(client, world["manager"])
    producer = world["product"].producer
    data = {
        "producer_id": str(producer.id),
        "name": "Miến dong Minh Hồng",
        "ocop_group": "food",
        "unit": "kg",
        "cert_stars": "3",
        "cert_number": "QĐ-123/2025",
        "cert_level": "province",
        "cert_issued_on": "2025-03-01",
        "cert_scan": (io.BytesIO(image_bytes()), "scan.jpg"),
    }
    response = client.post("/my/products/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    cert = db.session.scalar(sa.select(Certificate).where(Certificate.number == "QĐ-123/2025"))
    assert cert.scan_filename.endswith(".jpg") and cert.verified is False


def test_a_bad_scan_keeps_the_typed_data_and_saves_nothing(world, client):
    product = world["product"]
    login(client, world["manager"])
    response = _post_edit(client, product, b"MZ\x90\x00 not a scan", "virus.pdf", name="Tên mới đã gõ")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Chỉ nhận bản chụp là tệp PDF hoặc ảnh" in page and "Tên mới đã gõ" in page
    db.session.expire_all()
    assert db.session.get(type(product), product.id).name == "Chè Long Phú"
    assert _cert(product).scan_filename == "" and _scan_files() == []


def test_an_invalid_form_asks_to_choose_the_file_again(world, client):
    product = world["product"]
    login(client, world["manager"])
    response = _post_edit(client, product, PDF, cert_number="")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Vui lòng nhập số giấy chứng nhận OCOP." in page and "Vui lòng chọn lại tệp bản chụp" in page
    assert _cert(product).scan_filename == "" and _scan_files() == []


def test_replacing_and_removing_delete_the_old_file(world, client):
    product = world["product"]
    login(client, world["manager"])
    _post_edit(client, product, PDF)
    first = _cert(product).scan_filename
    _post_edit(client, product, image_bytes(), "anh.jpg")
    second = _cert(product).scan_filename
    assert second != first and [p.name for p in _scan_files()] == [second]
    _post_edit(client, product, cert_scan_remove="y")
    assert _cert(product).scan_filename == "" and _scan_files() == []


def test_removing_the_certificate_deletes_its_scan(world, client):
    product = world["product"]
    login(client, world["manager"])
    _post_edit(client, product, PDF)
    assert len(_scan_files()) == 1
    _post_edit(client, product, cert_stars="0", cert_number="", cert_issued_on="")
    assert _cert(product) is None and _scan_files() == []


def test_replacing_through_the_form_sends_a_verified_certificate_back(world, client):
    product = world["product"]
    login(client, world["manager"])
    _post_edit(client, product, PDF)
    services.verify_certificate(world["organiser"], _cert(product))
    db.session.commit()
    _post_edit(client, product)  # saving without a new file changes nothing
    assert _cert(product).verified is True
    _post_edit(client, product, image_bytes(), "moi.jpg")
    assert _cert(product).verified is False and services.pending_count() == 1


# --------------------------------------------------------------------------- who may see a scan


def _private(response) -> None:
    """Never stored by a shared cache (the site-wide hook may tighten 'private' to 'no-store')."""
    cache = response.headers["Cache-Control"]
    assert "public" not in cache and ("private" in cache or "no-store" in cache)


def _attach(world) -> str:
    catalog.attach_certificate_scan(world["manager"], world["product"], PDF)
    db.session.commit()
    return f"/my/products/{world['product'].id}/certificate/scan"


@pytest.mark.parametrize("who", ["manager", "organiser"])
def test_managers_and_organisers_get_the_scan(world, client, who):
    url = _attach(world)
    login(client, world[who])
    response = client.get(url)
    assert response.status_code == 200
    assert response.data == PDF and response.mimetype == "application/pdf"
    _private(response)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "chung-nhan-ocop-HN-SCAN0001.pdf" in response.headers["Content-Disposition"]
    response.close()


def test_admin_gets_an_image_scan_sandboxed(world, client):
    catalog.attach_certificate_scan(world["manager"], world["product"], image_bytes("PNG"))
    db.session.commit()
    login(client, make_user(roles=("admin",)))
    db.session.commit()
    response = client.get(f"/my/products/{world['product'].id}/certificate/scan")
    assert response.status_code == 200 and response.mimetype == "image/png"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy or "script-src 'self'" in policy
    _private(response)
    response.close()


@pytest.mark.parametrize("who", [None, "buyer", "other_manager"])
def test_everyone_else_gets_404(world, client, who):
    url = _attach(world)
    if who:
        login(client, world[who])
    assert client.get(url).status_code == 404


def test_no_scan_or_unknown_product_is_404(world, client):
    login(client, world["organiser"])
    assert client.get(f"/my/products/{world['product'].id}/certificate/scan").status_code == 404
    assert client.get("/my/products/99999/certificate/scan").status_code == 404
    # A scan row whose file went missing is a 404 too, not a crash.
    url = _attach(world)
    for path in _scan_files():
        path.unlink()
    assert client.get(url).status_code == 404


def test_public_media_route_does_not_serve_scans(world, client):
    _attach(world)
    name = _cert(world["product"]).scan_filename
    assert client.get(f"/media/certificates/{name}").status_code == 404


def test_review_queue_links_the_scan(world, client):
    product = world["product"]
    login(client, world["organiser"])
    page = client.get("/dashboard/certificates").get_data(as_text=True)
    assert "Cơ sở chưa gửi bản chụp" in page
    _attach(world)
    page = client.get("/dashboard/certificates").get_data(as_text=True)
    assert f'href="/my/products/{product.id}/certificate/scan"' in page
    assert "Xem bản chụp giấy chứng nhận" in page
