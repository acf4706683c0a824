"""The sample data through the import, checked like `contract_check.py --area sales_points`, plus
the registry page and the open data export on the same data."""

from __future__ import annotations

import csv
import io

import pytest

from marketplace.data import SAMPLE_PRODUCTS, SAMPLE_SALES_POINTS
from marketplace.extensions import db


@pytest.fixture
def sample(app):
    from marketplace.imports.reading import validate_products, validate_sales_points
    from marketplace.imports.services import import_products, import_sales_points

    products, problems = validate_products(SAMPLE_PRODUCTS)
    assert problems == []
    import_products(products)
    db.session.flush()
    points, problems = validate_sales_points(SAMPLE_SALES_POINTS)
    assert problems == []
    import_sales_points(points)
    db.session.commit()


def refs(response) -> list[str]:
    return [item["ref"] for item in response.get_json()["items"]]


def test_contract_sales_points_area(client, sample):
    got = set(refs(client.get("/api/v1/sales-points?per_page=100")))
    assert "SP-07" not in got and len(got) == 7
    near = client.get("/api/v1/sales-points?near=21.029,105.851")
    assert refs(near)[:1] == ["SP-01"]
    assert isinstance(near.get_json()["items"][0]["distance_km"], float)
    assert set(refs(client.get("/api/v1/sales-points?product=S-0009"))) == {"SP-05", "SP-06"}
    for bad in ("abc", "91,200", "21.0"):
        assert client.get(f"/api/v1/sales-points?near={bad}").status_code == 400
    product = client.get("/api/v1/products/S-0003").get_json()
    assert {p["ref"] for p in product["sales_points"]} == {"SP-01", "SP-02"}


def test_registry_and_export_on_the_sample_data(client, sample):
    page = client.get("/diem-ban").get_data(as_text=True)
    assert "7 điểm bán" in page and "Bưu điện văn hóa xã Bát Tràng" not in page
    rows = list(csv.DictReader(io.StringIO(client.get("/diem-ban/du-lieu-mo.csv").get_data(as_text=True))))
    assert [r["ref"] for r in rows] == ["SP-01", "SP-02", "SP-03", "SP-04", "SP-05", "SP-06", "SP-08"]
    with open(SAMPLE_SALES_POINTS, encoding="utf-8", newline="") as f:
        original = {r["ref"]: r for r in csv.DictReader(f)}
    for row in rows:
        source = original[row["ref"]]
        for column in ("name", "kind", "district", "commune", "address", "opening_hours", "phone", "status"):
            assert row[column] == source[column], (row["ref"], column)
        assert float(row["lat"]) == float(source["lat"])
        assert set(row["product_refs"].split(";")) <= set(source["product_refs"].split(";"))
    assert "Điểm giới thiệu và bán sản phẩm OCOP Hoàn Kiếm" in client.get("/san-pham/S-0003").get_data(as_text=True)
    assert client.get("/diem-ban/SP-07").status_code == 404
