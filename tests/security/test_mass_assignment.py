"""Mass assignment: fields a form does not offer (owner, status, role, paid, amount…) posted next to
the real ones change nothing; ids of objects the user does not manage are refused or ignored."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from tests.security.matrix_world import build_world, fingerprint, snapshot

# Extra fields a forged form adds. Values name buyer B / producer B (the outsiders) where an id is
# expected; WTForms ignores unknown fields, so none of these may reach a model.
EXTRA = {
    "status": "approved",
    "state": "paid",
    "role": "admin",
    "roles": "admin",
    "roles_text": "admin",
    "paid": "1",
    "paid_at": "2026-11-01T00:00:00",
    "amount_vnd": "1",
    "verified": "1",
    "suspended": "1",
    "email_verified_at": "2026-11-01T00:00:00",
    "hidden": "1",
    "quote_count": "99",
}


@pytest.fixture
def world(app):
    return build_world()


class _Client:
    """A test client logged in as `role`. Each request starts with the test's session closed, as a
    real request starts with a fresh one (an open read would keep SQLite's write lock unregistered)."""

    def __init__(self, app, world, role):
        self.client = app.test_client()
        if role:
            with self.client.session_transaction() as sess:
                sess["_user_id"] = world.session_ids[role]
                sess["_fresh"] = True

    def post(self, *args, **kwargs):
        db.session.close()
        return self.client.post(*args, **kwargs)


def _client(app, world, role):
    return _Client(app, world, role)


def _extra(world, **more):
    return {
        **EXTRA,
        "user_id": world.user_ids["buyer_b"],
        "owner_id": world.user_ids["buyer_b"],
        "buyer_id": world.user_ids["buyer_b"],
        "author_id": world.user_ids["buyer_b"],
        **more,
    }


def _get(model, object_id):
    db.session.expire_all()
    return db.session.get(model, object_id)


def _latest(model):
    db.session.expire_all()
    return db.session.scalar(sa.select(model).order_by(model.id.desc()).limit(1))


def test_registration_never_grants_a_role(app):
    from marketplace.accounts.models import User

    client = app.test_client()
    response = client.post(
        "/register",
        data={
            **EXTRA,
            "role": "admin",
            "email": "moi@example.vn",
            "password": "mat-khau-rat-dai-123",
            "confirm": "mat-khau-rat-dai-123",
            "name": "Người mới",
            "privacy_consent": "y",
        },
    )
    assert response.status_code in (200, 400)  # "admin" is not a choice: the form is shown again
    assert db.session.scalar(sa.select(User).where(User.email == "moi@example.vn")) is None
    response = client.post(
        "/register",
        data={
            **EXTRA,
            "role": "buyer",
            "email": "moi@example.vn",
            "password": "mat-khau-rat-dai-123",
            "confirm": "mat-khau-rat-dai-123",
            "name": "Người mới",
            "privacy_consent": "y",
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "moi@example.vn"))
    assert user.roles == {"buyer"} and not user.suspended and user.email_verified_at is None


def test_profile_edit_keeps_roles_and_state(app, world):
    from marketplace.accounts.models import User

    buyer = _get(User, world.user_ids["buyer"])
    before = (buyer.roles, buyer.email, buyer.suspended, buyer.email_verified_at)
    response = _client(app, world, "buyer").post(
        "/account", data={**_extra(world), "name": "Tên mới", "locale": "vi", "email": "khac@example.vn"}
    )
    assert response.status_code == 302
    user = _get(User, buyer.id)
    assert user.name == "Tên mới"
    assert (user.roles, user.email, user.suspended, user.email_verified_at) == before


def test_buyer_profile_belongs_to_the_poster(app, world):
    from marketplace.inquiries.models import BuyerProfile

    response = _client(app, world, "buyer").post(
        "/buyer/profile", data={**_extra(world), "organisation": "Công ty A", "kind": "retailer", "contact_name": "An"}
    )
    assert response.status_code == 302, response.status_code
    db.session.expire_all()
    profiles = db.session.scalars(sa.select(BuyerProfile)).all()
    assert [(p.user_id, p.organisation) for p in profiles] == [(world.user_ids["buyer"], "Công ty A")]


def test_product_edit_keeps_producer_status_and_verification(app, world):
    from marketplace.catalog.models import Product

    product_id = world.ids["product_id"]
    product = _get(Product, product_id)
    product.status = "draft"
    product.certificate.verified = False
    db.session.commit()
    response = _client(app, world, "producer").post(
        f"/my/products/{product_id}/edit",
        data={
            **_extra(world),
            "producer_id": world.producer_b_id,
            "status": "published",
            "hidden": "1",
            "name": "Giỏ mây mới",
            "ocop_group": "handicraft",
            "unit": "cái",
            "cert_stars": "5",
            "cert_number": "CN-1",
            "cert_level": "national",
            "cert_issued_on": "2025-03-01",
            "cert_verified": "1",
        },
    )
    assert response.status_code == 302, response.status_code
    product = _get(Product, product_id)
    assert product.name == "Giỏ mây mới"
    assert product.producer_id == world.ids["producer_id"]
    assert product.status == "draft"
    assert product.certificate.verified is False


def test_new_product_for_another_producer_is_refused(app, world):
    base = fingerprint(snapshot())
    response = _client(app, world, "producer").post(
        "/my/products/new",
        data={**_extra(world), "producer_id": world.producer_b_id, "name": "Hàng giả", "ocop_group": "food"},
    )
    assert response.status_code == 403
    assert fingerprint(snapshot()) == base


def test_new_product_starts_as_an_unverified_draft(app, world):
    from marketplace.catalog.models import Product

    response = _client(app, world, "producer").post(
        "/my/products/new",
        data={
            **_extra(world),
            "producer_id": world.ids["producer_id"],
            "status": "published",
            "name": "Nón lá mới",
            "ocop_group": "handicraft",
            "unit": "cái",
            "cert_stars": "5",
            "cert_number": "CN-9",
            "cert_level": "national",
            "cert_issued_on": "2025-03-01",
            "cert_verified": "1",
        },
    )
    assert response.status_code == 302, response.status_code
    product = _latest(Product)
    assert product.name == "Nón lá mới" and product.producer_id == world.ids["producer_id"]
    assert product.status == "draft"
    assert product.certificate is None or not product.certificate.verified


def test_inquiry_is_the_posters_and_open(app, world):
    from marketplace.inquiries.models import Inquiry

    response = _client(app, world, "buyer_b").post(
        f"/inquiries/new?product={world.product_ref}",
        data={
            **_extra(world, buyer_id=world.user_ids["buyer"]),
            "producer_id": world.producer_b_id,
            "status": "closed",
            "quantity": "20",
            "unit": "cái",
            "message": "Xin báo giá",
        },
    )
    assert response.status_code == 302, response.status_code
    inquiry = _latest(Inquiry)
    assert inquiry.buyer_id == world.user_ids["buyer_b"]
    assert inquiry.producer_id == world.ids["producer_id"]  # the product's producer, not the posted one
    assert inquiry.status == "open"


def test_rfq_is_the_posters_and_open(app, world):
    from marketplace.inquiries.models import Rfq

    response = _client(app, world, "buyer_b").post(
        "/rfqs/new",
        data={
            **_extra(world, buyer_id=world.user_ids["buyer"]),
            "status": "awarded",
            "hidden": "1",
            "quote_count": "9",
            "max_quotes": "1000",
            "title": "Mua chè",
            "ocop_group": "beverage",
            "delivery_district": "",
            "quantity": "100",
            "unit": "hộp",
            "deadline": (date.today() + timedelta(days=10)).isoformat(),
            "visibility": "public",
            "min_stars": "0",
        },
    )
    assert response.status_code == 302, response.status_code
    rfq = _latest(Rfq)
    assert rfq.title == "Mua chè" and rfq.buyer_id == world.user_ids["buyer_b"]
    assert (rfq.status, rfq.hidden, rfq.quote_count, rfq.max_quotes) == ("open", False, 0, 10)


def test_quote_for_an_unmanaged_producer_is_refused(app, world):
    """Producer B quotes on an open RFQ naming producer A: nothing is stored."""
    from marketplace.inquiries.models import Quote, Rfq

    rfq = Rfq(
        buyer_id=world.user_ids["buyer"],
        title="Cần chè",
        quantity=10,
        unit="hộp",
        deadline=date.today() + timedelta(days=10),
    )
    db.session.add(rfq)
    db.session.commit()
    before = db.session.scalar(sa.select(sa.func.count(Quote.id)))
    response = _client(app, world, "producer_b").post(
        f"/rfqs/{rfq.id}/quotes",
        data={
            **_extra(world),
            "producer_id": world.ids["producer_id"],
            "unit_price_vnd": "100000",
            "lead_time_days": "5",
            "valid_until": (date.today() + timedelta(days=20)).isoformat(),
        },
    )
    assert response.status_code in (400, 403, 404)
    assert db.session.scalar(sa.select(sa.func.count(Quote.id))) == before
    # Producer B for itself: the quote is B's, submitted, by B's user.
    response = _client(app, world, "producer_b").post(
        f"/rfqs/{rfq.id}/quotes",
        data={
            **_extra(world),
            "status": "accepted",
            "producer_id": world.producer_b_id,
            "unit_price_vnd": "100000",
            "lead_time_days": "5",
            "valid_until": (date.today() + timedelta(days=20)).isoformat(),
        },
    )
    assert response.status_code == 302, response.status_code
    quote = _latest(Quote)
    assert (quote.producer_id, quote.status, quote.author_id) == (
        world.producer_b_id,
        "submitted",
        world.user_ids["producer_b"],
    )


def test_order_amount_and_state_come_from_the_server(app, world):
    from marketplace.payments.models import Order

    order = _get(Order, world.ids["order_id"])
    order.state = "cancelled"  # so a new deposit order can be made
    db.session.commit()
    response = _client(app, world, "buyer").post(
        f"/payments/quotes/{world.ids['quote_id']}/orders",
        data={**_extra(world), "kind": "deposit", "producer_id": world.producer_b_id, "settlement_state": "settled"},
    )
    assert response.status_code == 302, response.status_code
    new = _latest(Order)
    assert new.id != world.ids["order_id"]
    assert new.amount_vnd == 200 * 120_000 * 30 // 100
    assert (new.state, new.buyer_id, new.producer_id, new.settlement_state) == (
        "pending",
        world.user_ids["buyer"],
        world.ids["producer_id"],
        "unsettled",
    )


def test_marking_a_transfer_does_not_make_it_paid(app, world):
    from marketplace.payments.models import Order

    response = _client(app, world, "buyer").post(
        f"/payments/orders/{world.ids['order_id']}/transferred", data={**_extra(world), "method": "bank_transfer"}
    )
    assert response.status_code == 302
    order = _get(Order, world.ids["order_id"])
    assert order.state == "pending" and order.paid_at is None and order.amount_vnd > 1


def test_sales_point_application_is_pending_and_the_posters(app, world):
    from marketplace.sales_points.models import SalesPoint

    operator = make_operator()
    db.session.commit()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = operator.get_id()
    response = client.post(
        "/my/sales-points/new",
        data={
            **_extra(world),
            "name": "Điểm bán mới",
            "kind": "shop",
            "district": "Hoàn Kiếm",
            "address": "1 Hàng Bông",
            "ref": "HACKED",
        },
    )
    assert response.status_code == 302, response.status_code
    point = _latest(SalesPoint)
    assert point.name == "Điểm bán mới"
    assert (point.status, point.owner_id) == ("pending", operator.id)
    assert point.ref != "HACKED"


def make_operator():
    from tests.helpers import make_user

    return make_user(roles=("sales_point",), name="Chủ điểm bán mới")


def test_sales_point_edit_keeps_status_and_owner(app, world):
    from marketplace.sales_points.models import SalesPoint

    point_id = world.ids["point_id"]
    point = _get(SalesPoint, point_id)
    point.status = "suspended"
    db.session.commit()
    response = _client(app, world, "sales_point").post(
        f"/my/sales-points/{point_id}/edit",
        data={
            **_extra(world),
            "name": "Tên điểm mới",
            "kind": "shop",
            "district": "Hoàn Kiếm",
            "address": "2 Hàng Bông",
        },
    )
    assert response.status_code == 302, response.status_code
    point = _get(SalesPoint, point_id)
    assert point.name == "Tên điểm mới"
    assert (point.status, point.owner_id) == ("suspended", world.user_ids["sales_point"])


def test_bank_account_stays_with_the_url_producer(app, world):
    from marketplace.banking.models import ProducerBankAccount

    response = _client(app, world, "producer").post(
        f"/my/producers/{world.ids['producer_id']}/bank-account/edit",
        data={
            **_extra(world),
            "producer_id": world.producer_b_id,
            "bank_bin": "970415",
            "account_number": "0099887766",
            "holder_name": "Nguyen Van Phu",
            "created_by_id": world.user_ids["buyer_b"],
        },
    )
    assert response.status_code == 302, response.status_code
    accounts = db.session.scalars(sa.select(ProducerBankAccount)).all()
    assert [(a.producer_id, a.account_number) for a in accounts] == [(world.ids["producer_id"], "0099887766")]
    assert accounts[0].updated_by_id == world.user_ids["producer"]


def test_forum_registration_cannot_name_another_producer(app, world):
    """Producer B registers naming producer A and A's product: the form refuses the choice."""
    from marketplace.forums.models import Registration

    forum_id = world.ids["forum_id"]
    response = _client(app, world, "producer_b").post(
        f"/forums/{forum_id}/register",
        data={
            **_extra(world),
            "kind": "producer",
            "producer_id": world.ids["producer_id"],
            "product_ids": [world.ids["product_id"]],
            "organisation": "HTX giả",
            "contact_name": "B",
            "email": "b@example.vn",
            "phone": "0912345678",
            "session_ids": [],
            "offers": "Chè xanh",
            "checkin_code": "CHON-SAN",
        },
    )
    assert response.status_code in (200, 400, 403, 404)  # producer A is not one of B's choices
    db.session.expire_all()
    mine = db.session.scalar(
        sa.select(Registration).where(
            Registration.forum_id == forum_id, Registration.user_id == world.user_ids["producer_b"]
        )
    )
    assert mine is None


def test_forum_registration_is_pending(app, world):
    from marketplace.forums.models import Registration

    forum_id = world.ids["forum_id"]
    session_ids = [
        str(s)
        for s in db.session.scalars(sa.text("select id from forum_sessions where forum_id = :f").bindparams(f=forum_id))
    ]
    response = _client(app, world, "buyer_b").post(
        f"/forums/{forum_id}/register",
        data={
            **_extra(world),
            "kind": "buyer",
            "organisation": "Công ty B",
            "contact_name": "B",
            "email": "b@example.vn",
            "phone": "0912345678",
            "session_ids": session_ids,
            "seeks": "Giỏ mây, chè",
            "checkin_code": "CHON-SAN",
        },
    )
    assert response.status_code == 302, response.status_code
    db.session.expire_all()
    mine = db.session.scalar(
        sa.select(Registration).where(
            Registration.forum_id == forum_id, Registration.user_id == world.user_ids["buyer_b"]
        )
    )
    assert mine.status == "pending" and mine.checkin_code != "CHON-SAN" and mine.kind == "buyer"


def test_carry_request_for_another_producers_product_is_refused(app, world):
    base = fingerprint(snapshot())
    response = _client(app, world, "producer_b").post(
        "/my/producers/carry-requests",
        data={**_extra(world), "product_id": world.ids["product_id"], "sales_point_id": world.ids["point_id"]},
    )
    assert response.status_code in (400, 403, 404)
    assert fingerprint(snapshot()) == base


def test_json_api_post_stores_nothing(app, world):
    base = fingerprint(snapshot())
    response = app.test_client().post(
        "/api/v1/match",
        json={**EXTRA, "text": "giỏ mây", "quantity": 10, "producer_id": world.ids["producer_id"], "user_id": 1},
    )
    assert response.status_code in (200, 400, 422)
    assert fingerprint(snapshot()) == base
