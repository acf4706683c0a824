"""Fixtures for inquiries, RFQs and quotes: a buyer, two fitting producers, one that does not fit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask import g

from marketplace.accounts.models import User
from marketplace.extensions import db
from marketplace.inquiries import rfqs
from marketplace.producers.models import Producer
from tests import helpers
from tests.helpers import make_producer, make_product, make_user

TODAY = date(2026, 12, 1)  # TestConfig's MARKETPLACE_TODAY


@dataclass
class World:
    buyer: User
    other_buyer: User
    seller_a: User
    seller_b: User
    seller_c: User  # manages a handicraft producer: does not fit a food RFQ
    organiser: User
    producer_a: Producer
    producer_b: Producer
    producer_c: Producer
    product_a: object


@pytest.fixture
def world(app) -> World:
    buyer = make_user(roles=("buyer",), email="buyer@example.vn", name="Chị Mai", organisation="Siêu thị Xanh")
    other_buyer = make_user(roles=("buyer",), email="other-buyer@example.vn")
    seller_a = make_user(roles=("producer",), email="a@example.vn", name="Anh An")
    seller_b = make_user(roles=("producer",), email="b@example.vn", name="Chị Bình")
    seller_c = make_user(roles=("producer",), email="c@example.vn")
    organiser = make_user(roles=("organiser",), email="organiser@example.vn")
    producer_a = make_producer(managers=[seller_a], name="HTX Chè Tân Cương", district="Sóc Sơn")
    producer_b = make_producer(managers=[seller_b], name="HTX Chè Ba Vì", district="Ba Vì", lat=21.08, lng=105.37)
    producer_c = make_producer(managers=[seller_c], name="HTX Mây tre Phú Vinh", district="Chương Mỹ")
    product_a = make_product(producer_a, name="Chè xanh Shan tuyết", ocop_group="beverage", stars=4, unit="hộp")
    make_product(producer_b, name="Chè xanh Ba Vì", ocop_group="beverage", stars=3, unit="hộp")
    make_product(producer_c, name="Làn mây đan", ocop_group="handicraft", stars=4, unit="chiếc")
    db.session.commit()
    return World(
        buyer, other_buyer, seller_a, seller_b, seller_c, organiser, producer_a, producer_b, producer_c, product_a
    )


def rfq_data(**changes) -> rfqs.RfqData:
    data = rfqs.RfqData(
        title="Chè xanh đóng hộp quà Tết",
        details="Hộp 200 g, có tem OCOP.",
        ocop_group="beverage",
        quantity=500,
        unit="hộp",
        min_stars=3,
        target_price_vnd=120_000,
        deadline=TODAY + timedelta(days=10),
        delivery_district="Hoàn Kiếm",
    )
    for key, value in changes.items():
        setattr(data, key, value)
    return data


def quote_data(**changes) -> rfqs.QuoteData:
    data = rfqs.QuoteData(
        unit_price_vnd=110_000, moq=100, lead_time_days=7, valid_until=TODAY + timedelta(days=30), note="Giao tận nơi."
    )
    for key, value in changes.items():
        setattr(data, key, value)
    return data


@pytest.fixture
def as_user(client):
    """Switch the user logged in on `client` (None logs out)."""

    def switch(user) -> None:
        g.pop("_login_user", None)
        if user is None:
            with client.session_transaction() as sess:
                sess.clear()
        else:
            helpers.login(client, user)

    return switch
