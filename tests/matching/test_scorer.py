"""The pure scorer, factor by factor: constraints, factors, list shape, sales points."""

from __future__ import annotations

import math
from datetime import date

import pytest

from marketplace.matching import scorer
from marketplace.matching.need import Need, Point
from marketplace.matching.scorer import (
    Candidate,
    PointFacts,
    ProductFacts,
    Responsiveness,
    TextMatch,
    rank_sales_points,
    rank_suppliers,
    violations,
)

HOAN_KIEM = Point(21.029, 105.852)


def facts(**fields) -> ProductFacts:
    base = dict(id=1, ref="P-1", producer_id=1, name="Miến dong", ocop_group="food", unit="kg", stars=4)
    base.update(fields)
    return ProductFacts(**base)


def cand(relevance: float = 1.0, **fields) -> Candidate:
    return Candidate(facts(**fields), TextMatch(relevance, (("miến", "name"),)))


def score(need: Need, **fields) -> float:
    return scorer.score_supplier(need, cand(**fields)).score


# --- weights ---------------------------------------------------------------------------------


def test_weights_sum_to_one():
    assert math.isclose(sum(scorer.WEIGHTS.values()), 1.0)
    assert math.isclose(sum(scorer.POINT_WEIGHTS.values()), 1.0)


def test_score_is_between_0_and_100():
    best = scorer.score_supplier(Need("x"), cand(stars=5))
    assert 0 <= best.score <= 100


# --- hard constraints ------------------------------------------------------------------------


def test_group_constraint():
    assert violations(Need("x", ocop_group="food"), facts(ocop_group="handicraft")) == ("group",)
    assert violations(Need("x", ocop_group="food"), facts()) == ()
    assert violations(Need("x"), facts(ocop_group="handicraft")) == ()


def test_stars_constraint_uses_counted_stars():
    assert violations(Need("x", min_stars=4), facts(stars=3)) == ("stars",)
    assert violations(Need("x", min_stars=4), facts(stars=0, certificate_status="expired")) == ("stars",)
    assert violations(Need("x", min_stars=4), facts(stars=4)) == ()


def test_capacity_and_moq_only_in_the_same_unit():
    need = Need("x", quantity=500, unit="kg")
    assert violations(need, facts(monthly_capacity=400)) == ("capacity",)
    assert violations(need, facts(moq=600)) == ("moq",)
    assert violations(need, facts(monthly_capacity=400, moq=600)) == ("capacity", "moq")
    assert violations(need, facts(monthly_capacity=500, moq=500)) == ()
    assert violations(need, facts(unit="chiếc", monthly_capacity=1, moq=10_000)) == ()  # another unit
    assert violations(need, facts(monthly_capacity=None, moq=None)) == ()  # unknown
    assert violations(Need("x", quantity=500), facts(monthly_capacity=1)) == ()  # need without unit


def test_units_convert_for_capacity():
    need = Need("x", quantity=2, unit="tấn")
    assert violations(need, facts(monthly_capacity=1500)) == ("capacity",)
    assert violations(need, facts(monthly_capacity=2000)) == ()
    assert violations(Need("x", quantity=500, unit="ml"), facts(unit="lít", moq=1)) == ("moq",)
    assert scorer.quantity_in(Need("x", quantity=3, unit="kg"), "g") == 3000
    assert scorer.quantity_in(Need("x", quantity=3, unit="kg"), "lít") is None


def test_price_constraint():
    need = Need("x", max_price_vnd=60_000)
    assert violations(need, facts(price_min_vnd=65_000)) == ("price",)
    assert violations(need, facts(price_min_vnd=60_000, price_max_vnd=90_000)) == ()
    assert violations(need, facts(price_min_vnd=None)) == ()  # "giá liên hệ" is not excluded


def test_unpublished_or_hidden_is_excluded():
    assert violations(Need("x"), facts(public=False)) == ("public",)


def test_delivery_place_never_filters():
    far = facts(location=Point(10.77, 106.70))  # Hồ Chí Minh City
    assert violations(Need("x", location=HOAN_KIEM, place="Hoàn Kiếm"), far) == ()


# --- soft factors ----------------------------------------------------------------------------


def test_relevance_factor():
    need = Need("x")
    assert score(need, relevance=1.0) > score(need, relevance=0.6)


