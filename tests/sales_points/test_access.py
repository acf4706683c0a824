"""Access control: operators change only their own points, only organisers/admins review, only a
product's managers ask points to carry it. Every changing route answers 403/404 (or the login page)
to the wrong user and changes nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from config import TestConfig
from marketplace import create_app
from marketplace.accounts.models import User
from marketplace.extensions import db
from marketplace.sales_points import approvals, carrying
from marketplace.sales_points.models import (
    CarryRequest,
    SalesPoint,
    SalesPointPhoto,
    SalesPointProduct,
    SalesPointReview,
)
from tests.helpers import login, make_user

FORM = {
    "name": "Đổi tên trái phép",
    "kind": "shop",
    "district": "Hoàn Kiếm",
    "address": "1 Tràng Tiền",
    "opening_hours": "08:00-17:00",
}


def snapshot() -> dict:
    """Everything a changing route could touch."""
    db.session.expire_all()
    return {
        "points": db.session.execute(
            sa.select(SalesPoint.id, SalesPoint.name, SalesPoint.status, SalesPoint.address).order_by(SalesPoint.id)
        ).all(),
        "carried": db.session.execute(
            sa.select(
                SalesPointProduct.sales_point_id, SalesPointProduct.product_id, SalesPointProduct.in_stock
            ).order_by(SalesPointProduct.sales_point_id, SalesPointProduct.product_id)
        ).all(),
        "photos": db.session.scalars(sa.select(SalesPointPhoto.id).order_by(SalesPointPhoto.id)).all(),
        "reviews": db.session.scalar(sa.select(sa.func.count(SalesPointReview.id))),
        "requests": db.session.execute(sa.select(CarryRequest.id, CarryRequest.status).order_by(CarryRequest.id)).all(),
    }


@pytest.fixture
def setup(world):
    """A photo on the operator's point and a pending carry request to the other operator's point."""
    photo = SalesPointPhoto(sales_point_id=world.point.id, filename="a.jpg", thumb_filename="thumbs/a.jpg")
    db.session.add(photo)
    carry = carrying.request_carry(world.producer_user, world.foreign, world.tea, "")
    db.session.commit()
    return world, photo, carry


def operator_routes(w, photo, carry) -> list[tuple[str, dict]]:
    """POST routes that change the operator's point `w.point` or answer its requests."""
    p = w.point.id
    return [
        (f"/my/sales-points/{p}/edit", FORM),
        (f"/my/sales-points/{p}/photos", {}),
        (f"/my/sales-points/{p}/photos/{photo.id}/delete", {}),
        (f"/my/sales-points/{p}/products/add", {"product_id": w.tea.id}),
        (f"/my/sales-points/{p}/products/remove", {"product_id": w.rice.id}),
        (f"/my/sales-points/{p}/stock", {}),
    ]


def review_routes(w) -> list[tuple[str, dict]]:
    checklist = {f"check_{c}": "y" for c in approvals.CHECKLIST_CODES}
    return [
        (f"/admin/sales-points/{w.pending.id}/approve", checklist),
        (f"/admin/sales-points/{w.pending.id}/reject", {"reason": "Không đạt"}),
        (f"/admin/sales-points/{w.point.id}/suspend", {"reason": "Tạm ngừng"}),
        (f"/admin/sales-points/{w.point.id}/reinstate", {}),
    ]


def test_anonymous_visitors_are_sent_to_login_for_every_changing_route(client, setup):
    w, photo, carry = setup
    before = snapshot()
    routes = [
        ("/my/sales-points/new", FORM),
        *operator_routes(w, photo, carry),
        *review_routes(w),
        (f"/my/carry-requests/{carry.id}/accept", {}),
        (f"/my/carry-requests/{carry.id}/decline", {}),
        ("/my/producers/carry-requests", {"product_id": w.rice.id, "sales_point_id": w.foreign.id}),
        (f"/my/producers/carry-requests/{carry.id}/withdraw", {}),
    ]
    for url, data in routes:
        response = client.post(url, data=data)
        assert response.status_code == 302 and "/login" in response.location, url
    assert snapshot() == before


def test_another_operator_gets_403_on_every_route_of_my_point(client, setup, as_user):
    w, photo, carry = setup
    as_user(w.other_operator)
    before = snapshot()
    for url, data in operator_routes(w, photo, carry):
        assert client.post(url, data=data).status_code == 403, url
    for url in (f"/my/sales-points/{w.point.id}/edit", f"/my/sales-points/{w.point.id}/products"):
        assert client.get(url).status_code == 403, url
    assert snapshot() == before


