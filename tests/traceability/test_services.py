"""Services: codes (unique, unguessable), validation, publication, recall, edit history, files,
scan counting, the timeline."""

from __future__ import annotations

import math
import re
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.uploads import upload_dir
from marketplace.extensions import db
from marketplace.traceability import services
from marketplace.traceability.files import remove_files, store_inspection_file
from marketplace.traceability.models import Batch, BatchRevision, BatchScanCounter, Inspection
from marketplace.traceability.public import (
    find_by_public_code,
    is_bot,
    public_batch,
    record_scan,
    should_count_scan,
    timeline,
)
from marketplace.traceability.validation import DestinationData, InputData, InspectionData, StepData, UploadedFile
from tests.helpers import image_bytes, make_product
from tests.traceability.conftest import PDF_BYTES, batch_data

KINDS = services.ITEM_KINDS


# --------------------------------------------------------------------------- codes


def test_batch_code_unique_per_product(world):
    services.create_batch(world.owner, world.product, batch_data(code="LO-01"))
    with pytest.raises(ServiceError) as error:
        services.create_batch(world.owner, world.product, batch_data(code="lo-01"))
    assert error.value.field == "code"
    # The same code on another product (of the same producer) is fine.
    second = make_product(world.producer, ref="NEP-02")
    assert services.create_batch(world.owner, second, batch_data(code="LO-01")).code == "LO-01"


def test_batch_code_unique_in_the_database(world):
    services.create_batch(world.owner, world.product, batch_data(code="LO-01"))
    db.session.commit()
    db.session.add(Batch(product_id=world.product.id, code="LO-01", public_code="x" * 22, produced_on=date(2026, 1, 1)))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_edit_keeps_own_code_but_refuses_a_sibling_code(world):
    first = services.create_batch(world.owner, world.product, batch_data(code="A"))
    services.create_batch(world.owner, world.product, batch_data(code="B"))
    services.update_batch(world.owner, first, batch_data(code="A", unit="bao"))
    with pytest.raises(ServiceError):
        services.update_batch(world.owner, first, batch_data(code="B"))


def test_public_codes_are_unguessable_and_unique(world):
    codes = [services.create_batch(world.owner, world.product, batch_data(code=f"L{n}")).public_code for n in range(40)]
    assert len(set(codes)) == len(codes)
    for code in codes:
        # token_urlsafe(16): 22 base64url characters = 128 random bits (≥ 96 required)
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", code)
        assert len(code) * math.log2(64) >= 96
    # Random, not a sequence: no shared prefixes, nothing of the batch code or id inside.
    assert len({c[:6] for c in codes}) == len(codes)


def test_public_code_unique_index_and_retry_on_collision(world, monkeypatch):
    first = services.create_batch(world.owner, world.product, batch_data(code="A"))
    drawn = iter([first.public_code, first.public_code, "Z" * 22])
    monkeypatch.setattr(services.secrets, "token_urlsafe", lambda n: next(drawn))
    second = services.create_batch(world.owner, world.product, batch_data(code="B"))
    assert second.public_code == "Z" * 22
    assert Batch.__table__.columns["public_code"].unique


def test_find_by_public_code_rejects_junk(world, batch):
    assert find_by_public_code(batch.public_code) is batch
    swapped = batch.public_code.swapcase()  # codes are case-sensitive
    for junk in ("", "short", swapped, "x" * 22, "a" * 41, "../../etc/passwd", "%" * 22, None):
        if junk != batch.public_code:
            assert find_by_public_code(junk) is None


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": "  "}, "code"),
        ({"produced_on": None}, "produced_on"),
        ({"produced_on": date(2026, 12, 2)}, "produced_on"),  # after MARKETPLACE_TODAY
        ({"quantity": Decimal("0")}, "quantity"),
        ({"quantity": Decimal("-3")}, "quantity"),
        ({"quantity": Decimal("1.0001")}, "quantity"),
        ({"expires_on": date(2026, 1, 1)}, "expires_on"),
        ({"shelf_life_value": 0}, "shelf_life_value"),
        ({"shelf_life_value": 500, "shelf_life_unit": "month"}, "shelf_life_value"),
        ({"shelf_life_unit": "year"}, "shelf_life_unit"),
        ({"date_kind": "birthday"}, "date_kind"),
        ({"code": "x" * 61}, "code"),
        ({"external_code": "x" * 121}, "external_code"),
    ],
)
def test_batch_validation(world, changes, field):
    with pytest.raises(ServiceError) as error:
        services.create_batch(world.owner, world.product, batch_data(**changes))
    assert error.value.field == field
    assert db.session.scalar(sa.select(sa.func.count(Batch.id))) == 0


