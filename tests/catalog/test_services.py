"""Catalogue services: public queries and filters, creating and editing, status, images."""

from __future__ import annotations

import re
from datetime import date

import pytest

from marketplace.catalog import services
from marketplace.catalog.services import CertificateData, ProductData, ProductFilters
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.extensions import db
from tests.helpers import image_bytes, make_producer, make_product, make_user


def refs(filters: ProductFilters | None = None) -> list[str]:
    return [p.ref for p in db.session.scalars(services.public_products_stmt(filters))]


def data(**fields) -> ProductData:
    base = dict(name="Miến dong Cự Đà", ocop_group="food", unit="kg", price_min_vnd=60_000, price_max_vnd=80_000)
    base.update(fields)
    return ProductData(**base)


@pytest.fixture
def manager(app):
    return make_user(roles=("producer",))


@pytest.fixture
def producer(manager):
    return make_producer(managers=[manager], district="Thanh Oai")


# --------------------------------------------------------------------------- public list


def test_only_published_visible_products_are_public(app):
    make_product(ref="PUB")
    make_product(ref="DRAFT", status="draft")
    make_product(ref="ARCH", status="archived")
    make_product(ref="HID", hidden=True, hidden_reason="Sai thông tin")
    assert refs() == ["PUB"]


def test_min_stars_counts_only_valid_verified_certificates(app):
    make_product(ref="VALID4", stars=4)
    make_product(ref="EXPIRED5", stars=5, issued_on=date(2023, 1, 10))  # expired 2026-01-10
    make_product(ref="UNVERIFIED5", stars=5, verified=False)
    make_product(ref="NONE", stars=0)
    assert set(refs(ProductFilters(min_stars=3))) == {"VALID4"}
    assert set(refs(ProductFilters(min_stars=5))) == set()
    assert len(refs(ProductFilters(min_stars=0))) == 4


def test_sort_by_stars_uses_valid_stars(app):
    make_product(ref="EXPIRED5", stars=5, issued_on=date(2023, 1, 10))
    make_product(ref="VALID3", stars=3)
    make_product(ref="VALID5", stars=5)
    assert refs(ProductFilters(sort="stars")) == ["VALID5", "VALID3", "EXPIRED5"]


def test_group_district_and_certification_filters(app):
    chuong_my = make_producer(district="Chương Mỹ")
    gia_lam = make_producer(district="Gia Lâm")
    make_product(chuong_my, ref="BASKET", ocop_group="handicraft", certifications="vietgap;haccp")
    make_product(gia_lam, ref="BOWL", ocop_group="handicraft", certifications="organic")
    make_product(gia_lam, ref="TEA", ocop_group="beverage", certifications="Chứng nhận riêng 50%")
    assert set(refs(ProductFilters(group="handicraft"))) == {"BASKET", "BOWL"}
    assert refs(ProductFilters(district="Gia Lâm", group="beverage")) == ["TEA"]
    assert refs(ProductFilters(certification="haccp")) == ["BASKET"]
    assert refs(ProductFilters.from_args({"certification": "Hữu cơ"})) == ["BOWL"]
    assert refs(ProductFilters.from_args({"district": "gia lam", "group": "souvenir"})) == ["BOWL"]
    assert refs(ProductFilters(certification="Chứng nhận riêng 50%")) == ["TEA"]
    assert refs(ProductFilters(certification="%")) == []


def test_price_sorts_put_unpriced_products_last(app):
    make_product(ref="CHEAP", price_min_vnd=10_000, price_max_vnd=20_000)
    make_product(ref="DEAR", price_min_vnd=500_000, price_max_vnd=900_000)
    make_product(ref="ASK")
    make_product(ref="ONLYMAX", price_max_vnd=100_000)
    assert refs(ProductFilters(sort="price_asc")) == ["CHEAP", "ONLYMAX", "DEAR", "ASK"]
    assert refs(ProductFilters(sort="price_desc")) == ["DEAR", "ONLYMAX", "CHEAP", "ASK"]


