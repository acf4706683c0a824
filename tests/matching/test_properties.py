"""Property tests (Hypothesis): random needs and catalogues never yield a result that breaks a hard
constraint, and raising a product's stars never lowers its score."""

from __future__ import annotations

from collections import Counter
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.matching.need import Need, Point
from marketplace.matching.scorer import (
    Candidate,
    PointFacts,
    ProductFacts,
    TextMatch,
    rank_sales_points,
    rank_suppliers,
    score_supplier,
    violations,
)

GROUPS = ("food", "beverage", "herbal", "handicraft", "ornamental", "tourism")
UNITS = ("kg", "g", "tấn", "lít", "ml", "chiếc", "hộp", None)
FACTOR = {"g": ("g", 1), "kg": ("g", 1000), "tấn": ("g", 1_000_000), "ml": ("ml", 1), "lít": ("ml", 1000)}
PROFILE = settings(max_examples=150, database=None, deadline=None)

maybe_int = st.one_of(st.none(), st.integers(min_value=0, max_value=100_000))
points = st.builds(Point, st.floats(20.5, 21.4), st.floats(105.3, 106.0))


@st.composite
def products(draw, pid: int) -> ProductFacts:
    low = draw(maybe_int)
    return ProductFacts(
        id=pid,
        ref=f"R-{pid}",
        producer_id=draw(st.integers(1, 6)),
        name=f"Sản phẩm {pid}",
        ocop_group=draw(st.sampled_from(GROUPS)),
        unit=draw(st.sampled_from(UNITS)),
        price_min_vnd=low,
        price_max_vnd=None if low is None else low + draw(st.integers(0, 50_000)),
        moq=draw(maybe_int),
        monthly_capacity=draw(maybe_int),
        certifications=tuple(draw(st.lists(st.sampled_from(("vietgap", "organic", "haccp")), unique=True))),
        stars=draw(st.integers(0, 5)),
        certificate_expires_on=date(2028, 1, 1),
        location=draw(st.one_of(st.none(), points)),
        public=draw(st.sampled_from((True, True, True, False))),  # a quarter unpublished or hidden
    )


@st.composite
def catalogues(draw) -> list[Candidate]:
    size = draw(st.integers(0, 20))
    return [
        Candidate(draw(products(pid)), TextMatch(draw(st.floats(0.45, 1.0)), (("từ", "name"),)))
        for pid in range(1, size + 1)
    ]


needs = st.builds(
    Need,
    text=st.just("nhu cầu"),
    ocop_group=st.one_of(st.none(), st.sampled_from(GROUPS)),
    quantity=st.one_of(st.none(), st.floats(0.001, 200_000, allow_nan=False)),
    unit=st.sampled_from(UNITS),
    min_stars=st.integers(0, 5),
    location=st.one_of(st.none(), points),
    place=st.none(),
    max_price_vnd=st.one_of(st.none(), st.integers(0, 120_000)),
    certifications=st.lists(st.sampled_from(("vietgap", "organic")), unique=True).map(tuple),
)


def breaks_a_constraint(need: Need, p: ProductFacts) -> bool:
    """An independent statement of CONTRACT.md's hard constraints."""
    if not p.public or (need.ocop_group and p.ocop_group != need.ocop_group) or p.stars < need.min_stars:
        return True
    if need.max_price_vnd is not None and p.price_min_vnd is not None and p.price_min_vnd > need.max_price_vnd:
        return True
    if need.quantity is not None and need.unit and p.unit:
        a, b = FACTOR.get(need.unit), FACTOR.get(p.unit)
        if need.unit == p.unit:
            wanted = need.quantity
        elif a and b and a[0] == b[0]:
            wanted = need.quantity * a[1] / b[1]
        else:
            return False
        if p.monthly_capacity is not None and p.monthly_capacity < wanted:
            return True
        if p.moq is not None and p.moq > wanted:
            return True
    return False


@PROFILE
@given(needs, catalogues())
def test_no_result_breaks_a_constraint(need, catalogue):
    ranking = rank_suppliers(need, catalogue)
    ids = [s.product.id for s in ranking.suppliers]
    assert len(ids) == len(set(ids))  # one result per product
    for found in ranking.suppliers:
        assert not breaks_a_constraint(need, found.product)
        assert found.reasons
        assert 0 <= found.score <= 100
    expected = {c.product.id for c in catalogue if not breaks_a_constraint(need, c.product)}
    assert {s.product.id for s in ranking.passing} == expected  # nothing valid is lost either
    top = Counter(s.product.producer_id for s in ranking.suppliers[:10])
    assert max(top.values(), default=0) <= 2


