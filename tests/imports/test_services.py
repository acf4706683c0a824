"""Validation rules and upsert semantics of the import services."""

from __future__ import annotations

import csv
from datetime import date

import sqlalchemy as sa

from marketplace.catalog.models import Certificate, Product
from marketplace.extensions import db
from marketplace.imports.reading import validate_products, validate_sales_points
from marketplace.imports.rows import PRODUCT_COLUMNS
from marketplace.imports.services import import_products
from marketplace.producers.models import Producer
from tests.helpers import make_product, make_user

BASE = {
    "ref": "T-1",
    "producer_name": "HTX Nông nghiệp Vân Nội",
    "producer_kind": "cooperative",
    "district": "Đông Anh",
    "product_name": "Gạo nếp cái hoa vàng",
    "ocop_group": "food",
    "ocop_stars": "3",
    "certified_on": "2025-06-01",
}


def write(tmp_path, rows, name="rows.csv", fieldnames=None):
    path = tmp_path / name
    names = fieldnames or list(dict.fromkeys(k for row in rows for k in row))
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=names, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def problems_for(tmp_path, **changes):
    rows, problems = validate_products(write(tmp_path, [dict(BASE, **changes)]))
    return rows, [str(p) for p in problems]


def test_valid_row_is_typed(tmp_path):
    rows, problems = problems_for(
        tmp_path,
        district="dong anh",
        price_min_vnd="1.250.000",
        price_max_vnd="1500000 ₫",
        moq="20",
        lat="21,15",
        lng="105.88",
        certifications="Hữu cơ; organic ;VietGAP;Tự công bố",
        status="draft",
    )
    assert problems == []
    (row,) = rows
    assert row.line == 2
    assert row.district == "Đông Anh"
    assert (row.price_min_vnd, row.price_max_vnd, row.moq) == (1_250_000, 1_500_000, 20)
    assert (row.lat, row.lng) == (21.15, 105.88)
    assert row.certifications == ("organic", "vietgap", "Tự công bố")
    assert row.certified_on == date(2025, 6, 1) and row.ocop_stars == 3
    assert row.status == "draft"


def test_group_derived_from_2019_group(tmp_path):
    rows, problems = problems_for(tmp_path, ocop_group="", ocop_group_2019="textile")
    assert problems == [] and rows[0].ocop_group == "handicraft" and rows[0].ocop_group_2019 == "textile"
    rows, problems = problems_for(tmp_path, ocop_group="", ocop_group_2019="")
    assert problems == ["line 2, column ocop_group: cần nhóm OCOP (ocop_group hoặc ocop_group_2019)"]


def test_every_bad_cell_is_reported(tmp_path):
    cases = {
        "district": ("Quận 1", "line 2, column district:"),
        "producer_kind": ("cá nhân", "line 2, column producer_kind:"),
        "ocop_group": ("fruit", "line 2, column ocop_group:"),
        "ocop_stars": ("3.5", "line 2, column ocop_stars:"),
        "certified_on": ("01/06/2025", "line 2, column certified_on:"),
        "price_min_vnd": ("sáu trăm", "line 2, column price_min_vnd:"),
        "moq": ("-5", "line 2, column moq:"),
        "monthly_capacity": ("1.5", "line 2, column monthly_capacity:"),
        "status": ("deleted", "line 2, column status:"),
        "product_name": ("", "line 2, column product_name:"),
        "producer_name": ("   ", "line 2, column producer_name:"),
        "ref": ("A B", "line 2, column ref:"),
        "lat": ("91", "line 2, column lat:"),
    }
    for column, (value, expected) in cases.items():
        rows, problems = problems_for(tmp_path, **{column: value, "lng": "105.8" if column == "lat" else ""})
        assert rows == [], column
        assert any(p.startswith(expected) for p in problems), (column, problems)


def test_row_level_rules(tmp_path):
    _, problems = problems_for(tmp_path, certified_on="2027-01-01")  # TestConfig: today is 2026-12-01
    assert problems == ["line 2, column certified_on: ngày 2027-01-01 ở tương lai"]
    _, problems = problems_for(tmp_path, certified_on="")
    assert [p.split(":")[0] for p in problems] == ["line 2, column certified_on"]
    rows, problems = problems_for(tmp_path, ocop_stars="0", certified_on="")
    assert problems == [] and rows[0].ocop_stars == 0
    rows, problems = problems_for(tmp_path, ocop_stars="", certified_on="")
    assert problems == [] and rows[0].ocop_stars == 0
    _, problems = problems_for(tmp_path, price_min_vnd="200000", price_max_vnd="100000")
    assert [p.split(":")[0] for p in problems] == ["line 2, column price_max_vnd"]
    _, problems = problems_for(tmp_path, lat="21.0", lng="")
    assert [p.split(":")[0] for p in problems] == ["line 2, column lng"]
    _, problems = problems_for(tmp_path, lng="181", lat="21")
    assert [p.split(":")[0] for p in problems] == ["line 2, column lng"]


def test_duplicate_refs_and_multiline_cells(tmp_path):
    rows = [
        dict(BASE, description="Dòng một\nDòng hai"),
        dict(BASE, product_name="Khác"),
        dict(BASE, ref="T-2"),
    ]
    valid, problems = validate_products(write(tmp_path, rows))
    # The first record spans lines 2-3, so the duplicate is on line 4.
    assert [str(p) for p in problems] == ['line 4, column ref: mã "T-1" đã có ở dòng 2']
    assert [r.ref for r in valid] == ["T-1", "T-2"]
    assert valid[0].description == "Dòng một\nDòng hai" and valid[1].line == 5