@pytest.mark.parametrize("role", ["buyer", "producer", "organiser", "admin"])
def test_users_without_the_operator_role_get_403(client, setup, as_user, role):
    w, photo, carry = setup
    as_user(make_user(roles=(role,)))
    db.session.commit()
    before = snapshot()
    for url, data in [("/my/sales-points/new", FORM), *operator_routes(w, photo, carry)]:
        assert client.post(url, data=data).status_code == 403, url
    assert client.get("/my/sales-points").status_code == 403
    assert snapshot() == before


def test_an_operator_who_lost_the_role_cannot_edit(client, setup, as_user):
    w, photo, carry = setup
    w.operator.roles = {"buyer"}
    db.session.commit()
    as_user(w.operator)
    before = snapshot()
    assert client.post(f"/my/sales-points/{w.point.id}/edit", data=FORM).status_code == 403
    assert snapshot() == before


def test_unknown_objects_are_404_and_change_nothing(client, setup, as_user):
    w, photo, carry = setup
    as_user(w.operator)
    before = snapshot()
    for url, data in [
        ("/my/sales-points/99999/edit", FORM),
        ("/my/sales-points/99999/photos", {}),
        ("/my/sales-points/99999/products/add", {"product_id": w.tea.id}),
        ("/my/sales-points/99999/stock", {}),
        ("/my/carry-requests/99999/accept", {}),
    ]:
        assert client.post(url, data=data).status_code == 404, url
    # a photo of someone else's point through my own point's URL
    other_photo = SalesPointPhoto(sales_point_id=w.foreign.id, filename="b.jpg", thumb_filename="thumbs/b.jpg")
    db.session.add(other_photo)
    db.session.commit()
    before = snapshot()
    assert client.post(f"/my/sales-points/{w.point.id}/photos/{other_photo.id}/delete").status_code == 404
    as_user(w.organiser)
    assert client.post("/admin/sales-points/99999/approve", data={}).status_code == 404
    assert client.get("/admin/sales-points/99999").status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("role", ["sales_point", "producer", "buyer"])
def test_only_organisers_and_admins_review(client, setup, as_user, role):
    w, photo, carry = setup
    user = w.operator if role == "sales_point" else make_user(roles=(role,))
    db.session.commit()
    as_user(user)
    before = snapshot()
    for url, data in review_routes(w):
        assert client.post(url, data=data).status_code == 403, url
    assert client.get("/admin/sales-points").status_code == 403
    assert client.get(f"/admin/sales-points/{w.pending.id}").status_code == 403
    assert snapshot() == before


def test_only_the_points_operator_answers_a_carry_request(client, setup, as_user):
    w, photo, carry = setup
    before = snapshot()
    as_user(w.operator)  # operates other points, not this one
    for decision in ("accept", "decline"):
        assert client.post(f"/my/carry-requests/{carry.id}/{decision}").status_code == 403
    as_user(w.producer_user)  # the requester
    assert client.post(f"/my/carry-requests/{carry.id}/accept").status_code == 403
    assert snapshot() == before


def test_only_a_products_managers_request_and_withdraw(client, setup, as_user):
    w, photo, carry = setup
    before = snapshot()
    as_user(w.other_producer_user)
    response = client.post(
        "/my/producers/carry-requests", data={"product_id": w.rice.id, "sales_point_id": w.foreign.id}
    )
    assert response.status_code == 403
    assert client.post(f"/my/producers/carry-requests/{carry.id}/withdraw").status_code == 403
    assert client.post("/my/producers/carry-requests/99999/withdraw").status_code == 404
    as_user(w.other_operator)
    assert client.post(f"/my/producers/carry-requests/{carry.id}/withdraw").status_code == 403
    assert client.get("/my/producers/sales-points").status_code == 403
    assert snapshot() == before


def test_changing_routes_are_post_only(client, setup, as_user):
    w, photo, carry = setup
    as_user(w.organiser)
    for url, _data in review_routes(w):
        assert client.get(url).status_code == 405
    as_user(w.operator)
    for url in (f"/my/sales-points/{w.point.id}/stock", f"/my/sales-points/{w.point.id}/products/add"):
        assert client.get(url).status_code == 405


def test_csrf_token_is_required(_schema, tmp_path, world):
    organiser_id, pending_id = world.organiser.id, world.pending.id
    db.session.remove()
    app = create_app(
        TestConfig, {"SQLALCHEMY_DATABASE_URI": _schema, "DATA_DIR": tmp_path / "csrf", "WTF_CSRF_ENABLED": True}
    )
    client = app.test_client()
    with app.app_context():
        try:
            login(client, db.session.get(User, organiser_id))
            checklist = {f"check_{c}": "y" for c in approvals.CHECKLIST_CODES}
            response = client.post(f"/admin/sales-points/{pending_id}/approve", data=checklist)
            assert response.status_code == 400
            assert db.session.get(SalesPoint, pending_id).status == "pending"
        finally:
            db.session.remove()
            db.engine.dispose()
