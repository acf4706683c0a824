"""Sales point services: applying, photos, products and stock, reviews, carry requests, registry."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest
import sqlalchemy as sa

from marketplace.core.dates import HANOI
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.extensions import db
from marketplace.mail.models import OutgoingMail
from marketplace.sales_points import approvals, carrying, registry, services
from marketplace.sales_points.models import CarryRequest, SalesPoint, SalesPointProduct, SalesPointReview
from tests.helpers import image_bytes, make_product, make_sales_point

ALL_MET = {code: True for code in approvals.CHECKLIST_CODES}
NOON = datetime(2026, 12, 1, 12, 0, tzinfo=HANOI)


def data(**changes) -> services.SalesPointData:
    values = dict(
        name="  Cửa hàng OCOP   Phố Cổ ",
        kind="shop",
        district="hoan kiem",
        commune="Hàng Bạc",
        address="10 Hàng Bạc",
        lat=21.0335,
        lng=105.8532,
        opening_hours="8h-21h",
        phone="024 3826 1234",
        description="Gian trưng bày 20 m².",
        display_area_m2=20,
    )
    values.update(changes)
    return services.SalesPointData(**values)


def mails_to(email: str) -> list[OutgoingMail]:
    return list(db.session.scalars(sa.select(OutgoingMail).where(OutgoingMail.to == email)))


# --------------------------------------------------------------------------- applying


def test_apply_creates_a_pending_point_owned_by_the_operator(world):
    point = services.apply(world.operator, data())
    assert point.status == "pending" and point.owner_id == world.operator.id
    assert point.ref.startswith("HN-SP-")
    assert point.name == "Cửa hàng OCOP Phố Cổ"
    assert point.district == "Hoàn Kiếm"  # canonical spelling
    assert point.opening_hours == "08:00-21:00"
    assert not point.is_public


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "   "}, "name"),
        ({"kind": "castle"}, "kind"),
        ({"district": "Atlantis"}, "district"),
        ({"address": ""}, "address"),
        ({"lat": None}, "lat"),
        ({"lng": 200.0, "lat": 21.0}, "lng"),
        ({"opening_hours": "sáng thứ Hai"}, "opening_hours"),
        ({"phone": "gọi tôi"}, "phone"),
        ({"display_area_m2": 0}, "display_area_m2"),
        ({"name": "x" * 201}, "name"),
    ],
)
def test_apply_refuses_bad_input_naming_the_field(world, changes, field):
    with pytest.raises(ServiceError) as error:
        services.apply(world.operator, data(**changes))
    assert error.value.field == field
    assert error.value.message


def test_only_sales_point_users_apply(world):
    with pytest.raises(NotAllowed):
        services.apply(world.producer_user, data())


def test_apply_with_photos_and_a_bad_photo_saves_nothing(world, app):
    point = services.apply(world.operator, data(), [services.Upload("mat-tien.jpg", image_bytes())])
    assert len(point.photos) == 1
    db.session.commit()
    before = db.session.scalar(sa.select(sa.func.count(SalesPoint.id)))
    uploads = app.config["UPLOAD_DIR"]
    files = set(uploads.rglob("*"))
    with pytest.raises(ServiceError) as error:
        services.apply(
            world.operator,
            data(name="Khác"),
            [services.Upload("tot.jpg", image_bytes()), services.Upload("xau.jpg", b"<html>")],
        )
    assert error.value.field == "photos" and "xau.jpg" in error.value.message
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(SalesPoint.id))) == before
    assert set(uploads.rglob("*")) == files  # the good photo's files were removed again


def test_update_by_another_operator_is_refused(world):
    with pytest.raises(NotAllowed):
        services.update_point(world.other_operator, world.point, data())


def test_update_resubmits_a_rejected_application(world):
    approvals.reject(world.organiser, world.pending, "Thiếu ảnh khu trưng bày")
    assert world.pending.status == "rejected"
    services.update_point(world.operator, world.pending, data(name="Cửa hàng đã bổ sung"))
    assert world.pending.status == "pending" and world.pending.name == "Cửa hàng đã bổ sung"


def test_editing_an_approved_point_keeps_it_approved(world):
    services.update_point(world.operator, world.point, data())
    assert world.point.status == "approved"


def test_photos_limit_and_delete(world, app):
    app.config["MAX_SALES_POINT_PHOTOS"] = 2
    result = services.add_photos(
        world.operator, world.point, [services.Upload(f"{n}.png", image_bytes("PNG")) for n in range(3)]
    )
    assert len(result.added) == 2 and len(result.errors) == 1
    with pytest.raises(NotAllowed):
        services.delete_photo(world.other_operator, world.point, result.added[0].id)
    stored = services.delete_photo(world.operator, world.point, result.added[0].id)
    assert stored.filename and len(world.point.photos) == 1
    with pytest.raises(ServiceError):
        services.delete_photo(world.operator, world.foreign, result.added[1].id)


# --------------------------------------------------------------------------- products and stock


def test_search_catalogue_is_diacritic_insensitive_and_public_only(world):
    assert [p.ref for p in services.search_catalogue("lan may")] == ["P-BASKET"]
    assert [p.ref for p in services.search_catalogue("NẾP CÁI")] == ["P-RICE"]
    assert services.search_catalogue("gạo")[0].ref == "P-RICE"  # the producer's name matches too
    assert services.search_catalogue("bản nháp") == []  # drafts are not offered
    assert services.search_catalogue("nếp cái", exclude=[world.rice.id]) == []
    assert services.search_catalogue("   ") == []
    assert services.search_catalogue("'; DROP TABLE products; --") == []


def test_add_remove_products_and_keep_stock_current(world):
    services.add_product(world.operator, world.point, world.tea.id)
    db.session.commit()
    assert {p.ref for p in db.session.get(SalesPoint, world.point.id).products} == {"P-RICE", "P-TEA"}
    with pytest.raises(ServiceError):
        services.add_product(world.operator, world.point, world.tea.id)  # already carried
    with pytest.raises(ServiceError):
        services.add_product(world.operator, world.point, world.draft.id)  # not public
    with pytest.raises(ServiceError):
        services.add_product(world.operator, world.point, 999_999)

    changed = services.set_stock(world.operator, world.point, [world.tea.id, world.basket.id])
    assert changed == 1  # rice went out of stock; basket is not carried and is ignored
    flags = {r.product.ref: r.in_stock for r in services.carried_rows(world.point)}
    assert flags == {"P-RICE": False, "P-TEA": True}

    services.remove_product(world.operator, world.point, world.rice.id)
    db.session.commit()
    assert [p.ref for p in db.session.get(SalesPoint, world.point.id).products] == ["P-TEA"]
    with pytest.raises(ServiceError):
        services.remove_product(world.operator, world.point, world.rice.id)


def test_products_of_someone_elses_point_cannot_be_changed(world):
    for call in (
        lambda: services.add_product(world.operator, world.foreign, world.rice.id),
        lambda: services.remove_product(world.operator, world.foreign, world.basket.id),
        lambda: services.set_stock(world.operator, world.foreign, []),
    ):
        with pytest.raises(NotAllowed):
            call()
    assert db.session.get(SalesPointProduct, (world.foreign.id, world.basket.id)).in_stock is True


# --------------------------------------------------------------------------- reviews


def test_approve_needs_every_checklist_item_and_is_recorded(world):
    with pytest.raises(ServiceError) as error:
        approvals.approve(world.organiser, world.pending, {**ALL_MET, "display": False})
    assert error.value.field == "checklist"
    assert world.pending.status == "pending"

    review = approvals.approve(world.organiser, world.pending, ALL_MET, "Đạt")
    assert world.pending.status == "approved"
    assert review.reviewer_id == world.organiser.id and review.decision == "approved"
    assert review.checklist == ALL_MET and review.created_at.tzinfo is not None
    [mail] = mails_to(world.operator.email)
    assert "đã được duyệt" in mail.subject and world.pending.ref in mail.body


def test_reject_needs_a_reason_and_notifies(world):
    with pytest.raises(ServiceError) as error:
        approvals.reject(world.organiser, world.pending, "   ")
    assert error.value.field == "reason"
    approvals.reject(world.organiser, world.pending, "Không có khu trưng bày riêng", {"place": True})
    assert world.pending.status == "rejected"
    review = world.pending.reviews[0]
    assert review.decision == "rejected" and review.checklist["place"] is True and review.checklist["display"] is False
    [mail] = mails_to(world.operator.email)
    assert "Không có khu trưng bày riêng" in mail.body


def test_suspend_and_reinstate(world):
    with pytest.raises(ServiceError):
        approvals.suspend(world.organiser, world.point, "")
    approvals.suspend(world.admin, world.point, "Hết sản phẩm OCOP trên kệ")
    assert world.point.status == "suspended"
    approvals.reinstate(world.organiser, world.point, "Đã khắc phục")
    assert world.point.status == "approved"
    assert [r.decision for r in world.point.reviews] == ["reinstated", "suspended"]
    assert len(mails_to(world.operator.email)) == 2


def test_decisions_only_from_the_right_status(world):
    with pytest.raises(ServiceError):
        approvals.approve(world.organiser, world.point, ALL_MET)  # already approved
    with pytest.raises(ServiceError):
        approvals.suspend(world.organiser, world.pending, "lý do")  # not approved yet
    with pytest.raises(ServiceError):
        approvals.reinstate(world.organiser, world.point)  # not suspended
    assert db.session.scalar(sa.select(sa.func.count(SalesPointReview.id))) == 0


def test_only_staff_review(world):
    for user in (world.operator, world.producer_user, world.buyer, None):
        with pytest.raises(NotAllowed):
            approvals.approve(user, world.pending, ALL_MET)
        with pytest.raises(NotAllowed):
            approvals.suspend(user, world.point, "lý do")
    assert world.pending.status == "pending" and world.point.status == "approved"


def test_review_facts_count_rated_products(world):
    services.add_product(world.operator, world.point, world.tea.id)
    expired = make_product(world.rice.producer, stars=5, issued_on=datetime(2020, 1, 1).date())
    world.point.carried  # noqa: B018 (loaded)
    services.add_product(world.operator, world.point, expired.id)
    facts = approvals.review_facts(world.point)
    assert facts.products == 3 and facts.rated == 2 and facts.in_stock == 3


def test_review_page_and_counts(world):
    page = approvals.review_page("pending", 1, 10)
    assert [p.ref for p in page.items] == ["SP-NEW"]
    assert approvals.status_counts() == {"pending": 1, "approved": 2, "suspended": 0, "rejected": 0}
    assert approvals.review_page("nonsense", 1, 10).items[0].ref == "SP-NEW"


# --------------------------------------------------------------------------- carry requests


def test_carry_request_accepted_adds_the_product(world):
    carry = carrying.request_carry(world.producer_user, world.foreign, world.tea, "Mời anh nhận bán trà sen")
    assert carry.status == "pending"
    [mail] = mails_to(world.other_operator.email)
    assert "Trà sen Tây Hồ" in mail.subject and "Mời anh nhận bán trà sen" in mail.body
    with pytest.raises(ServiceError):
        carrying.request_carry(world.producer_user, world.foreign, world.tea)  # already pending
    with pytest.raises(NotAllowed):
        carrying.accept_request(world.operator, carry)  # not this operator's point
    carrying.accept_request(world.other_operator, carry, "Đồng ý")
    assert carry.status == "accepted" and carry.decided_by_id == world.other_operator.id
    assert db.session.get(SalesPointProduct, (world.foreign.id, world.tea.id)).in_stock is True
    assert len(mails_to(world.producer_user.email)) == 1
    with pytest.raises(ServiceError):
        carrying.decline_request(world.other_operator, carry)  # already decided
    with pytest.raises(ServiceError):
        carrying.request_carry(world.producer_user, world.foreign, world.tea)  # now carried


def test_carry_request_declined_and_withdrawn(world):
    first = carrying.request_carry(world.producer_user, world.foreign, world.rice)
    carrying.decline_request(world.other_operator, first, "Chưa có chỗ trưng bày")
    assert first.status == "declined" and first.response == "Chưa có chỗ trưng bày"
    second = carrying.request_carry(world.producer_user, world.foreign, world.rice)
    with pytest.raises(NotAllowed):
        carrying.withdraw_request(world.other_producer_user, second)
    carrying.withdraw_request(world.producer_user, second)
    assert second.status == "withdrawn"
    assert [c.id for c in carrying.outgoing_requests(world.producer_user)] == [second.id, first.id]
    assert carrying.incoming_requests(world.other_operator) == []


def test_carry_request_rules(world):
    with pytest.raises(NotAllowed):
        carrying.request_carry(world.producer_user, world.foreign, world.basket)  # not its product
    with pytest.raises(ServiceError) as error:
        carrying.request_carry(world.producer_user, world.foreign, world.draft)
    assert error.value.field == "product_id"
    with pytest.raises(ServiceError) as error:
        carrying.request_carry(world.producer_user, world.pending, world.tea)
    assert error.value.field == "sales_point_id"
    imported = make_sales_point([], ref="SP-IMPORTED")
    with pytest.raises(ServiceError):
        carrying.request_carry(world.producer_user, imported, world.tea)  # nobody to answer
    assert db.session.scalar(sa.select(sa.func.count(CarryRequest.id))) == 0
    assert [p.ref for p in carrying.requestable_points()] == ["SP-HK", "SP-LB"]


def test_carriers_of_lists_approved_points_with_stock(world):
    services.set_stock(world.operator, world.point, [])
    carriers = carrying.carriers_of([world.rice, world.tea])
    assert [(c.point.ref, c.in_stock) for c in carriers[world.rice.id]] == [("SP-HK", False)]
    assert carriers[world.tea.id] == []
    assert {p.ref for p in carrying.managed_products(world.producer_user)} == {"P-RICE", "P-TEA", "P-DRAFT"}


# --------------------------------------------------------------------------- registry and open data


def refs(rows) -> list[str]:
    return [r.point.ref for r in rows]


def test_registry_filters(world):
    make_sales_point([world.tea], ref="SP-UNKNOWN-HOURS", district="Hoàn Kiếm", opening_hours="")
    f = registry.RegistryFilters
    assert refs(registry.registry_rows(f(), NOON)) == ["SP-HK", "SP-UNKNOWN-HOURS", "SP-LB"]
    assert refs(registry.registry_rows(f(district="Long Biên"), NOON)) == ["SP-LB"]
    assert refs(registry.registry_rows(f(kind="mall"), NOON)) == ["SP-LB"]
    assert refs(registry.registry_rows(f(group="handicraft"), NOON)) == ["SP-LB"]
    assert refs(registry.registry_rows(f(group="beverage"), NOON)) == ["SP-UNKNOWN-HOURS"]
    assert refs(registry.registry_rows(f(q="hang trong"), NOON)) == ["SP-HK"]
    late = datetime(2026, 12, 1, 23, 0, tzinfo=HANOI)
    assert refs(registry.registry_rows(f(open_now=True), NOON)) == ["SP-HK", "SP-LB"]
    assert refs(registry.registry_rows(f(open_now=True), late)) == ["SP-LB"]
    near = registry.registry_rows(f(near=(21.047, 105.876)), NOON)
    assert refs(near)[0] == "SP-LB" and near[0].distance_km < 1
    assert [r.products for r in registry.registry_rows(f(district="Hoàn Kiếm"), NOON)] == [1, 1]


def test_registry_filters_from_args_are_lenient():
    f = registry.RegistryFilters.from_args(
        {"district": "dong anh", "kind": "castle", "group": "food", "open": "1", "near": "91,200"}
    )
    assert (f.district, f.kind, f.group, f.open_now, f.near) == ("Đông Anh", "", "food", True, None)
    assert registry.RegistryFilters.from_args({"near": "21.03,105.85"}).near == (21.03, 105.85)
    assert registry.RegistryFilters.from_args({"near": "nan,1"}).near is None


def test_export_csv_is_the_contract_format_and_reimports(world, app, tmp_path):
    services.add_product(world.operator, world.point, world.tea.id)
    make_sales_point([], ref="SP-FORMULA", name='=HYPERLINK("x")', district="Ba Đình", phone="+84 24 1234")
    db.session.commit()
    text = registry.export_csv(registry.export_points(registry.RegistryFilters(), NOON))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(registry.CSV_COLUMNS)
    by_ref = {r["ref"]: r for r in rows}
    assert set(by_ref) == {"SP-HK", "SP-LB", "SP-FORMULA"}  # approved only
    assert by_ref["SP-HK"]["product_refs"] == "P-RICE;P-TEA"
    assert by_ref["SP-HK"]["lat"] == "21.029" and by_ref["SP-HK"]["opening_hours"] == "08:00-21:00"
    assert by_ref["SP-FORMULA"]["name"].startswith("'=")
    assert by_ref["SP-FORMULA"]["phone"] == "+84 24 1234"

    from marketplace.imports.reading import validate_sales_points
    from marketplace.imports.services import import_sales_points

    path = tmp_path / "points.csv"
    path.write_text(registry.export_csv(registry.export_points(registry.RegistryFilters(district="Hoàn Kiếm"), NOON)))
    rows, problems = validate_sales_points(path)
    assert problems == []
    report = import_sales_points(rows)
    assert report.created == 0 and report.updated == 0


def test_export_geojson(world):
    make_sales_point([], ref="SP-NOWHERE", district="Ba Đình")
    data = registry.export_geojson(registry.export_points(registry.RegistryFilters(), NOON))
    json.dumps(data)
    assert data["type"] == "FeatureCollection"
    by_ref = {f["properties"]["ref"]: f for f in data["features"]}
    assert set(by_ref) == {"SP-HK", "SP-LB", "SP-NOWHERE"}
    assert by_ref["SP-HK"]["geometry"] == {"type": "Point", "coordinates": [105.851, 21.029]}
    assert by_ref["SP-HK"]["properties"]["product_refs"] == ["P-RICE"]
    assert by_ref["SP-NOWHERE"]["geometry"] is None


def test_point_products_are_public_ones_in_stock_first(world):
    services.add_product(world.operator, world.point, world.tea.id)
    world.point.products.append(world.draft)  # e.g. from an import; never shown
    db.session.commit()
    services.set_stock(world.operator, world.point, [world.tea.id])
    items = registry.point_products(world.point)
    assert [(i.product.ref, i.in_stock) for i in items] == [("P-TEA", True), ("P-RICE", False)]
    assert [i.product.ref for i in registry.point_products(world.point, "beverage")] == ["P-TEA"]
    assert registry.stock_by_point(world.rice) == {world.point.id: False}