def test_text_is_normalised(world):
    made = services.create_batch(
        world.owner, world.product, batch_data(code="  LO   01 ", unit="ho\u0300p", external_code=" HN-\x00123 ")
    )
    assert made.code == "LO 01"
    assert made.unit == "hòp"
    assert made.external_code == "HN-123"


def test_best_before_from_expiry_or_shelf_life(world):
    made = services.create_batch(world.owner, world.product, batch_data(expires_on=None, shelf_life_value=12))
    assert services.best_before(made) == date(2027, 11, 20)
    made.shelf_life_unit, made.shelf_life_value = "day", 10
    assert services.best_before(made) == date(2026, 11, 30)
    made.expires_on = date(2027, 1, 1)
    assert services.best_before(made) == date(2027, 1, 1)


def test_quantity_parsing_and_formatting():
    assert services.parse_quantity("1.250,5") == Decimal("1250.5")
    assert services.parse_quantity("12,5") == Decimal("12.5")
    assert services.parse_quantity("1.250") == Decimal("1250")
    assert services.parse_quantity("2.5") == Decimal("2.5")
    assert services.parse_quantity("") is None
    for bad in ("abc", "1,2,3.4.5", "1e5", "--1"):
        with pytest.raises(ValueError):
            services.parse_quantity(bad)
    assert services.format_quantity(Decimal("1250.500")) == "1.250,5"
    assert services.format_quantity(Decimal("120.000")) == "120"


def test_destination_needs_an_approved_sales_point_or_a_description(world, batch):
    with pytest.raises(ServiceError) as error:
        services.add_item(world.owner, batch, KINDS["destinations"], DestinationData(kind="sales_point"))
    assert error.value.field == "sales_point_id"
    with pytest.raises(ServiceError):
        services.add_item(
            world.owner,
            batch,
            KINDS["destinations"],
            DestinationData(kind="sales_point", sales_point_id=world.hidden_point.id),
        )
    with pytest.raises(ServiceError) as error:
        services.add_item(world.owner, batch, KINDS["destinations"], DestinationData(kind="order"))
    assert error.value.field == "description"
    made = services.add_item(
        world.owner, batch, KINDS["destinations"], DestinationData(kind="sales_point", sales_point_id=world.point.id)
    )
    assert made.sales_point is world.point


# --------------------------------------------------------------------------- access


def test_another_producer_cannot_change_a_batch(world, batch):
    with pytest.raises(NotAllowed):
        services.update_batch(world.other, batch, batch_data(code="HACK"))
    with pytest.raises(NotAllowed):
        services.publish_batch(world.other, batch)
    with pytest.raises(NotAllowed):
        services.add_item(world.other, batch, KINDS["inputs"], InputData(name="x"))
    with pytest.raises(NotAllowed):
        services.delete_item(world.other, batch, KINDS["inputs"], batch.inputs[0])
    with pytest.raises(NotAllowed):
        services.create_batch(world.other, world.product, batch_data(code="X"))
    with pytest.raises(NotAllowed):
        services.delete_batch(world.other, batch)
    db.session.rollback()
    assert batch.code == "LO-01" and batch.status == "draft" and len(batch.inputs) == 1


# --------------------------------------------------------------------------- publication and recall


def test_publish_then_recall(world, batch):
    assert not batch.is_published
    assert public_batch(batch.public_code) is None
    with pytest.raises(ServiceError):
        services.recall_batch(world.owner, batch, "Lỗi")  # a draft is not recalled, it is deleted
    services.publish_batch(world.owner, batch)
    assert public_batch(batch.public_code) is batch
    with pytest.raises(ServiceError):
        services.publish_batch(world.owner, batch)
    with pytest.raises(ServiceError) as error:
        services.recall_batch(world.owner, batch, "   ")
    assert error.value.field == "reason"
    services.recall_batch(world.owner, batch, "Phát hiện nấm mốc ở một số bao.")
    db.session.commit()
    assert batch.status == "recalled" and batch.is_recalled
    assert batch.recall_reason == "Phát hiện nấm mốc ở một số bao."
    assert batch.recalled_at is not None
    assert public_batch(batch.public_code) is batch  # still public, with the warning
    with pytest.raises(ServiceError):
        services.recall_batch(world.owner, batch, "lần nữa")
    actions = [r.action for r in services.revisions(batch)]
    assert actions == ["recall", "publish"]
    assert timeline(batch)[-1].kind == "recall"


