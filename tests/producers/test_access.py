"""Access control for every producer route that changes something: who may, and nothing changes otherwise."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from flask import g

from config import TestConfig
from marketplace import create_app
from marketplace.extensions import db
from marketplace.producers import claims, services
from marketplace.producers.models import ProducerClaim, producer_managers
from tests import helpers
from tests.helpers import image_bytes, make_producer, make_product, make_user

TABLES = (
    "producers",
    "producer_managers",
    "producer_photos",
    "producer_claims",
    "producer_invitations",
    "users",
    "products",
)

EDIT_FORM = {"name": "Bị đổi tên", "kind": "household", "district": "Sóc Sơn", "website": "https://evil.example"}


def login(client, user) -> None:
    g.pop("_login_user", None)
    if user is not None:
        helpers.login(client, user)


def snapshot() -> dict[str, list[tuple]]:
    db.session.expire_all()
    with db.engine.connect() as conn:
        return {
            name: sorted(map(tuple, conn.execute(sa.select(db.metadata.tables[name])).all()), key=repr)
            for name in TABLES
        }


@pytest.fixture
def world(app):
    owner = make_user(roles=("producer",), email="owner@example.vn")
    other_owner = make_user(roles=("producer",), email="other@example.vn")
    buyer = make_user(roles=("buyer",), email="buyer@example.vn")
    organiser = make_user(roles=("organiser",), email="organiser@example.vn")
    claimer = make_user(roles=("producer",), email="claimer@example.vn")
    mine = make_producer(managers=[owner], name="Của chủ")
    theirs = make_producer(managers=[other_owner], name="Của người khác")
    unmanaged = make_producer(name="Chưa có chủ")
    make_product(mine)
    my_photo = services.add_photos(owner, mine, [services.Upload("a.jpg", image_bytes())]).added[0]
    their_photo = services.add_photos(other_owner, theirs, [services.Upload("b.jpg", image_bytes())]).added[0]
    claim = claims.create_claim(claimer, unmanaged, "CN-1")
    db.session.commit()
    return {
        "owner": owner,
        "other_owner": other_owner,
        "buyer": buyer,
        "organiser": organiser,
        "claimer": claimer,
        "mine": mine,
        "theirs": theirs,
        "unmanaged": unmanaged,
        "my_photo": my_photo,
        "their_photo": their_photo,
        "claim": claim,
    }


def _post(client, url: str, data=None):
    if data and any(isinstance(v, tuple) for v in data.values()):
        return client.post(url, data=data, content_type="multipart/form-data")
    return client.post(url, data=data or {})


def _changing_routes(w) -> list[tuple[str, str, dict | None]]:
    """(name, url, form) of every changing producer route, aimed at a producer the user doesn't manage."""
    theirs = w["theirs"].id
    return [
        ("edit", f"/my/producers/{theirs}/edit", EDIT_FORM),
        ("upload", f"/my/producers/{theirs}/photos", {"photos": (io.BytesIO(image_bytes()), "x.jpg")}),
        ("delete photo", f"/my/producers/{theirs}/photos/{w['their_photo'].id}/delete", None),
        ("approve", f"/admin/claims/{w['claim'].id}/approve", None),
        ("reject", f"/admin/claims/{w['claim'].id}/reject", {"reason": "không"}),
        ("invite", f"/admin/producers/{theirs}/invite", {"email": "x@example.vn"}),
    ]


