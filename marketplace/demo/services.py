"""seed-demo: the sample files, then a generated city, sales points and demo accounts.

The demo forum (marketplace.demo.forums) follows in a second transaction: its recommendations
read the committed catalogue.

Everything goes through the import services (one code path for real and demo data) in the
caller's transaction: this module flushes, the CLI commits once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.catalog.models import Product
from marketplace.core.dates import today
from marketplace.core.models import utcnow
from marketplace.data import SAMPLE_PRODUCTS, SAMPLE_SALES_POINTS
from marketplace.demo.generator import DemoPlan, generate
from marketplace.extensions import db
from marketplace.imports.reading import validate_products, validate_sales_points
from marketplace.imports.rows import Problem
from marketplace.imports.services import ImportReport, Progress, import_products, import_sales_points
from marketplace.producers.models import Producer

DEMO_PASSWORD = "ocop-demo-2026"  # noqa: S105 (a published demo password, printed by seed-demo)
# email, roles, name, organisation
DEMO_ACCOUNTS: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    ("buyer@demo.ocop.vn", ("buyer",), "Nguyễn Minh Anh", "Công ty CP Quà tặng Hà Thành"),
    ("producer@demo.ocop.vn", ("producer",), "Trần Thị Thu Hà", ""),
    ("organiser@demo.ocop.vn", ("organiser",), "Lê Văn Quang", "Sở Nông nghiệp và Môi trường Hà Nội"),
    ("admin@demo.ocop.vn", ("admin",), "Phạm Đức Minh", "OCOP Trade Connect"),
)


@dataclass
class DemoReport:
    products: ImportReport
    sales_points: ImportReport
    producers_generated: int = 0
    users_created: list[str] = field(default_factory=list)
    managed: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # sample rows that could not be loaded


def has_data() -> bool:
    """True when any product exists (then `seed-demo --if-empty` does nothing)."""
    return db.session.scalar(sa.select(Product.id).limit(1)) is not None


def plan_demo(total: int = 7200, seed: int = 42) -> tuple[DemoPlan, list, list[Problem]]:
    """The sample rows and the generated plan, without touching the database."""
    samples, problems = validate_products(SAMPLE_PRODUCTS)
    return generate(total, seed, today(), samples), samples, problems


def seed_demo(total: int = 7200, seed: int = 42, progress: Progress | None = None) -> DemoReport:
    """Load the samples and a generated city of `total` products (samples included); flush only."""
    plan, samples, problems = plan_demo(total, seed)
    products = import_products(samples + plan.products, progress=progress)
    sample_points, point_problems = validate_sales_points(SAMPLE_SALES_POINTS)
    points = import_sales_points(sample_points + plan.sales_points, progress=progress)
    report = DemoReport(
        products=products,
        sales_points=points,
        producers_generated=plan.producers,
        problems=problems + point_problems,
    )
    report.users_created, report.managed = _demo_users(plan.managed)
    db.session.flush()
    return report


def _demo_users(managed: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Create the demo accounts that don't exist yet (one password hash, reused) and let the
    producer account manage a few producers."""
    from marketplace.accounts.passwords import hash_password

    emails = [email for email, *_ in DEMO_ACCOUNTS]
    existing = {u.email: u for u in db.session.scalars(sa.select(User).where(User.email.in_(emails)))}
    created: list[str] = []
    password_hash: str | None = None
    now = utcnow()
    for email, roles, name, organisation in DEMO_ACCOUNTS:
        if email in existing:
            continue
        password_hash = password_hash or hash_password(DEMO_PASSWORD)
        user = User(email=email, password_hash=password_hash, name=name, organisation=organisation)
        user.roles = set(roles)
        user.email_verified_at = now
        db.session.add(user)
        existing[email] = user
        created.append(email)
    producer_user = existing["producer@demo.ocop.vn"]
    names: list[str] = []
    for name, district in managed:
        producer = db.session.scalar(sa.select(Producer).where(Producer.name == name, Producer.district == district))
        if producer is None:
            continue
        if producer_user not in producer.managers:
            producer.managers.append(producer_user)
        names.append(producer.name)
    return created, names
