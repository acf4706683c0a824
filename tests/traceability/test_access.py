"""Access control: a producer cannot touch another producer's batches through any route.

Every changing route is tried by the other producer (403), a buyer (403) and an anonymous
visitor (to the login page); items reached through the wrong batch are 404; and in every refused
case nothing changed in the database."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.traceability import services
from marketplace.traceability.models import (
    Batch,
    BatchDestination,
    BatchInput,
    BatchRevision,
    Inspection,
    ProcessingStep,
)
from marketplace.traceability.validation import DestinationData, InspectionData, UploadedFile
from tests.helpers import make_user
from tests.traceability.conftest import PDF_BYTES, batch_data

BATCH_FORM = {"code": "HACKED", "date_kind": "production", "produced_on": "2026-11-01", "shelf_life_unit": "month"}
ITEM_FORMS = {
    "inputs": {"name": "Nguyên liệu giả"},
    "steps": {"name": "Bước giả", "started_on": "2026-11-01"},
    "inspections": {"name": "Giả", "inspected_on": "2026-11-01", "result": "Giả", "outcome": "pass"},
    "destinations": {"kind": "order", "description": "Đơn giả"},
}


@pytest.fixture
def full_batch(world, published):
    services.add_item(
        world.owner,
        published,
        services.ITEM_KINDS["inspections"],
        InspectionData(inspected_on=date(2026, 11, 21), name="Vi sinh", result="Đạt"),
    )
    services.add_item(
        world.owner,
        published,
        services.ITEM_KINDS["destinations"],
        DestinationData(kind="sales_point", sales_point_id=world.point.id),
    )
    db.session.commit()
    return published


def snapshot() -> tuple:
    db.session.expire_all()
    rows = []
    for model in (Batch, BatchInput, ProcessingStep, Inspection, BatchDestination, BatchRevision):
        table = model.__table__
        rows.append(db.session.execute(sa.select(table).order_by(table.c.id)).all())
    return tuple(map(tuple, rows))


def changing_routes(batch: Batch, product_id: int) -> list[tuple[str, dict]]:
    base = f"/my/batches/{batch.id}"
    routes = [
        (f"/my/products/{product_id}/batches/new", BATCH_FORM),
        (f"{base}/edit", BATCH_FORM),
        (f"{base}/publish", {}),
        (f"{base}/recall", {"reason": "Giả mạo"}),
        (f"{base}/delete", {}),
    ]
    for kind, form in ITEM_FORMS.items():
        item = getattr(batch, kind)[0]
        routes += [
            (f"{base}/{kind}/new", form),
            (f"{base}/{kind}/{item.id}/edit", form),
            (f"{base}/{kind}/{item.id}/delete", {}),
        ]
    return routes


def test_every_changing_route_refuses_another_producer(client, as_user, world, full_batch):
    routes = changing_routes(full_batch, world.product.id)
    assert len(routes) == 17
    before = snapshot()
    as_user(world.other)
    for url, form in routes:
        response = client.post(url, data=form)
        assert response.status_code == 403, url
    assert snapshot() == before


def test_a_draft_is_protected_too(client, as_user, world, batch):
    before = snapshot()
    as_user(world.other)
    for url in (f"/my/batches/{batch.id}/publish", f"/my/batches/{batch.id}/delete"):
        assert client.post(url).status_code == 403
    assert client.get(f"/truy-xuat/{batch.public_code}").status_code == 404  # no preview for strangers
    assert snapshot() == before


def test_every_changing_route_refuses_buyers_and_anonymous(client, as_user, world, full_batch):
    routes = changing_routes(full_batch, world.product.id)
    before = snapshot()
    as_user(make_user(roles=("buyer",)))
    db.session.commit()
    for url, form in routes:
        assert client.post(url, data=form).status_code == 403, url
    as_user(None)
    for url, form in routes:
        response = client.post(url, data=form)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    assert snapshot() == before


def test_reading_pages_refuses_another_producer(client, as_user, world, full_batch):
    as_user(world.other)
    base = f"/my/batches/{full_batch.id}"
    for url in (
        base,
        f"{base}/edit",
        f"{base}/qr.svg",
        f"{base}/qr.png",
        f"{base}/labels",
        f"/my/products/{world.product.id}/batches/new",
        f"{base}/inputs/new",
    ):
        assert client.get(url).status_code == 403, url
    listing = client.get("/my/batches").get_data(as_text=True)
    assert full_batch.code not in listing
    # A product filter naming someone else's product shows nothing of it.
    listing = client.get(f"/my/batches?product_id={world.product.id}").get_data(as_text=True)
    assert full_batch.code not in listing


def test_items_through_the_wrong_batch_are_404(client, as_user, world, full_batch):
    """The other producer's own batch id with the owner's item ids: 404, nothing changed."""
    theirs = services.create_batch(world.other, world.other_product, batch_data(code="THEIRS"))
    db.session.commit()
    before = snapshot()
    as_user(world.other)
    for kind, form in ITEM_FORMS.items():
        item = getattr(full_batch, kind)[0]
        assert client.post(f"/my/batches/{theirs.id}/{kind}/{item.id}/edit", data=form).status_code == 404
        assert client.post(f"/my/batches/{theirs.id}/{kind}/{item.id}/delete").status_code == 404
        assert client.get(f"/my/batches/{theirs.id}/{kind}/{item.id}/edit").status_code == 404
    assert snapshot() == before


def test_unknown_ids_are_404(client, as_user, world, full_batch):
    as_user(world.owner)
    for url in (
        "/my/batches/99999",
        "/my/batches/99999/edit",
        "/my/products/99999/batches/new",
        f"/my/batches/{full_batch.id}/inputs/99999/edit",
        f"/my/batches/{full_batch.id}/bogus/new",
    ):
        assert client.get(url).status_code == 404, url
    for url in ("/my/batches/99999/publish", f"/my/batches/{full_batch.id}/steps/99999/delete"):
        assert client.post(url).status_code == 404, url


def test_inspection_files_of_drafts_are_not_public(client, as_user, world, batch):
    item = services.add_item(
        world.owner,
        batch,
        services.ITEM_KINDS["inspections"],
        InspectionData(
            inspected_on=date(2026, 11, 21),
            name="Vi sinh",
            result="Đạt",
            file=UploadedFile("a.pdf", PDF_BYTES),
        ),
    )
    db.session.commit()
    url = f"/truy-xuat/{batch.public_code}/kiem-nghiem/{item.id}"
    assert client.get(url).status_code == 404
    as_user(world.other)
    assert client.get(url).status_code == 404
    as_user(world.owner)
    response = client.get(url)
    response.close()
    assert response.status_code == 200


def test_changing_routes_need_the_csrf_token(app, client, as_user, world, published):
    app.config["WTF_CSRF_ENABLED"] = True
    before = snapshot()
    as_user(world.owner)
    for url, form in (
        (f"/my/batches/{published.id}/recall", {"reason": "Không có token"}),
        (f"/my/batches/{published.id}/edit", BATCH_FORM),
        (f"/my/batches/{published.id}/inputs/new", ITEM_FORMS["inputs"]),
    ):
        assert client.post(url, data=form).status_code == 400, url
    assert snapshot() == before