def test_simple_query_matches_product_and_producer_names(app):
    make_product(make_producer(name="HTX Gốm Bát Tràng"), ref="BOWL", name="Bát men lam")
    make_product(ref="TEA", name="Chè shan tuyết")
    assert refs(ProductFilters(q="men lam")) == ["BOWL"]
    assert refs(ProductFilters(q="Gốm Bát")) == ["BOWL"]
    assert refs(ProductFilters(q="100%_")) == []


def test_filters_from_args_lenient_and_strict(app):
    lenient = ProductFilters.from_args({"group": "xyz", "min_stars": "9", "sort": "hack", "district": "ĐÔNG ANH"})
    assert (lenient.group, lenient.min_stars, lenient.sort, lenient.district) == (None, 0, "newest", "Đông Anh")
    for args, field in (({"group": "xyz"}, "group"), ({"min_stars": "-1"}, "min_stars"), ({"sort": "x"}, "sort")):
        with pytest.raises(ServiceError) as error:
            ProductFilters.from_args(args, strict=True)
        assert error.value.field == field
    assert ProductFilters.from_args({"sort": "relevance", "min_stars": "4"}, strict=True).min_stars == 4


def test_home_stats_and_featured(app):
    make_product(make_producer(craft_village="Bát Tràng"), ref="A", stars=5, ocop_group="handicraft")
    make_product(make_producer(craft_village="Bát Tràng"), ref="B", stars=3)
    make_product(make_producer(craft_village="Vạn Phúc"), ref="C", stars=4, status="draft")
    make_product(ref="D", stars=5, issued_on=date(2022, 5, 1))  # expired
    stats = services.home_stats()
    assert stats.products == 3
    assert stats.groups["handicraft"] == 1 and stats.groups["food"] == 2 and stats.groups["tourism"] == 0
    assert stats.producers == 4
    assert stats.craft_villages == 2
    assert [p.ref for p in services.featured_products()] == ["A"]


# --------------------------------------------------------------------------- create and edit


def test_create_product_is_an_unverified_draft_with_a_generated_ref(manager, producer):
    product = services.create_product(
        manager,
        producer,
        data(certifications=["vietgap", "Hữu cơ", "ISO 22000", "vietgap"]),
        CertificateData(stars=4, number="123/QĐ-UBND", level="province", issued_on=date(2025, 6, 30)),
    )
    assert re.fullmatch(r"HN-[A-Z0-9]{8}", product.ref)
    assert product.status == "draft" and product.producer is producer
    assert product.certifications == "vietgap;organic;iso22000"
    cert = product.certificate
    assert cert.verified is False and cert.expires_on == date(2028, 6, 30)
    assert services.publish_problems(product) == []


def test_create_refuses_a_user_who_does_not_manage_the_producer(app, producer):
    other = make_user(roles=("producer",))
    with pytest.raises(NotAllowed):
        services.create_product(other, producer, data())


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "   "}, "name"),
        ({"ocop_group": "weapons"}, "ocop_group"),
        ({"price_min_vnd": 200_000, "price_max_vnd": 100_000}, "price_max_vnd"),
        ({"price_min_vnd": -1}, "price_min_vnd"),
        ({"moq": 0}, "moq"),
        ({"monthly_capacity": -5}, "monthly_capacity"),
    ],
)
def test_invalid_product_data_names_the_field(manager, producer, fields, field):
    with pytest.raises(ServiceError) as error:
        services.create_product(manager, producer, data(**fields))
    assert error.value.field == field


def test_certificate_rules(manager, producer):
    product = services.create_product(manager, producer, data())
    assert product.certificate is None
    with pytest.raises(ServiceError) as error:
        services.set_certificate(product, CertificateData(stars=4, number="X", issued_on=date(2026, 12, 2)))
    assert error.value.field == "cert_issued_on"
    with pytest.raises(ServiceError) as error:
        services.set_certificate(product, CertificateData(stars=0, number="X", issued_on=date(2025, 1, 1)))
    assert error.value.field == "cert_stars"
    with pytest.raises(ServiceError) as error:
        services.set_certificate(product, CertificateData(stars=3, issued_on=date(2025, 1, 1)))
    assert error.value.field == "cert_number"