def test_published_batch_cannot_be_deleted_but_a_draft_can(world, batch):
    services.publish_batch(world.owner, batch)
    with pytest.raises(ServiceError):
        services.delete_batch(world.owner, batch)
    draft = services.create_batch(world.owner, world.product, batch_data(code="NHAP"))
    services.delete_batch(world.owner, draft)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(Batch.id))) == 1


# --------------------------------------------------------------------------- edit history


def test_no_history_before_publication(world, batch):
    services.update_batch(world.owner, batch, batch_data(unit="bao"))
    services.add_item(world.owner, batch, KINDS["inputs"], InputData(name="Lá dứa"))
    assert services.revisions(batch) == []


def test_edits_after_publication_are_recorded_field_by_field(world, published):
    batch = published
    changes = services.update_batch(
        world.owner, batch, batch_data(quantity=Decimal("118"), expires_on=date(2027, 6, 1))
    )
    db.session.commit()
    assert changes == [
        {"field": "quantity", "old": "120,5", "new": "118"},
        {"field": "expires_on", "old": "20/05/2027", "new": "01/06/2027"},
    ]
    latest = services.revisions(batch)[0]
    assert (latest.entity, latest.action, latest.user_id, latest.user_name) == (
        "batch",
        "update",
        world.owner.id,
        "Chủ HTX",
    )
    assert latest.changes == changes
    assert latest.created_at.tzinfo is not None

    # An unchanged save records nothing.
    assert (
        services.update_batch(world.owner, batch, batch_data(quantity=Decimal("118"), expires_on=date(2027, 6, 1)))
        == []
    )
    assert len(services.revisions(batch)) == 2

    step = batch.steps[0]
    services.update_item(
        world.owner,
        batch,
        KINDS["steps"],
        step,
        StepData(name="Xay xát, đóng gói", started_on=step.started_on, ended_on=step.ended_on),
    )
    services.delete_item(world.owner, batch, KINDS["inputs"], batch.inputs[0])
    services.add_item(world.owner, batch, KINDS["inputs"], InputData(name="Thóc nếp vụ mùa", origin="Đông Anh"))
    db.session.commit()
    history = services.revisions(batch)
    assert [(r.entity, r.action) for r in history[:3]] == [("input", "add"), ("input", "delete"), ("step", "update")]
    add, delete, update = history[:3]
    assert update.changes == [{"field": "name", "old": "Xay xát và đóng gói", "new": "Xay xát, đóng gói"}]
    assert {"field": "name", "old": "Thóc nếp", "new": ""} in delete.changes
    assert delete.entity_label == "Thóc nếp"
    assert {"field": "origin", "old": "", "new": "Đông Anh"} in add.changes
    assert all(c["new"] for c in add.changes)


def test_history_survives_the_user_account(world, published):
    services.update_batch(world.owner, published, batch_data(unit="bao"))
    db.session.commit()
    db.session.delete(world.owner)
    db.session.commit()
    revision = db.session.scalars(sa.select(BatchRevision).where(BatchRevision.action == "update")).one()
    assert revision.user_id is None and revision.user_name == "Chủ HTX"


# --------------------------------------------------------------------------- inspection files


def test_pdf_report_is_checked_and_stored_under_a_random_name(world, batch):
    item = services.add_item(
        world.owner,
        batch,
        KINDS["inspections"],
        InspectionData(
            inspected_on=date(2026, 11, 21),
            name="Vi sinh",
            result="Đạt QCVN",
            file=UploadedFile("../../phiếu kết quả.pdf", PDF_BYTES),
        ),
    )
    assert item.file_kind == "pdf"
    assert re.fullmatch(r"documents/[0-9a-f]{32}\.pdf", item.file_name)
    assert (upload_dir() / item.file_name).read_bytes() == PDF_BYTES
    assert item.file_original_name == "phiếu kết quả.pdf"


def test_photo_report_is_re_encoded(world, batch):
    item = services.add_item(
        world.owner,
        batch,
        KINDS["inspections"],
        InspectionData(
            inspected_on=date(2026, 11, 21),
            name="Cảm quan",
            result="Đạt",
            file=UploadedFile("a.pdf", image_bytes("PNG")),
        ),
    )
    assert item.file_kind == "image"
    assert re.fullmatch(r"[0-9a-f]{32}\.png", item.file_name)
    assert item.file_thumb.startswith("thumbs/")