def test_stars_factor():
    assert scorer.stars_factor(facts(stars=5)) == 1.0
    assert scorer.stars_factor(facts(stars=0)) == 0.0
    need = Need("x")
    assert score(need, stars=5) > score(need, stars=4) > score(need, stars=0)


def test_distance_factor():
    assert scorer.distance_factor(0, True) == 1.0
    assert scorer.distance_factor(scorer.DISTANCE_HALF_KM, True) == pytest.approx(0.5)
    assert scorer.distance_factor(None, True) == scorer.NO_LOCATION
    assert scorer.distance_factor(3, False) == scorer.NEUTRAL
    need = Need("x", location=HOAN_KIEM, place="Hoàn Kiếm")
    assert score(need, location=Point(21.03, 105.85)) > score(need, location=Point(21.2, 105.4))
    assert score(need, location=Point(21.15, 105.7)) > score(need, location=None)  # ~20 km vs unknown


def test_haversine():
    assert scorer.haversine_km(HOAN_KIEM, HOAN_KIEM) == 0
    # Hoàn Kiếm to Nội Bài airport is about 21 km as the crow flies
    assert 19 < scorer.haversine_km(HOAN_KIEM, Point(21.221, 105.807)) < 23


def test_price_factor():
    need = Need("x", max_price_vnd=100_000)
    assert scorer.price_factor(need, facts(price_min_vnd=50_000)) == pytest.approx(0.85)
    assert scorer.price_factor(need, facts(price_min_vnd=100_000)) == pytest.approx(0.7)
    assert scorer.price_factor(need, facts(price_min_vnd=None)) == scorer.PRICE_UNKNOWN
    assert scorer.price_factor(Need("x"), facts(price_min_vnd=1)) == scorer.NEUTRAL


def test_certifications_factor():
    need = Need("x", certifications=("vietgap", "organic"))
    assert scorer.certifications_factor(need, facts(certifications=("vietgap",))) == 0.5
    assert scorer.certifications_factor(need, facts(certifications=("organic", "vietgap"))) == 1.0
    assert scorer.certifications_factor(Need("x"), facts(certifications=("vietgap",))) == scorer.NEUTRAL


def test_capacity_factor():
    need = Need("x", quantity=500, unit="kg")
    assert scorer.capacity_factor(need, facts(monthly_capacity=1000)) == 1.0
    assert scorer.capacity_factor(need, facts(monthly_capacity=None)) == scorer.CAPACITY_UNKNOWN
    assert scorer.capacity_factor(need, facts(unit="chiếc")) == scorer.NEUTRAL


def test_responsiveness_factor():
    assert scorer.responsiveness_factor(None) == scorer.NEUTRAL
    fast = Responsiveness(1.0, 3600)
    slow = Responsiveness(1.0, 5 * 86400)
    assert scorer.responsiveness_factor(fast) == 1.0
    assert scorer.responsiveness_factor(slow) < scorer.responsiveness_factor(fast)
    assert scorer.responsiveness_factor(Responsiveness(0.0, None)) == 0.0
    need = Need("x")
    with_data = scorer.score_supplier(need, cand(), fast).score
    without = scorer.score_supplier(need, cand(), None).score
    assert with_data > without


def test_neutral_factors_do_not_change_the_order():
    """A need without place, budget or certifications ranks by relevance and stars only."""
    need = Need("x")
    a = cand(relevance=0.9, stars=3, location=Point(21.0, 105.8), price_min_vnd=10)
    b = cand(relevance=0.9, stars=3, id=2, ref="P-2", location=None, price_min_vnd=None)
    assert scorer.score_supplier(need, a).score == scorer.score_supplier(need, b).score


# --- reasons ---------------------------------------------------------------------------------


def test_every_result_has_reasons_and_they_say_why():
    need = Need("x", quantity=500, unit="kg", location=HOAN_KIEM, place="Hoàn Kiếm", max_price_vnd=90_000)
    result = scorer.score_supplier(
        need,
        cand(
            monthly_capacity=25_000,
            moq=100,
            price_min_vnd=65_000,
            location=Point(20.95, 105.78),
            certificate_expires_on=date(2029, 2, 14),
        ),
    )
    codes = [r.code for r in result.reasons]
    assert codes[:2] == ["text", "stars"]
    assert {"capacity", "moq", "distance", "price_fit"} <= set(codes)
    assert result.reasons[1].get("until") == date(2029, 2, 14)
    bare = scorer.score_supplier(Need("x"), Candidate(facts(stars=0), TextMatch(0.5)))
    assert [r.code for r in bare.reasons] == ["text_any"]


