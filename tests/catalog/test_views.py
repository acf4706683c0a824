"""Catalogue pages: home, browse, product page, the manager's forms, images, moderation."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest

from marketplace.catalog.models import Product
from marketplace.extensions import db
from tests.helpers import image_bytes, make_producer, make_product, make_sales_point, make_user


def html(response) -> str:
    return response.get_data(as_text=True)


def form_data(producer_id=None, **fields) -> dict:
    values = {
        "name": "Miến dong Cự Đà",
        "name_en": "Cu Da arrowroot noodles",
        "ocop_group": "food",
        "unit": "kg",
        "price_min_vnd": "60.000",
        "price_max_vnd": "1.250.000",
        "moq": "100",
        "monthly_capacity": "5.000",
        "certifications": ["vietgap"],
        "certifications_other": "Chứng nhận riêng",
        "description": "Dòng một\nDòng hai",
        "cert_stars": "4",
        "cert_number": "2051/QĐ-UBND",
        "cert_level": "province",
        "cert_issued_on": "2025-06-30",
    }
    if producer_id is not None:
        values["producer_id"] = str(producer_id)
    values.update(fields)
    return values


@pytest.fixture
def manager(app):
    return make_user(roles=("producer",))


@pytest.fixture
def producer(manager):
    return make_producer(managers=[manager], name="HTX Miến Cự Đà", district="Thanh Oai", craft_village="Cự Đà")


# --------------------------------------------------------------------------- public pages


def test_home_shows_groups_counts_and_featured(client):
    make_product(ref="TOP", name="Gốm men rạn", stars=5, ocop_group="handicraft")
    make_product(ref="LOW", name="Rau sạch", stars=3)
    db.session.commit()
    page = html(client.get("/"))
    assert "Thủ công mỹ nghệ" in page and "/nhom/handicraft" in page
    assert "Gốm men rạn" in page and "Rau sạch" not in page  # featured: 4–5 stars only
    assert "sản phẩm OCOP" in page


def test_browse_paginates(client):
    producer = make_producer()
    for n in range(30):
        make_product(producer, ref=f"P-{n:03d}", name=f"Sản phẩm số {n:03d}")
    db.session.commit()
    first = html(client.get("/products?sort=newest"))
    assert first.count('class="card product-card"') == 24
    assert "30 sản phẩm" in first and 'rel="next"' in first
    second = html(client.get("/products?sort=newest&page=2"))
    assert second.count('class="card product-card"') == 6
    assert html(client.get("/products?page=999")).count('class="card product-card"') == 6  # clamped
    assert html(client.get("/products?page=abc")).count('class="card product-card"') == 24


def test_browse_filters_by_valid_stars(client):
    make_product(name="Chè còn hạn", stars=4)
    make_product(name="Chè hết hạn", stars=5, issued_on=date(2023, 1, 10))
    db.session.commit()
    page = html(client.get("/products?min_stars=4"))
    assert "Chè còn hạn" in page and "Chè hết hạn" not in page
    everything = html(client.get("/products?min_stars=nope"))
    assert "Chè hết hạn" in everything and "Chứng nhận hết hạn" in everything


def test_browse_empty_state_links_to_clear_filters(client):
    page = html(client.get("/products?group=tourism&q=không có gì"))
    assert "Không có sản phẩm nào phù hợp" in page and "Xoá bộ lọc" in page
    assert "không có gì" in page  # the query stays shown


def test_group_and_district_pages(client):
    make_product(make_producer(district="Gia Lâm"), name="Bát men lam", ocop_group="handicraft")
    make_product(make_producer(district="Đông Anh"), name="Giò chả", ocop_group="food")
    db.session.commit()
    group = html(client.get("/nhom/handicraft"))
    assert "Bát men lam" in group and "Giò chả" not in group
    assert client.get("/nhom/vu-khi").status_code == 404
    redirect = client.get("/nhom/souvenir")
    assert redirect.status_code == 301 and redirect.headers["Location"].endswith("/nhom/handicraft")
    district = html(client.get("/khu-vuc/gia-lam"))
    assert "Bát men lam" in district and "Giò chả" not in district
    assert "Bát men lam" in html(client.get("/khu-vuc/Gia Lâm"))
    assert client.get("/khu-vuc/atlantis").status_code == 404


def test_product_page_shows_everything(client):
    producer = make_producer(name="HTX Gốm Bát Tràng", district="Gia Lâm", craft_village="Bát Tràng")
    product = make_product(
        producer,
        ref="S-0100",
        name="Bình gốm men rạn",
        name_en="Crackle-glaze vase",
        ocop_group="handicraft",
        unit="chiếc",
        price_min_vnd=1_250_000,
        price_max_vnd=2_000_000,
        moq=10,
        monthly_capacity=300,
        certifications="iso9001;Nghệ nhân ưu tú",
        description="Men rạn cổ.\n<script>alert('x')</script>",
    )
    make_sales_point([product], name="Điểm bán OCOP Hàng Trống")
    make_sales_point([product], name="Điểm chờ duyệt", status="pending")
    db.session.commit()
    page = html(client.get("/san-pham/S-0100"))
    for text in (
        "Bình gốm men rạn",
        "Crackle-glaze vase",
        "Thủ công mỹ nghệ",
        "1.250.000 – 2.000.000 ₫",
        "ISO 9001",
        "Nghệ nhân ưu tú",
        "Còn hiệu lực",
        "01/03/2028",
        "Cấp thành phố",
        "HTX Gốm Bát Tràng",
        f"/producers/{producer.id}",
        "Điểm bán OCOP Hàng Trống",
    ):
        assert text in page, text
    assert "Điểm chờ duyệt" not in page
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_expired_and_unverified_certificates_are_flagged(client):
    make_product(ref="OLD", stars=5, issued_on=date(2023, 1, 10))
    make_product(ref="NEW", stars=4, verified=False)
    db.session.commit()
    old = html(client.get("/san-pham/OLD"))
    assert "Đã hết hạn" in old and 'class="text-danger"' in old and "không được tính" in old
    assert "Chờ xác minh" in html(client.get("/san-pham/NEW"))


@pytest.mark.parametrize("fields", [{"status": "draft"}, {"status": "archived"}, {"hidden": True}])
def test_non_public_products_are_404_for_the_public(client, as_user, manager, producer, fields):
    make_product(producer, ref="SECRET", **fields)
    buyer, other, organiser = (make_user(roles=(role,)) for role in ("buyer", "producer", "organiser"))
    db.session.commit()
    for user in (None, buyer, other):
        as_user(user)
        assert client.get("/san-pham/SECRET").status_code == 404
    for user in (manager, organiser):
        as_user(user)
        page = client.get("/san-pham/SECRET")
        assert page.status_code == 200 and 'class="flash flash-warning"' in html(page)
    as_user(None)
    assert "SECRET" not in html(client.get("/products"))


def test_unknown_ref_is_404(client):
    assert client.get("/san-pham/KHONG-CO").status_code == 404


# --------------------------------------------------------------------------- create and edit


def test_create_product_parses_vietnamese_amounts(client, as_user, manager, producer):
    as_user(manager)
    response = client.post("/my/products/new", data=form_data(producer.id))
    assert response.status_code == 302
    product = db.session.query(Product).one()
    assert (product.price_min_vnd, product.price_max_vnd, product.monthly_capacity) == (60_000, 1_250_000, 5_000)
    assert product.status == "draft" and product.ref.startswith("HN-")
    assert product.certifications == "vietgap;Chứng nhận riêng"
    assert product.certificate.verified is False and product.certificate.expires_on == date(2028, 6, 30)
    edit = html(client.get(response.headers["Location"]))
    assert 'value="1.250.000"' in edit and "Chờ xác minh" in edit


def test_price_min_above_max_is_refused_next_to_the_field(client, as_user, manager, producer):
    as_user(manager)
    response = client.post(
        "/my/products/new", data=form_data(producer.id, price_min_vnd="900.000", price_max_vnd="100")
    )
    page = html(response)
    assert response.status_code == 200
    assert 'id="price_max_vnd-error"' in page and "Giá đến phải lớn hơn hoặc bằng giá từ." in page
    assert 'value="900.000"' in page and 'value="Miến dong Cự Đà"' in page  # nothing typed is lost
    assert db.session.query(Product).count() == 0


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        ({"name": ""}, "name", "Vui lòng nhập tên sản phẩm."),
        ({"price_min_vnd": "mười nghìn"}, "price_min_vnd", "Vui lòng nhập một số"),
        ({"price_min_vnd": "-5"}, "price_min_vnd", "Không được nhập số âm."),
        ({"ocop_group": "weapons"}, "ocop_group", "Lựa chọn không hợp lệ."),
        ({"cert_issued_on": "2027-01-01"}, "cert_issued_on", "Ngày cấp không được ở tương lai."),
        ({"cert_issued_on": "30/06/2025"}, "cert_issued_on", "Ngày không hợp lệ."),
        ({"moq": "0"}, "moq", "số nguyên dương"),
    ],
)
def test_bad_input_shows_vietnamese_errors(client, as_user, manager, producer, fields, field_id, message):
    as_user(manager)
    page = html(client.post("/my/products/new", data=form_data(producer.id, **fields)))
    assert f'id="{field_id}-error"' in page and message in page
    assert db.session.query(Product).count() == 0


def test_user_managing_no_producer_is_sent_to_the_dashboard(client, as_user):
    user = make_user(roles=("producer",))
    db.session.commit()
    as_user(user)
    response = client.get("/my/products/new")
    assert response.status_code == 302 and response.headers["Location"].endswith("/my/producers")


def test_new_product_for_another_producer_is_refused(client, as_user, manager, producer):
    foreign = make_producer()
    db.session.commit()
    as_user(manager)
    assert client.get(f"/my/products/new?producer_id={foreign.id}").status_code == 403
    assert client.get("/my/products/new?producer_id=99999").status_code == 404
    assert client.post("/my/products/new", data=form_data(foreign.id)).status_code == 403
    assert db.session.query(Product).count() == 0


def test_edit_product_and_certificate_needs_verification_again(client, as_user, manager, producer):
    product = make_product(producer, stars=4, issued_on=date(2025, 3, 1))
    number = product.certificate.number
    db.session.commit()
    as_user(manager)
    page = html(client.get(f"/my/products/{product.id}/edit"))
    assert f'value="{number}"' in page and 'value="2025-03-01"' in page
    response = client.post(
        f"/my/products/{product.id}/edit",
        data=form_data(cert_number=number, cert_issued_on="2025-03-01", cert_stars="5", name="Tên mới"),
    )
    assert response.status_code == 302
    db.session.expire_all()
    product = db.session.get(Product, product.id)
    assert product.name == "Tên mới" and product.certificate.stars == 5 and product.certificate.verified is False


def test_publish_unpublish_archive_restore(client, as_user, manager, producer):
    product = make_product(producer, status="draft", unit="", ref="FLOW")
    db.session.commit()
    as_user(manager)
    refused = client.post(f"/my/products/{product.id}/publish", follow_redirects=True)
    assert "Chưa thể đăng bán" in html(refused)
    db.session.expire_all()
    assert db.session.get(Product, product.id).status == "draft"
    client.post(f"/my/products/{product.id}/edit", data=form_data())
    client.post(f"/my/products/{product.id}/publish")
    assert client.get("/san-pham/FLOW").status_code == 200
    as_user(None)
    assert client.get("/san-pham/FLOW").status_code == 200
    as_user(manager)
    client.post(f"/my/products/{product.id}/unpublish")
    as_user(None)
    assert client.get("/san-pham/FLOW").status_code == 404
    as_user(manager)
    client.post(f"/my/products/{product.id}/archive")
    db.session.expire_all()
    assert db.session.get(Product, product.id).status == "archived"
    client.post(f"/my/products/{product.id}/restore")
    db.session.expire_all()
    assert db.session.get(Product, product.id).status == "draft"


def test_my_products_lists_only_my_products(client, as_user, manager, producer):
    make_product(producer, name="Của tôi", status="draft")
    make_product(name="Của người khác")
    db.session.commit()
    as_user(manager)
    page = html(client.get("/my/products"))
    assert "Của tôi" in page and "Của người khác" not in page


# --------------------------------------------------------------------------- images


def upload(client, product, *files):
    return client.post(
        f"/my/products/{product.id}/images",
        data={"images": [(io.BytesIO(content), name) for name, content in files]},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def test_upload_keeps_valid_images_and_names_refused_ones(client, as_user, manager, producer, app):
    product = make_product(producer)
    db.session.commit()
    as_user(manager)
    response = upload(client, product, ("that.jpg", image_bytes()), ("trang-web.jpg", b"<html><body>hi</body></html>"))
    page = html(response)
    assert response.status_code == 200
    assert "Đã thêm 1 ảnh." in page
    assert "trang-web.jpg" in page and "không phải là ảnh hợp lệ" in page
    db.session.expire_all()
    image = db.session.get(Product, product.id).images[0]
    assert (Path(app.config["UPLOAD_DIR"]) / image.thumb_filename).exists()
    with client.get(f"/media/{image.thumb_filename}") as media:
        assert media.status_code == 200 and media.mimetype == "image/jpeg"
    assert f"/media/{image.thumb_filename}" in html(client.get("/products"))


def test_six_megabyte_image_is_refused(client, as_user, manager, producer):
    product = make_product(producer)
    db.session.commit()
    as_user(manager)
    page = html(upload(client, product, ("lon.jpg", b"\xff\xd8\xff\xe0" + b"0" * (6 * 1024 * 1024))))
    assert "lon.jpg" in page and "lớn hơn 5 MB" in page
    db.session.expire_all()
    assert db.session.get(Product, product.id).images == []


def test_ninth_image_is_refused(client, as_user, manager, producer):
    product = make_product(producer)
    db.session.commit()
    as_user(manager)
    upload(client, product, *[(f"{n}.jpg", image_bytes()) for n in range(8)])
    page = html(upload(client, product, ("9.jpg", image_bytes())))
    assert "9.jpg" in page and "tối đa 8 ảnh" in page
    db.session.expire_all()
    assert len(db.session.get(Product, product.id).images) == 8


def test_delete_and_reorder_images(client, as_user, manager, producer, app):
    product = make_product(producer)
    db.session.commit()
    as_user(manager)
    upload(client, product, ("a.jpg", image_bytes()), ("b.jpg", image_bytes(color=(0, 0, 255))))
    db.session.expire_all()
    first, second = db.session.get(Product, product.id).images
    client.post(f"/my/products/{product.id}/images/{second.id}/first")
    db.session.expire_all()
    assert db.session.get(Product, product.id).images[0].id == second.id
    path = Path(app.config["UPLOAD_DIR"]) / first.filename
    assert path.exists()
    client.post(f"/my/products/{product.id}/images/{first.id}/delete")
    db.session.expire_all()
    assert [i.id for i in db.session.get(Product, product.id).images] == [second.id]
    assert not path.exists()
    assert client.post(f"/my/products/{product.id}/images/{first.id}/delete").status_code == 404


# --------------------------------------------------------------------------- moderation


def test_staff_hide_with_reason_and_unhide(client, as_user, producer):
    product = make_product(producer, ref="MOD")
    organiser, admin = make_user(roles=("organiser",)), make_user(roles=("admin",))
    db.session.commit()
    as_user(organiser)
    refused = client.post(f"/admin/products/{product.id}/hide", data={"reason": ""}, follow_redirects=True)
    assert "Vui lòng nêu lý do ẩn sản phẩm." in html(refused)
    client.post(f"/admin/products/{product.id}/hide", data={"reason": "Ảnh không đúng sản phẩm"})
    page = html(client.get("/san-pham/MOD"))
    assert "Ảnh không đúng sản phẩm" in page and "Bỏ ẩn sản phẩm" in page
    as_user(None)
    assert client.get("/san-pham/MOD").status_code == 404
    as_user(admin)
    client.post(f"/admin/products/{product.id}/unhide")
    as_user(None)
    assert client.get("/san-pham/MOD").status_code == 200


def test_csrf_is_required_on_changes(tmp_path, _schema):
    from config import TestConfig
    from marketplace import create_app
    from tests.conftest import _clean_tables
    from tests.helpers import login

    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": _schema, "DATA_DIR": tmp_path, "WTF_CSRF_ENABLED": True})
    with app.app_context():
        try:
            manager = make_user(roles=("producer",))
            product = make_product(make_producer(managers=[manager]), status="draft")
            db.session.commit()
            client = app.test_client()
            login(client, manager)
            assert client.post(f"/my/products/{product.id}/publish").status_code == 400
            db.session.expire_all()
            assert db.session.get(Product, product.id).status == "draft"
        finally:
            db.session.remove()
            _clean_tables()
            db.engine.dispose()