def test_extra_cells_and_blank_lines(tmp_path):
    path = tmp_path / "extra.csv"
    header = ",".join(BASE)
    good = ",".join(BASE.values())
    path.write_text(
        f"{header}\n\n{good}\n{good.replace('T-1', 'T-2')},surplus\n{good.replace('T-1', 'T-3')},,\n", "utf-8"
    )
    rows, problems = validate_products(path)
    assert [r.ref for r in rows] == ["T-1", "T-3"]
    assert [str(p).split(":")[0] for p in problems] == ["line 4, column #9"]


def test_upsert_updates_only_what_changed(app, tmp_path):
    path = write(tmp_path, [BASE, dict(BASE, ref="T-2", product_name="Gạo tám thơm")])
    rows, _ = validate_products(path)
    report = import_products(rows)
    db.session.commit()
    assert (report.created, report.producers_created) == (2, 1)
    first = db.session.scalars(sa.select(Product).where(Product.ref == "T-1")).unique().one()
    second = db.session.scalars(sa.select(Product).where(Product.ref == "T-2")).unique().one()
    stamps = (first.updated_at, second.updated_at)

    changed = [dict(BASE, price_min_vnd="40000"), dict(BASE, ref="T-2", product_name="Gạo tám thơm")]
    rows, _ = validate_products(write(tmp_path, changed, fieldnames=[*BASE, "price_min_vnd"]))
    report = import_products(rows)
    db.session.commit()
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    assert first.price_min_vnd == 40000
    assert first.updated_at > stamps[0] and second.updated_at == stamps[1]


def test_absent_columns_and_products_are_left_alone(app, tmp_path):
    rows, _ = validate_products(
        write(tmp_path, [dict(BASE, unit="kg", description="Hạt tròn."), dict(BASE, ref="T-2")])
    )
    import_products(rows)
    db.session.commit()
    # A file with only T-1 and without unit/description columns.
    rows, _ = validate_products(write(tmp_path, [dict(BASE, product_name="Gạo nếp cái")]))
    report = import_products(rows)
    db.session.commit()
    assert report.updated == 1
    product = db.session.scalars(sa.select(Product).where(Product.ref == "T-1")).unique().one()
    assert (product.name, product.unit, product.description) == ("Gạo nếp cái", "kg", "Hạt tròn.")
    assert db.session.scalar(sa.select(Product).where(Product.ref == "T-2")) is not None


def test_stars_zero_removes_the_certificate_and_status_is_kept(app, tmp_path):
    rows, _ = validate_products(write(tmp_path, [BASE]))
    import_products(rows)
    db.session.commit()
    product = db.session.scalars(sa.select(Product)).unique().one()
    product.status = "archived"  # the producer archived it meanwhile
    db.session.commit()
    rows, _ = validate_products(write(tmp_path, [dict(BASE, ocop_stars="0", certified_on="")]))
    report = import_products(rows)
    db.session.commit()
    assert report.updated == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 0
    assert product.status == "archived"  # empty/absent status keeps an existing product's status


def test_existing_products_and_producers_are_matched(app, tmp_path):
    manager = make_user(roles=("producer",))
    existing = make_product(ref="T-1", stars=3, verified=False, issued_on=date(2024, 1, 1), status="draft")
    existing.producer.name, existing.producer.district = "HTX NÔNG NGHIỆP VÂN NỘI", "Đông Anh"
    existing.producer.managers.append(manager)
    db.session.commit()
    rows, _ = validate_products(write(tmp_path, [dict(BASE, status="published")]))
    report = import_products(rows)
    db.session.commit()
    assert (report.updated, report.producers_created) == (1, 0)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Producer)) == 1
    assert existing.producer.managers == [manager]
    assert existing.status == "published" and existing.published_at is not None
    cert = existing.certificate
    assert (cert.verified, cert.issued_on, cert.level) == (True, date(2025, 6, 1), "province")
    assert cert.verified_at is not None


def test_sales_point_validation(app, tmp_path):
    rows = [
        {"ref": "P-1", "name": "Cửa hàng", "kind": "Cửa hàng", "district": "hoan kiem", "status": "approved"},
        {"ref": "P-2", "name": "Ga", "kind": "train", "district": "Hoàn Kiếm"},
        {"ref": "P-3", "name": "", "kind": "shop", "district": "Hoàn Kiếm", "status": "closed"},
    ]
    valid, problems = validate_sales_points(write(tmp_path, rows))
    assert [r.ref for r in valid] == ["P-1"]
    assert valid[0].kind == "shop" and valid[0].district == "Hoàn Kiếm"
    assert [str(p).split(":")[0] for p in problems] == [
        "line 3, column kind",
        "line 4, column name",
        "line 4, column status",
    ]


def test_product_columns_cover_the_contract():
    assert PRODUCT_COLUMNS[:21] == (
        "ref", "producer_name", "producer_kind", "district", "commune", "craft_village", "product_name",
        "product_name_en", "ocop_group", "ocop_stars", "certificate_no", "certified_on", "unit",
        "price_min_vnd", "price_max_vnd", "moq", "monthly_capacity", "certifications", "description", "lat", "lng",
    )  # fmt: skip