@PROFILE
@given(
    needs,
    catalogues(),
    st.lists(st.tuples(st.sampled_from(("approved", "pending", "suspended")), st.lists(st.integers(1, 30)))),
)
def test_sales_points_are_approved_and_carry_a_result(need, catalogue, raw_points):
    ranking = rank_suppliers(need, catalogue)
    matched = {s.product.id for s in ranking.passing}
    pts = [PointFacts(i, f"SP-{i}", "Điểm", "shop", status, tuple(ids)) for i, (status, ids) in enumerate(raw_points)]
    for found in rank_sales_points(need, pts, ranking.passing):
        assert found.point.status == "approved"
        assert set(found.point.product_ids) & matched
        assert found.reasons


@PROFILE
@given(needs, products(1), st.integers(0, 5), st.integers(0, 5), st.floats(0.45, 1.0))
def test_raising_stars_never_lowers_the_score(need, product, low, high, relevance):
    low, high = min(low, high), max(low, high)
    from dataclasses import replace

    before, after = replace(product, stars=low), replace(product, stars=high)
    text = TextMatch(relevance, (("từ", "name"),))
    if violations(need, before):
        return
    assert not violations(need, after)  # more stars never breaks a constraint
    assert score_supplier(need, Candidate(after, text)).score >= score_supplier(need, Candidate(before, text)).score


# --- the same through the database and the whole pipeline ------------------------------------

db_products = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(("Miến dong", "Miến dong Hà Đông", "Bánh dong", "Gốm men lam", "Mật ong")),
            "group": st.sampled_from(("food", "handicraft")),
            "unit": st.sampled_from(("kg", "chiếc", "tấn")),
            "stars": st.integers(0, 5),
            "issued": st.sampled_from((date(2022, 1, 1), date(2025, 1, 1))),  # expired / valid on 2026-12-01
            "verified": st.booleans(),
            "capacity": maybe_int,
            "moq": maybe_int,
            "price": maybe_int,
            "status": st.sampled_from(("published", "published", "draft")),
            "producer": st.integers(0, 3),
        }
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, database=None, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    db_products,
    st.sampled_from(("miến dong", "gốm", "cần mua miến dong giao tới Hà Đông", "mật ong 4 sao")),
    st.one_of(st.none(), st.sampled_from(("food", "handicraft"))),
    st.one_of(st.none(), st.integers(1, 5000)),
    st.sampled_from((None, "kg", "tấn", "chiếc")),
    st.integers(0, 5),
    st.one_of(st.none(), st.integers(0, 100_000)),
)
def test_matches_from_the_database_respect_constraints(app, rows, text, group, quantity, unit, stars, max_price):
    from marketplace.catalog.models import Product
    from marketplace.catalog.stars import effective_stars
    from marketplace.extensions import db
    from marketplace.matching.services import build_need, match
    from tests.conftest import _clean_tables
    from tests.helpers import make_producer, make_product

    try:
        producers = [make_producer(district=d) for d in ("Thanh Oai", "Hà Đông", "Gia Lâm", "Ba Vì")]
        for n, row in enumerate(rows):
            make_product(
                producers[row["producer"]],
                stars=row["stars"],
                issued_on=row["issued"],
                verified=row["verified"],
                ref=f"H-{n}",
                name=row["name"],
                ocop_group=row["group"],
                unit=row["unit"],
                monthly_capacity=row["capacity"],
                moq=row["moq"],
                price_min_vnd=row["price"],
                status=row["status"],
            )
        db.session.commit()
        need, _ = build_need(
            text, ocop_group=group, quantity=quantity, unit=unit, min_stars=stars, max_price_vnd=max_price
        )
        result = match(need)
        shown = [s.product for s in result.suppliers]
        assert len({p.id for p in shown}) == len(shown)
        need = result.need  # with what the text said (e.g. "4 sao")
        for found in result.suppliers:
            p = db.session.get(Product, found.product.id)
            assert p.status == "published" and not p.hidden
            assert not need.ocop_group or p.ocop_group == need.ocop_group
            assert effective_stars(p.certificate) >= need.min_stars
            if need.max_price_vnd is not None and p.price_min_vnd is not None:
                assert p.price_min_vnd <= need.max_price_vnd
            same_unit = need.quantity is not None and need.unit == p.unit
            if same_unit and p.monthly_capacity is not None:
                assert p.monthly_capacity >= need.quantity
            if same_unit and p.moq is not None:
                assert p.moq <= need.quantity
            assert found.reasons
    finally:
        db.session.rollback()
        _clean_tables()