def test_changing_a_verified_certificate_makes_it_unverified(manager, producer):
    product = make_product(producer, stars=4, issued_on=date(2025, 3, 1))
    cert = product.certificate
    same = CertificateData(stars=4, number=cert.number, level=cert.level, issued_on=date(2025, 3, 1))
    services.update_product(manager, product, data(), same)
    assert product.certificate.verified is True
    services.update_product(manager, product, data(), CertificateData(**{**same.__dict__, "stars": 5}))
    assert product.certificate.verified is False
    assert product.certificate.expires_on == date(2028, 3, 1)
    services.update_product(manager, product, data(), CertificateData())
    db.session.flush()
    assert product.certificate is None


# --------------------------------------------------------------------------- status and moderation


def test_publish_rules_and_transitions(manager, producer):
    product = services.create_product(manager, producer, data(unit="", price_min_vnd=None, price_max_vnd=None))
    with pytest.raises(ServiceError) as error:
        services.publish_product(manager, product)
    assert "đơn vị tính" in error.value.message and "Giá liên hệ" in error.value.message
    services.update_product(manager, product, data(price_min_vnd=None, price_max_vnd=None, price_on_request=True))
    services.publish_product(manager, product)
    assert product.status == "published" and product.published_at is not None
    services.unpublish_product(manager, product)
    assert product.status == "draft"
    services.archive_product(manager, product)
    with pytest.raises(ServiceError):
        services.publish_product(manager, product)
    services.restore_product(manager, product)
    assert product.status == "draft"


def test_only_staff_hide_and_unhide(manager, producer):
    product = make_product(producer)
    with pytest.raises(NotAllowed):
        services.hide_product(manager, product, "Ảnh không đúng sản phẩm")
    organiser = make_user(roles=("organiser",))
    with pytest.raises(ServiceError):
        services.hide_product(organiser, product, "  ")
    services.hide_product(organiser, product, "Ảnh không đúng sản phẩm")
    assert product.hidden and not product.is_public
    services.unhide_product(organiser, product)
    assert product.is_public and product.hidden_reason == ""


def test_who_can_view_and_manage(manager, producer):
    draft = make_product(producer, status="draft")
    buyer = make_user(roles=("buyer",))
    admin = make_user(roles=("admin",))
    other = make_user(roles=("producer",))
    assert services.can_view(manager, draft) and services.can_view(admin, draft)
    assert not services.can_view(buyer, draft) and not services.can_view(other, draft)
    assert services.can_manage(manager, draft) and not services.can_manage(admin, draft)


# --------------------------------------------------------------------------- images


def test_add_images_keeps_valid_ones_and_reports_the_rest(manager, producer):
    product = make_product(producer)
    result = services.add_images(
        manager,
        product,
        [
            ("a.jpg", image_bytes()),
            ("fake.jpg", b"<html><script>alert(1)</script></html>"),
            ("b.png", image_bytes("PNG")),
        ],
    )
    assert len(result.added) == 2 and [p for p, _ in result.errors] == ["fake.jpg"]
    assert [i.position for i in product.images] == [0, 1]


def test_at_most_eight_images(manager, producer):
    product = make_product(producer)
    services.add_images(manager, product, [(f"{n}.jpg", image_bytes()) for n in range(7)])
    result = services.add_images(manager, product, [("7.jpg", image_bytes()), ("8.jpg", image_bytes())])
    assert len(result.added) == 1
    assert result.errors[0][0] == "8.jpg" and "8" in result.errors[0][1]
    assert len(product.images) == 8


def test_remove_and_reorder_images(manager, producer):
    product = make_product(producer)
    services.add_images(manager, product, [("a.jpg", image_bytes()), ("b.jpg", image_bytes())])
    first, second = product.images
    services.make_image_first(manager, product, second.id)
    assert (second.position, first.position) == (0, 1)
    stored = services.remove_image(manager, product, first.id)
    assert stored.filename == first.filename and len(product.images) == 1
    with pytest.raises(ServiceError):
        services.remove_image(manager, product, 999_999)