def test_anonymous_is_sent_to_login_and_nothing_changes(client, world):
    before = snapshot()
    routes = [
        *_changing_routes(world),
        ("new", "/my/producers/new", EDIT_FORM),
        ("claim", f"/producers/{world['unmanaged'].id}/claim", {"evidence": "CN-1"}),
        ("invitation", "/invitations/abc", None),
    ]
    for name, url, data in routes:
        response = _post(client, url, data)
        assert response.status_code == 302, name
        assert "/login" in response.headers["Location"], name
    for url in ("/my/producers", "/my/producers/new", f"/my/producers/{world['mine'].id}/edit", "/admin/claims"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    assert snapshot() == before


@pytest.mark.parametrize("who", ["buyer", "owner", "claimer"])
def test_users_without_rights_get_403_and_nothing_changes(client, world, who):
    login(client, world[who])
    before = snapshot()
    for name, url, data in _changing_routes(world):
        assert _post(client, url, data).status_code == 403, (who, name)
    assert client.get(f"/my/producers/{world['theirs'].id}/edit").status_code == 403
    assert client.get("/admin/claims").status_code == 403
    assert client.get(f"/admin/producers/{world['theirs'].id}/invite").status_code == 403
    assert snapshot() == before


def test_buyers_cannot_create_producers_or_claim(client, world):
    login(client, world["buyer"])
    before = snapshot()
    assert client.get("/my/producers").status_code == 403
    assert client.post("/my/producers/new", data=EDIT_FORM).status_code == 403
    assert client.post(f"/producers/{world['unmanaged'].id}/claim", data={"evidence": "CN-1"}).status_code == 403
    assert snapshot() == before


def test_organisers_cannot_edit_storefronts(client, world):
    login(client, world["organiser"])
    before = snapshot()
    assert client.post(f"/my/producers/{world['theirs'].id}/edit", data=EDIT_FORM).status_code == 403
    assert client.post(f"/my/producers/{world['theirs'].id}/photos/{world['their_photo'].id}/delete").status_code == 403
    assert snapshot() == before


def test_another_producers_id_in_a_form_field_changes_nothing_of_theirs(client, world):
    login(client, world["owner"])
    before = snapshot()
    mine, theirs = world["mine"].id, world["theirs"].id
    form = {**EDIT_FORM, "producer_id": str(theirs), "id": str(theirs)}
    assert client.post(f"/my/producers/{mine}/edit", data=form).status_code == 302
    after = snapshot()
    their_row = next(r for r in after["producers"] if r[0] == theirs)
    assert their_row == next(r for r in before["producers"] if r[0] == theirs)
    assert next(r for r in after["producers"] if r[0] == mine) != next(r for r in before["producers"] if r[0] == mine)
    assert after["producer_managers"] == before["producer_managers"]


def test_deleting_another_producers_photo_through_my_producer_is_404(client, world):
    login(client, world["owner"])
    before = snapshot()
    url = f"/my/producers/{world['mine'].id}/photos/{world['their_photo'].id}/delete"
    assert client.post(url).status_code == 404
    assert client.post(f"/my/producers/{world['mine'].id}/photos/987654/delete").status_code == 404
    assert snapshot() == before


def test_unknown_producer_ids_are_404(client, world):
    login(client, world["owner"])
    for url in ("/my/producers/987654/edit", "/my/producers/987654/photos", "/producers/987654/claim"):
        assert client.post(url, data={}).status_code == 404, url


def test_a_claim_on_a_managed_producer_is_refused(client, world):
    login(client, world["claimer"])
    before = snapshot()
    response = client.post(f"/producers/{world['theirs'].id}/claim", data={"evidence": "CN-1"})
    assert response.status_code == 302
    assert snapshot() == before
    assert (
        db.session.scalar(
            sa.select(sa.func.count(ProducerClaim.id)).where(ProducerClaim.producer_id == world["theirs"].id)
        )
        == 0
    )


def test_a_manager_can_do_what_others_cannot(client, world):
    login(client, world["owner"])
    mine = world["mine"].id
    assert client.post(f"/my/producers/{mine}/edit", data=EDIT_FORM).status_code == 302
    assert client.post(f"/my/producers/{mine}/photos/{world['my_photo'].id}/delete").status_code == 302
    managers = db.session.execute(sa.select(producer_managers)).all()
    assert (mine, world["owner"].id) in [tuple(r) for r in managers]


def test_changing_routes_need_a_csrf_token(world, app):
    csrf_app = create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "DATA_DIR": app.config["DATA_DIR"],
            "WTF_CSRF_ENABLED": True,
        },
    )
    client = csrf_app.test_client()
    # Read everything from the fixture's session before entering the other app's context.
    owner_id, organiser_id = world["owner"].get_id(), world["organiser"].get_id()
    edit_url = f"/my/producers/{world['mine'].id}/edit"
    approve_url = f"/admin/claims/{world['claim'].id}/approve"
    before = snapshot()
    with csrf_app.app_context():
        for user_id, url in ((owner_id, edit_url), (organiser_id, approve_url)):
            with client.session_transaction() as sess:
                sess["_user_id"] = user_id
            g.pop("_login_user", None)
            assert client.post(url, data=EDIT_FORM).status_code == 400, url
        db.session.remove()
        db.engine.dispose()
    assert snapshot() == before
