"""GET /api/v1/trace/<code>: the trace page's facts as JSON; JSON 404s."""

from __future__ import annotations

from datetime import date

from marketplace.extensions import db
from marketplace.traceability import services
from marketplace.traceability.validation import DestinationData, InspectionData, UploadedFile
from tests.traceability.conftest import PDF_BYTES, batch_data


def test_trace_json(client, world, published):
    services.add_item(
        world.owner,
        published,
        services.ITEM_KINDS["inspections"],
        InspectionData(
            inspected_on=date(2026, 11, 21), name="Vi sinh", result="Đạt", file=UploadedFile("kq.pdf", PDF_BYTES)
        ),
    )
    services.add_item(
        world.owner,
        published,
        services.ITEM_KINDS["destinations"],
        DestinationData(kind="sales_point", sales_point_id=world.point.id, shipped_on=date(2026, 11, 25)),
    )
    services.update_batch(world.owner, published, batch_data(external_code="HN-0001"))
    db.session.commit()
    response = client.get(f"/api/v1/trace/{published.public_code}")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    body = response.get_json()
    assert body["code"] == published.public_code
    assert body["url"] == f"http://localhost/truy-xuat/{published.public_code}"
    assert body["status"] == "published" and body["recall"] is None
    assert body["batch"] == {
        "code": "LO-01",
        "external_code": "HN-0001",
        "date_kind": "production",
        "produced_on": "2026-11-20",
        "quantity": 120.5,
        "unit": "kg",
        "expires_on": "2027-05-20",
        "shelf_life": None,
        "best_before": "2027-05-20",
        "notes": None,
        "published_at": published.published_at.isoformat(),
    }
    assert body["product"]["ref"] == "NEP-01" and body["product"]["ocop_stars"] == 4
    assert body["certificate"]["status"] == "valid"
    assert body["producer"]["name"] == "HTX Nếp cái hoa vàng"
    assert body["inputs"][0] == {
        "name": "Thóc nếp",
        "supplier": "Hộ ông Tư",
        "origin": "Xã Đông Anh",
        "received_on": "2026-10-01",
        "quantity": None,
        "notes": None,
    }
    assert body["processing_steps"][0]["name"] == "Xay xát và đóng gói"
    inspection = body["inspections"][0]
    assert inspection["file_type"] == "pdf"
    assert inspection["file_url"].startswith(f"http://localhost/truy-xuat/{published.public_code}/kiem-nghiem/")
    assert body["destinations"][0]["sales_point"]["name"] == "Điểm bán OCOP Hàng Bông"
    assert [e["kind"] for e in body["timeline"]] == ["input", "step", "produced", "inspection", "destination"]
    assert [p["name"] for p in body["where_to_buy"]] == ["Điểm bán OCOP Hàng Bông"]
    assert [(r["entity"], r["action"]) for r in body["revisions"]] == [
        ("batch", "update"),
        ("destination", "add"),
        ("inspection", "add"),
        ("batch", "publish"),
    ]
    assert body["revisions"][0]["changes"] == [{"field": "external_code", "old": "", "new": "HN-0001"}]


def test_recalled_batch_json(client, world, published):
    services.recall_batch(world.owner, published, "Nhiễm ẩm")
    db.session.commit()
    body = client.get(f"/api/v1/trace/{published.public_code}").get_json()
    assert body["status"] == "recalled"
    assert body["recall"]["reason"] == "Nhiễm ẩm" and body["recall"]["recalled_at"]


def test_unknown_and_draft_codes_are_json_404(client, world, batch):
    for code in ("khong-co-ma-nay-dau-nhe", batch.public_code, "x", "%00", "a" * 300):
        response = client.get(f"/api/v1/trace/{code}")
        assert response.status_code == 404, code
        assert response.is_json
        error = response.get_json()["error"]
        assert error["code"] == "not_found" and error["message"]
    assert client.get(f"/api/v1/trace/{batch.public_code}").get_json()["error"]["field"] == "code"


def test_openapi_documents_the_trace_endpoint(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/trace/{code}"]["get"]
    assert operation["operationId"] == "getTrace"
    assert set(operation["responses"]) >= {"200", "404"}
    assert "Trace" in document["components"]["schemas"]