# --- the list --------------------------------------------------------------------------------


def test_one_result_per_product():
    twice = [cand(relevance=0.5), cand(relevance=0.9)]
    ranking = rank_suppliers(Need("x"), twice)
    assert len(ranking.suppliers) == 1
    assert ranking.suppliers[0].relevance == 0.9


def test_constraints_filter_the_list():
    need = Need("x", min_stars=4)
    ranking = rank_suppliers(need, [cand(id=1, ref="A", stars=3), cand(id=2, ref="B", stars=4)])
    assert [s.product.ref for s in ranking.suppliers] == ["B"]


def test_at_most_two_products_per_producer_in_the_top_ten():
    flood = [cand(relevance=1.0, id=i, ref=f"F-{i:02d}", producer_id=1) for i in range(1, 8)]
    others = [cand(relevance=0.6, id=100 + i, ref=f"O-{i:02d}", producer_id=10 + i) for i in range(12)]
    ranking = rank_suppliers(Need("x"), flood + others)
    top = [s.product.producer_id for s in ranking.suppliers[:10]]
    assert top.count(1) == 2
    assert top[:2] == [1, 1]  # the best products still come first
    assert [s.product.producer_id for s in ranking.suppliers[10:]].count(1) == 5  # after the top ten


def test_a_short_list_never_floods_either():
    flood = [cand(id=i, ref=f"F-{i}", producer_id=1) for i in range(1, 5)]
    ranking = rank_suppliers(Need("x"), flood + [cand(id=9, ref="O", producer_id=2)])
    assert [s.product.producer_id for s in ranking.suppliers] == [1, 1, 2]
    assert ranking.more_from_producer == {1: 2}
    assert len(ranking.passing) == 5


# --- sales points ----------------------------------------------------------------------------


def test_sales_points_approved_only_nearest_first():
    need = Need("gốm", location=HOAN_KIEM, place="Hoàn Kiếm")
    ranking = rank_suppliers(need, [cand(id=1, ref="S-3")])
    points = [
        PointFacts(1, "SP-02", "Sân bay", "airport", "approved", (1,), Point(21.221, 105.807)),
        PointFacts(2, "SP-01", "Hoàn Kiếm", "shop", "approved", (1,), Point(21.029, 105.851)),
        PointFacts(3, "SP-07", "Bưu điện", "post_office", "pending", (1,), Point(21.029, 105.852)),
        PointFacts(4, "SP-09", "Không bán", "shop", "approved", (99,), Point(21.029, 105.852)),
    ]
    ranked = rank_sales_points(need, points, ranking.suppliers)
    assert [p.point.ref for p in ranked] == ["SP-01", "SP-02"]
    assert ranked[0].reasons[0].code == "carries"
    assert ranked[0].reasons[0].get("names") == ("Miến dong",)
    assert any(r.code == "distance" for r in ranked[0].reasons)


def test_sales_points_prefer_better_products():
    need = Need("x")
    ranking = rank_suppliers(need, [cand(id=1, ref="A", stars=5), cand(id=2, ref="B", stars=0, relevance=0.5)])
    points = [
        PointFacts(1, "SP-B", "B", "shop", "approved", (2,)),
        PointFacts(2, "SP-A", "A", "shop", "approved", (1,)),
    ]
    assert [p.point.ref for p in rank_sales_points(need, points, ranking.suppliers)] == ["SP-A", "SP-B"]


def test_only_the_shown_results_are_explained():
    many = [cand(id=i, ref=f"P-{i:02d}", producer_id=i) for i in range(1, 15)]
    ranking = rank_suppliers(Need("x"), many, explain_top=3)
    assert all(s.reasons for s in ranking.suppliers[:3])
    assert not any(s.reasons for s in ranking.suppliers[3:])
    full = scorer.score_supplier(Need("x"), many[0])
    assert scorer.score_only(Need("x"), many[0]).score == full.score and full.reasons
