"""`flask import products|sales-points` on the repository's sample files and on broken files."""

from __future__ import annotations

import csv
import unicodedata
from datetime import date

import sqlalchemy as sa

from marketplace.catalog.models import Certificate, Product
from marketplace.catalog.stars import certificate_status, effective_stars
from marketplace.data import SAMPLE_PRODUCTS, SAMPLE_SALES_POINTS
from marketplace.extensions import db
from marketplace.producers.models import Producer
from marketplace.sales_points.models import SalesPoint


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def product(ref: str) -> Product:
    return db.session.scalars(sa.select(Product).where(Product.ref == ref)).unique().one()


def import_samples(runner):
    result = runner.invoke(args=["import", "products", str(SAMPLE_PRODUCTS)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["import", "sales-points", str(SAMPLE_SALES_POINTS)])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return result


def sample_rows() -> list[dict[str, str]]:
    with open(SAMPLE_PRODUCTS, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def write_csv(path, rows, fieldnames=None, encoding="utf-8"):
    with open(path, "w", encoding=encoding, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fieldnames or list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def bad_file(tmp_path):
    """As contract_check.py builds it: a valid row, then bad stars (line 3), a bad price (line 4)."""
    rows = sample_rows()
    good = dict(rows[0], ref="X-0001", product_name="Thảm cói thử nghiệm", product_name_en="Test sedge mat")
    broken_stars = dict(rows[1], ref="X-0002", ocop_stars="9")
    broken_price = dict(rows[2], ref="X-0003", price_min_vnd="sáu trăm")
    return write_csv(tmp_path / "bad.csv", [good, broken_stars, broken_price])


def test_sample_files_import(runner):
    result = import_samples(runner)
    assert "8 mới" in result.output
    assert count(Product) == 35
    assert count(SalesPoint) == 8
    assert count(Producer) == 34  # S-0001 and S-0002 share HTX Mây tre đan Phú Vinh

    expired, unrated, valid = product("S-0013"), product("S-0026"), product("S-0009")
    assert certificate_status(expired.certificate) == "expired"
    assert effective_stars(expired.certificate) == 0
    assert unrated.certificate is None
    assert certificate_status(unrated.certificate) == "none"
    assert certificate_status(valid.certificate) == "valid"
    assert effective_stars(valid.certificate) == 4
    cert = valid.certificate
    assert (cert.number, cert.level, cert.verified) == ("148/QĐ-UBND-0009", "province", True)
    assert cert.issued_on == date(2026, 2, 14) and cert.expires_on == date(2029, 2, 14)
    assert cert.verified_at is not None

    assert valid.status == "published" and valid.published_at is not None
    assert valid.certifications == "vietgap"
    assert product("S-0027").certifications == "organic;vietgap"  # "Hữu cơ;VietGAP"
    assert product("S-0019").certifications == "GMP"  # unknown names kept as text
    assert product("S-0005").ocop_group_2019 == "textile"
    assert product("S-0021").ocop_group_2019 is None
    assert valid.price_min_vnd == 65000 and valid.moq == 100 and valid.monthly_capacity == 25000
    producer = valid.producer
    assert (producer.name, producer.district, producer.commune, producer.craft_village) == (
        "HTX Nông nghiệp Cự Đà",
        "Thanh Oai",
        "Cự Khê",
        "Cự Đà",
    )
    assert producer.managers == []
    assert (producer.lat, producer.lng) == (20.95, 105.78)

    airport = db.session.scalars(sa.select(SalesPoint).where(SalesPoint.ref == "SP-02")).one()
    assert airport.kind == "airport" and airport.status == "approved"
    assert [p.ref for p in airport.products] == ["S-0003", "S-0005", "S-0012", "S-0016", "S-0018"]
    pending = db.session.scalars(sa.select(SalesPoint).where(SalesPoint.ref == "SP-07")).one()
    assert pending.status == "pending"


def snapshot():
    db.session.expire_all()
    return {
        "products": {
            p.ref: (p.updated_at, p.name, p.price_min_vnd) for p in db.session.scalars(sa.select(Product)).unique()
        },
        "producers": {p.id: p.updated_at for p in db.session.scalars(sa.select(Producer))},
        "points": {
            p.ref: (p.updated_at, tuple(x.ref for x in p.products)) for p in db.session.scalars(sa.select(SalesPoint))
        },
        "certificates": {
            c.id: (c.stars, c.issued_on, c.verified_at) for c in db.session.scalars(sa.select(Certificate))
        },
    }


def test_reimport_changes_nothing(runner):
    import_samples(runner)
    before = snapshot()
    products = runner.invoke(args=["import", "products", str(SAMPLE_PRODUCTS)])
    points = runner.invoke(args=["import", "sales-points", str(SAMPLE_SALES_POINTS)])
    assert products.exit_code == 0 and points.exit_code == 0
    assert "35 không đổi" in products.output
    assert "8 không đổi" in points.output
    assert snapshot() == before


def test_invalid_rows_exit_1_and_import_nothing(runner, tmp_path):
    import_samples(runner)
    before = snapshot()
    result = runner.invoke(args=["import", "products", str(bad_file(tmp_path))])
    assert result.exit_code == 1
    assert "line 3, column ocop_stars:" in result.output
    assert "line 4, column price_min_vnd:" in result.output
    assert "line 2" not in result.output
    assert snapshot() == before
    assert db.session.scalar(sa.select(Product).where(Product.ref == "X-0001")) is None


def test_skip_invalid_imports_the_valid_rows(runner, tmp_path):
    import_samples(runner)
    result = runner.invoke(args=["import", "products", "--skip-invalid", str(bad_file(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "line 3" in result.output and "line 4" in result.output
    assert "1 mới" in result.output
    assert count(Product) == 36
    assert product("X-0001").name == "Thảm cói thử nghiệm"
    refs = set(db.session.scalars(sa.select(Product.ref).where(Product.ref.in_(["X-0002", "X-0003"]))))
    assert refs == set()


def test_bom_and_nfd_input(runner, tmp_path):
    rows = [{k: unicodedata.normalize("NFD", v) for k, v in row.items()} for row in sample_rows()]
    rows[0]["district"] = "  chương mỹ "  # folded match, stored canonical
    path = write_csv(tmp_path / "nfd.csv", rows, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    result = runner.invoke(args=["import", "products", str(path)])
    assert result.exit_code == 0, result.output
    basket = product("S-0001")
    assert basket.name == "Làn mây đan tay" == unicodedata.normalize("NFC", basket.name)
    assert basket.producer.name == "HTX Mây tre đan Phú Vinh"
    assert basket.producer.district == "Chương Mỹ"
    # The NFC file is the same data: nothing changes.
    again = runner.invoke(args=["import", "products", str(SAMPLE_PRODUCTS)])
    assert "35 không đổi" in again.output
    assert count(Producer) == 34


def test_unknown_product_refs_in_sales_points(runner, tmp_path):
    runner.invoke(args=["import", "products", str(SAMPLE_PRODUCTS)])
    rows = [
        {"ref": "SP-X1", "name": "Cửa hàng thử", "kind": "shop", "district": "Hoàn Kiếm", "product_refs": "S-0001"},
        {
            "ref": "SP-X2",
            "name": "Cửa hàng lỗi",
            "kind": "shop",
            "district": "Hoàn Kiếm",
            "product_refs": "S-0001;NOPE-1",
        },
    ]
    path = write_csv(tmp_path / "points.csv", rows)
    result = runner.invoke(args=["import", "sales-points", str(path)])
    assert result.exit_code == 1
    assert "line 3, column product_refs:" in result.output and "NOPE-1" in result.output
    assert count(SalesPoint) == 0
    result = runner.invoke(args=["import", "sales-points", "--skip-invalid", str(path)])
    assert result.exit_code == 0
    point = db.session.scalars(sa.select(SalesPoint)).one()
    assert point.ref == "SP-X1" and point.status == "approved" and [p.ref for p in point.products] == ["S-0001"]


def test_missing_required_column(runner, tmp_path):
    rows = [{k: v for k, v in row.items() if k != "district"} for row in sample_rows()]
    path = write_csv(tmp_path / "nodistrict.csv", rows)
    for args in (["import", "products", str(path)], ["import", "products", "--skip-invalid", str(path)]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1
        assert "line 1, column district:" in result.output
        assert "line 2" not in result.output
    assert count(Product) == 0


def test_not_utf8_is_refused(runner, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        "ref,producer_name,district,product_name,ocop_group\nA-1,Lê Hà,Ba Vì,Chè,beverage\n".encode("latin-1")
    )
    result = runner.invoke(args=["import", "products", "--skip-invalid", str(path)])
    assert result.exit_code == 1
    assert "UTF-8" in result.output
    assert count(Product) == 0
