"""Access control for every catalogue route that changes something.

Anonymous users go to the login page, users without the role get 403, a manager of another
producer gets 403 (the id changed in the URL or posted in a form field), staff can hide but not
edit; and in every refused case nothing changes in the database."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from marketplace.catalog.models import Product, ProductImage
from marketplace.extensions import db
from tests.helpers import image_bytes, make_producer, make_product, make_user

PRODUCT_FORM = {
    "name": "Tên đã đổi",
    "ocop_group": "beverage",
    "unit": "hộp",
    "price_min_vnd": "1",
    "cert_stars": "0",
    "cert_level": "province",
}


@pytest.fixture
def world(app):
    owner = make_user(roles=("producer",))
    producer = make_producer(managers=[owner], name="HTX Chủ sở hữu")
    other = make_user(roles=("producer",))
    make_producer(managers=[other], name="HTX Khác")
    product = make_product(producer, ref="OWNED", status="published", price_min_vnd=100)
    product.images.append(ProductImage(filename="a.jpg", thumb_filename="thumbs/a.jpg", position=0))
    product.images.append(ProductImage(filename="b.jpg", thumb_filename="thumbs/b.jpg", position=1))
    users = {
        "owner": owner,
        "other": other,
        "buyer": make_user(roles=("buyer",)),
        "organiser": make_user(roles=("organiser",)),
        "admin": make_user(roles=("admin",)),
    }
    db.session.commit()
    return {"product": product, "producer": producer, "users": users}


def snapshot() -> tuple:
    db.session.expire_all()
    products = db.session.execute(
        sa.select(
            Product.id,
            Product.name,
            Product.ocop_group,
            Product.status,
            Product.hidden,
            Product.hidden_reason,
            Product.price_min_vnd,
        ).order_by(Product.id)
    ).all()
    images = db.session.execute(sa.select(ProductImage.id, ProductImage.position).order_by(ProductImage.id)).all()
    return tuple(products), tuple(images)


def manager_requests(world) -> list[tuple[str, str, dict | None]]:
    product = world["product"]
    first, second = product.images
    pid = product.id
    return [
        ("POST", "/my/products/new", {**PRODUCT_FORM, "producer_id": str(world["producer"].id)}),
        ("GET", f"/my/products/{pid}/edit", None),
        ("POST", f"/my/products/{pid}/edit", PRODUCT_FORM),
        ("POST", f"/my/products/{pid}/publish", {}),
        ("POST", f"/my/products/{pid}/unpublish", {}),
        ("POST", f"/my/products/{pid}/archive", {}),
        ("POST", f"/my/products/{pid}/restore", {}),
        ("POST", f"/my/products/{pid}/images", {"images": [(io.BytesIO(image_bytes()), "x.jpg")]}),
        ("POST", f"/my/products/{pid}/images/{first.id}/delete", {}),
        ("POST", f"/my/products/{pid}/images/{second.id}/first", {}),
    ]


def staff_requests(world) -> list[tuple[str, str, dict | None]]:
    pid = world["product"].id
    return [
        ("POST", f"/admin/products/{pid}/hide", {"reason": "Thử ẩn"}),
        ("POST", f"/admin/products/{pid}/unhide", {}),
    ]


def send(client, method: str, url: str, data: dict | None):
    if method == "GET":
        return client.get(url)
    return client.post(url, data=data, content_type="multipart/form-data")


@pytest.mark.parametrize("who", [None, "buyer", "other", "organiser", "admin"])
def test_manager_routes_refuse_everyone_but_the_managers(client, as_user, world, who):
    before = snapshot()
    as_user(world["users"][who] if who else None)
    for method, url, data in manager_requests(world):
        response = send(client, method, url, data)
        if who is None:
            assert response.status_code == 302 and "/login" in response.headers["Location"], url
        elif who == "other" and url == "/my/products/new":
            # another producer's id posted in the form field
            assert response.status_code == 403, url
        else:
            assert response.status_code == 403, (who, url)
        assert snapshot() == before, (who, url)


@pytest.mark.parametrize("who", [None, "buyer", "owner", "other"])
def test_staff_routes_refuse_everyone_but_staff(client, as_user, world, who):
    before = snapshot()
    as_user(world["users"][who] if who else None)
    for method, url, data in staff_requests(world):
        response = send(client, method, url, data)
        if who is None:
            assert response.status_code == 302 and "/login" in response.headers["Location"], url
        else:
            assert response.status_code == 403, (who, url)
        assert snapshot() == before, (who, url)


def test_unknown_ids_are_404(client, as_user, world):
    product = world["product"]
    as_user(world["users"]["owner"])
    for url in (
        "/my/products/999999/edit",
        "/my/products/999999/publish",
        f"/my/products/{product.id}/images/999999/delete",
        f"/my/products/{product.id}/images/999999/first",
    ):
        response = client.post(url, data={})
        assert response.status_code == 404, url
    as_user(world["users"]["organiser"])
    assert client.post("/admin/products/999999/hide", data={"reason": "x"}).status_code == 404


def test_the_owner_may_do_all_of_it(client, as_user, world):
    """The same requests succeed for the producer's manager (the refusals above are not 404s)."""
    as_user(world["users"]["owner"])
    for method, url, data in manager_requests(world):
        response = send(client, method, url, data)
        assert response.status_code in (200, 302), url
        assert response.status_code != 302 or "/login" not in response.headers["Location"]
    as_user(world["users"]["organiser"])
    for method, url, data in staff_requests(world):
        assert send(client, method, url, data).status_code == 302, url


def test_unverified_email_cannot_manage(client, as_user, world):
    user = make_user(roles=("producer",), verified=False)
    world["producer"].managers.append(user)
    db.session.commit()
    before = snapshot()
    as_user(user)
    response = client.post(f"/my/products/{world['product'].id}/archive")
    assert response.status_code == 302 and "/verify" in response.headers["Location"]
    assert snapshot() == before
