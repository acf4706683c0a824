"""Fixtures for the forum tests (forums-core): users of each role and an open forum."""

from __future__ import annotations

import pytest

from tests.forums.factories import make_forum
from tests.helpers import make_producer, make_product, make_user


@pytest.fixture
def organiser(app):
    return make_user(roles=("organiser",), name="Ban tổ chức")


@pytest.fixture
def buyer(app):
    return make_user(roles=("buyer",), name="Chị Mua")


@pytest.fixture
def producer_user(app):
    return make_user(roles=("producer",), name="Anh Làm")


@pytest.fixture
def producer(producer_user):
    return make_producer(managers=[producer_user], name="HTX Miến dong Cự Đà")


@pytest.fixture
def product(producer):
    return make_product(producer, name="Miến dong Cự Đà", ocop_group="food")


@pytest.fixture
def forum(organiser):
    return make_forum(created_by=organiser, sessions=2, slots_per_session=3, tables=2)
