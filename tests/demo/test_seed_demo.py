"""`flask seed-demo`: proportions, determinism, --if-empty / --check, demo accounts."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.accounts.passwords import verify_password
from marketplace.catalog.models import Product
from marketplace.core.dates import today
from marketplace.demo import services as demo_services
from marketplace.demo.generator import generate
from marketplace.extensions import db
from marketplace.imports.reading import validate_products
from marketplace.imports.writing import product_row_to_csv
from marketplace.producers.models import Producer
from marketplace.sales_points.models import SalesPoint


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_seed_demo_builds_a_city_in_real_proportions(runner):
    result = runner.invoke(args=["seed-demo", "--products", "300", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert count(Product) == 300
    groups = Counter(db.session.scalars(sa.select(Product.ocop_group)))
    assert abs(groups["food"] / 300 - 0.40) <= 0.05
    assert abs(groups["handicraft"] / 300 - 0.53) <= 0.05
    assert set(groups) == {"food", "handicraft", "beverage", "herbal", "ornamental", "tourism"}
    assert 34 + 45 <= count(Producer) <= 34 + 65  # the 34 sample producers + about 265 / 4.8
    # The sample files are in, with their sales points.
    assert db.session.scalar(sa.select(Product).where(Product.ref == "S-0013")) is not None
    assert count(SalesPoint) >= 9
    statuses = set(db.session.scalars(sa.select(SalesPoint.status)))
    assert "approved" in statuses
    # Every producer is in one of the 30 districts; most products have a certificate.
    from marketplace.data import district_names

    assert set(db.session.scalars(sa.select(Producer.district))) <= set(district_names())
    stars = Counter(
        p.certificate.stars if p.certificate else 0 for p in db.session.scalars(sa.select(Product)).unique()
    )
    assert stars[3] > stars[4] > stars[5]
    for email in ("buyer@demo.ocop.vn", "producer@demo.ocop.vn", "organiser@demo.ocop.vn", "admin@demo.ocop.vn"):
        assert email in result.output
        user = db.session.scalars(sa.select(User).where(User.email == email)).one()
        assert user.email_verified and verify_password(user.password_hash, "ocop-demo-2026")
    producer_user = db.session.scalars(sa.select(User).where(User.email == "producer@demo.ocop.vn")).one()
    managed = db.session.scalars(sa.select(Producer).where(Producer.managers.contains(producer_user))).all()
    assert len(managed) >= 2
    assert "ocop-demo-2026" in result.output


def test_same_seed_same_data(app):
    samples, _ = validate_products(demo_services.SAMPLE_PRODUCTS)
    one = generate(300, 42, today(), samples)
    two = generate(300, 42, today(), samples)
    other = generate(300, 43, today(), samples)
    rows = [product_row_to_csv(r) for r in one.products]
    assert rows == [product_row_to_csv(r) for r in two.products]
    assert one.sales_points == two.sales_points
    assert rows != [product_row_to_csv(r) for r in other.products]
    assert [rows[0]["ref"], rows[-1]["ref"]] == ["HN-DEMO-00001", "HN-DEMO-00265"]


def test_seeded_database_matches_the_plan(runner):
    assert runner.invoke(args=["seed-demo", "--products", "120", "--seed", "5"]).exit_code == 0
    plan, _samples, _ = demo_services.plan_demo(120, 5)
    names = dict(db.session.execute(sa.select(Product.ref, Product.name)).all())
    assert {r.ref: r.product_name for r in plan.products} == {k: v for k, v in names.items() if k.startswith("HN-")}


def test_if_empty_and_check(runner):
    assert runner.invoke(args=["seed-demo", "--if-empty", "--check"]).output.strip() == "empty"
    assert count(Product) == 0
    first = runner.invoke(args=["seed-demo", "--products", "80", "--if-empty"])
    assert first.exit_code == 0, first.output
    stamps = dict(db.session.execute(sa.select(Product.ref, Product.updated_at)).all())
    users = count(User)
    assert users > 4  # the 4 demo accounts and the demo forum's participants
    assert runner.invoke(args=["seed-demo", "--if-empty", "--check"]).output.strip() == "has-data"
    second = runner.invoke(args=["seed-demo", "--products", "500", "--if-empty"])
    assert second.exit_code == 0
    db.session.expire_all()
    assert count(Product) == 80
    assert dict(db.session.execute(sa.select(Product.ref, Product.updated_at)).all()) == stamps
    assert count(User) == users


def test_running_twice_without_if_empty_changes_nothing(runner):
    assert runner.invoke(args=["seed-demo", "--products", "60"]).exit_code == 0
    users = count(User)
    again = runner.invoke(args=["seed-demo", "--products", "60"])
    assert again.exit_code == 0
    assert "60 không đổi" in again.output
    assert count(User) == users


def test_password_is_hashed_once(app, monkeypatch):
    import marketplace.accounts.passwords as passwords

    calls = []
    real = passwords.hash_password
    monkeypatch.setattr(passwords, "hash_password", lambda p: calls.append(p) or real(p))
    demo_services.seed_demo(40, 1)
    assert calls == ["ocop-demo-2026"]


def test_write_csv_gives_an_importable_file(runner, tmp_path):
    path = tmp_path / "demo.csv"
    result = runner.invoke(args=["seed-demo", "--products", "200", "--write-csv", str(path)])
    assert result.exit_code == 0, result.output
    assert count(Product) == 0
    rows, problems = validate_products(path)
    assert problems == [] and len(rows) == 200
    imported = runner.invoke(args=["import", "products", str(path)])
    assert imported.exit_code == 0, imported.output
    assert count(Product) == 200