@pytest.mark.parametrize(
    "data",
    [
        b"<html><script>alert(1)</script></html>",  # HTML named .pdf
        b"%PDF-1.4\n truncated",  # no %%EOF
        # sound, but opens a script: the trace page is public
        b"%PDF-1.4\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >> endobj\nstartxref\n9\n%%EOF\n",
        b"",
        b"MZ\x90\x00" + b"\x00" * 100,  # an executable
    ],
)
def test_bad_files_are_refused(world, batch, data):
    with pytest.raises(ServiceError) as error:
        services.add_item(
            world.owner,
            batch,
            KINDS["inspections"],
            InspectionData(inspected_on=date(2026, 11, 21), name="X", result="Y", file=UploadedFile("x.pdf", data)),
        )
    assert error.value.field == "file"


def test_files_over_5_mb_are_refused(world, batch):
    big = b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024) + b"\n%%EOF\n"
    with pytest.raises(ServiceError) as error:
        store_inspection_file(UploadedFile("big.pdf", big))
    assert "5 MB" in error.value.message


def test_replacing_a_report_after_publication_is_recorded_and_old_file_kept(world, published):
    item = services.add_item(
        world.owner,
        published,
        KINDS["inspections"],
        InspectionData(
            inspected_on=date(2026, 11, 21), name="Vi sinh", result="Đạt", file=UploadedFile("v1.pdf", PDF_BYTES)
        ),
    )
    old = item.file_name
    result = services.update_item(
        world.owner,
        published,
        KINDS["inspections"],
        item,
        InspectionData(
            inspected_on=date(2026, 11, 21), name="Vi sinh", result="Đạt", file=UploadedFile("v2.pdf", PDF_BYTES)
        ),
    )
    assert result.changes == [{"field": "file", "old": "v1.pdf", "new": "v2.pdf"}]
    assert result.files_to_remove == []
    assert (upload_dir() / old).exists()


def test_deleting_a_draft_batch_returns_its_files(world, batch):
    item = services.add_item(
        world.owner,
        batch,
        KINDS["inspections"],
        InspectionData(
            inspected_on=date(2026, 11, 21), name="Vi sinh", result="Đạt", file=UploadedFile("v.pdf", PDF_BYTES)
        ),
    )
    name = item.file_name
    files = services.delete_batch(world.owner, batch)
    db.session.commit()
    remove_files(files)
    assert not (upload_dir() / name).exists()
    assert db.session.scalar(sa.select(sa.func.count(Inspection.id))) == 0


# --------------------------------------------------------------------------- scans


@pytest.mark.parametrize(
    "agent",
    [
        "",
        "Googlebot/2.1 (+http://www.google.com/bot.html)",
        "facebookexternalhit/1.1",
        "curl/8.5.0",
        "python-requests/2.32",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    ],
)
def test_bots_are_recognised(agent):
    assert is_bot(agent)


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36 Zalo android/12100 ZaloTheme/light",
    ],
)
def test_people_are_not_bots(agent):
    assert not is_bot(agent)


def test_who_counts_as_a_scan(world, published):
    phone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"
    assert should_count_scan(None, published, phone)
    assert not should_count_scan(world.owner, published, phone)  # the producer's own view
    assert should_count_scan(world.other, published, phone)
    assert not should_count_scan(None, published, "curl/8")
    assert not should_count_scan(None, published, phone, from_same_page=True)


def test_record_scan_is_a_plain_counter(world, published):
    for _ in range(3):
        record_scan(published)
    db.session.commit()
    db.session.expire_all()
    assert published.scan_count == 3
    assert db.session.get(BatchScanCounter, published.id).scans == 3
    # The counter holds nothing but the number.
    assert set(BatchScanCounter.__table__.columns.keys()) == {"batch_id", "scans"}


# --------------------------------------------------------------------------- timeline


def test_timeline_orders_the_chain(world, published):
    services.add_item(
        world.owner,
        published,
        KINDS["inspections"],
        InspectionData(inspected_on=date(2026, 11, 21), name="Vi sinh", result="Đạt"),
    )
    services.add_item(
        world.owner,
        published,
        KINDS["destinations"],
        DestinationData(kind="sales_point", sales_point_id=world.point.id, shipped_on=date(2026, 11, 25)),
    )
    services.add_item(
        world.owner, published, KINDS["destinations"], DestinationData(kind="order", description="Đơn hàng siêu thị X")
    )
    services.add_item(world.owner, published, KINDS["inputs"], InputData(name="Lá dứa"))  # no date
    db.session.commit()
    kinds = [(e.kind, e.on) for e in timeline(published)]
    assert kinds == [
        ("input", date(2026, 10, 1)),
        ("step", date(2026, 11, 18)),
        ("input", None),
        ("produced", date(2026, 11, 20)),
        ("destination", None),
        ("inspection", date(2026, 11, 21)),
        ("destination", date(2026, 11, 25)),
    ]
