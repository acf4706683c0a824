"""Fixtures for the sales point registry tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import g

from marketplace.catalog.models import Product
from marketplace.extensions import db
from marketplace.sales_points.models import SalesPoint
from tests.helpers import login, make_producer, make_product, make_sales_point, make_user


@pytest.fixture
def as_user(client):
    """Log a user in on `client` (None logs out). The test's app context outlives requests, so
    Flask-Login's cached user in `g` is dropped whenever the user changes."""

    def switch(user) -> None:
        if user is None:
            with client.session_transaction() as sess:
                sess.clear()
        else:
            login(client, user)
        g.pop("_login_user", None)

    return switch


@dataclass
class World:
    operator: object
    other_operator: object
    organiser: object
    admin: object
    producer_user: object
    other_producer_user: object
    buyer: object
    rice: Product  # public, 4★, managed by producer_user
    tea: Product  # public, 3★, managed by producer_user
    basket: Product  # public handicraft of another producer
    draft: Product
    point: SalesPoint  # approved, operated by `operator`, carries rice
    pending: SalesPoint  # pending, operated by `operator`
    foreign: SalesPoint  # approved, operated by `other_operator`, carries basket


@pytest.fixture
def world(app) -> World:
    operator = make_user(roles=("sales_point",), name="Chị Lan")
    other_operator = make_user(roles=("sales_point",), name="Anh Minh")
    organiser = make_user(roles=("organiser",), name="Ban tổ chức")
    admin = make_user(roles=("admin",))
    producer_user = make_user(roles=("producer",))
    other_producer_user = make_user(roles=("producer",))
    buyer = make_user(roles=("buyer",))
    farm = make_producer(managers=[producer_user], name="HTX Gạo Sóc Sơn", district="Sóc Sơn")
    crafts = make_producer(managers=[other_producer_user], name="HTX Mây tre Phú Vinh", district="Chương Mỹ")
    rice = make_product(farm, name="Gạo nếp cái hoa vàng", ref="P-RICE", stars=4)
    tea = make_product(farm, name="Trà sen Tây Hồ", ref="P-TEA", stars=3, ocop_group="beverage")
    basket = make_product(crafts, name="Làn mây đan tay", ref="P-BASKET", ocop_group="handicraft")
    draft = make_product(farm, name="Bản nháp", ref="P-DRAFT", status="draft")
    point = make_sales_point(
        [rice],
        ref="SP-HK",
        name="Điểm OCOP Hàng Trống",
        district="Hoàn Kiếm",
        commune="Hàng Trống",
        address="25 Hàng Trống",
        lat=21.029,
        lng=105.851,
        opening_hours="08:00-21:00",
        phone="024 3826 0001",
        owner_id=operator.id,
    )
    pending = make_sales_point(
        [], status="pending", ref="SP-NEW", name="Cửa hàng chờ duyệt", district="Cầu Giấy", owner_id=operator.id
    )
    foreign = make_sales_point(
        [basket],
        ref="SP-LB",
        name="Siêu thị OCOP Long Biên",
        kind="mall",
        district="Long Biên",
        lat=21.046,
        lng=105.875,
        opening_hours="00:00-24:00",
        owner_id=other_operator.id,
    )
    db.session.commit()
    return World(
        operator,
        other_operator,
        organiser,
        admin,
        producer_user,
        other_producer_user,
        buyer,
        rice,
        tea,
        basket,
        draft,
        point,
        pending,
        foreign,
    )
