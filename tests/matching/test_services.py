"""Matching services on the sample data: the contract's examples, validation, reasons, hooks."""

from __future__ import annotations

from datetime import date

import pytest

from marketplace.core.errors import ServiceError
from marketplace.extensions import db
from marketplace.matching import services
from marketplace.matching.services import build_need, fits_among, fitting_producers_for_need, match
from tests.helpers import make_producer, make_product, make_sales_point
from tests.matching.conftest import point, product


def run(text: str, **fields):
    need, warnings = build_need(text, **fields)
    return match(need, warnings)


def supplier_refs(result) -> list[str]:
    return [s.product.ref for s in result.suppliers]


def point_refs(result) -> list[str]:
    return [p.point.ref for p in result.sales_points]


def test_mien_dong_4_stars_500_kg(sample):
    result = run("miến dong", quantity=500, unit="kg", min_stars=4)
    assert supplier_refs(result)[:1] == ["S-0009"]
    assert "S-0010" not in supplier_refs(result)  # 3★
    assert result.excluded["stars"] == 1
    reasons = result.suppliers[0].reasons
    assert "Đạt OCOP 4★ (còn hiệu lực đến 02/2029)" in reasons
    assert "Năng lực 25.000 kg/tháng ≥ 500 kg" in reasons
    assert any(r.startswith("Khớp “miến”, “dong”") for r in reasons)
    assert set(point_refs(result)) == {"SP-05", "SP-06"}
    assert all(p.reasons[0] == "Có bán “Miến dong sợi nhỏ”" for p in result.sales_points)


def test_gom_near_hoan_kiem(sample):
    result = run("gốm", district="Hoàn Kiếm")
    assert point_refs(result)[:1] == ["SP-01"]
    assert "SP-07" not in point_refs(result)  # pending
    assert any(r.startswith("Cách Hoàn Kiếm") for r in result.sales_points[0].reasons)
    assert result.sales_points[0].product_refs == ["S-0003", "S-0005", "S-0016", "S-0029"]


def test_natural_language_need(sample):
    result = run("Cần mua 500 kg miến dong loại ngon làm quà tặng, giao tới Cầu Giấy")
    assert supplier_refs(result)[:2] == ["S-0009", "S-0010"]
    assert (result.need.quantity, result.need.unit, result.need.place) == (500, "kg", "Cầu Giấy")
    assert any(r.startswith("Cách Cầu Giấy") for r in result.suppliers[0].reasons)


def test_every_result_has_a_reason(sample):
    for text in ("gốm", "dong", "mật ong", "chè", "quà tặng Tết", "du lịch"):
        result = run(text)
        assert all(s.reasons for s in result.suppliers), text
        assert all(p.reasons for p in result.sales_points), text


def test_expired_certificate_counts_no_stars(sample):
    """S-0013 (Bưởi Diễn) has a 4★ certificate from 2022: expired on 2026-12-01."""
    assert "S-0013" in supplier_refs(run("bưởi"))
    assert "S-0013" not in supplier_refs(run("bưởi", min_stars=1))


def test_price_and_group_constraints(sample):
    assert supplier_refs(run("miến dong", max_price_vnd=60_000)) == ["S-0010"]
    assert supplier_refs(run("miến dong", ocop_group="handicraft")) == []
    handicraft = supplier_refs(run("gốm", ocop_group="handicraft"))
    assert handicraft and "S-0024" not in handicraft  # the pottery workshop is tourism
    assert supplier_refs(run("gốm", ocop_group="textile")) == handicraft  # 2019 group, mapped


def test_capacity_in_another_unit_does_not_exclude(sample):
    """Bánh chưng is sold per chiếc: 100 tấn can't be compared with it."""
    result = run("bánh chưng", quantity=100, unit="tấn")
    assert supplier_refs(result) == ["S-0011"]
    assert any("Tính theo chiếc" in r for r in result.suppliers[0].reasons)
    assert supplier_refs(run("miến dong", quantity=26, unit="tấn")) == []  # 26 t > 25,000 kg


def test_hidden_and_unpublished_products_never_match(sample):
    product("S-0009").hidden = True
    product("S-0010").status = "draft"
    db.session.commit()
    assert supplier_refs(run("miến dong")) == []


def test_limit_and_producer_flooding(app):
    flood = make_producer(name="HTX Miến Lớn")
    for n in range(6):
        make_product(flood, ref=f"M-{n}", name=f"Miến dong loại {n}", stars=5)
    for n in range(3):
        make_product(ref=f"O-{n}", name=f"Miến dong nhà {n}", stars=3)
    db.session.commit()
    result = run("miến dong", limit=5)
    refs = supplier_refs(result)
    assert len(refs) == 5
    assert sum(r.startswith("M-") for r in refs) == 2
    assert any(r.startswith("Nhà sản xuất này còn 4 sản phẩm") for s in result.suppliers for r in s.reasons)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"text": "  "}, "text"),
        ({"text": "x" * 501}, "text"),
        ({"text": "x", "ocop_group": "weapons"}, "ocop_group"),
        ({"text": "x", "quantity": 0}, "quantity"),
        ({"text": "x", "quantity": float("nan")}, "quantity"),
        ({"text": "x", "min_stars": 6}, "min_stars"),
        ({"text": "x", "lat": 21.0}, "lng"),
        ({"text": "x", "lat": 91.0, "lng": 105.0}, "lat"),
        ({"text": "x", "max_price_vnd": -1}, "max_price_vnd"),
        ({"text": "x", "limit": 0}, "limit"),
        ({"text": "x", "limit": 51}, "limit"),
    ],
)
def test_build_need_refuses_bad_input(app, fields, field):
    with pytest.raises(ServiceError) as error:
        build_need(**fields)
    assert error.value.field == field


def test_build_need_normalises(app):
    need, warnings = build_need("  Miến\u0300 dong  ", unit="KG", district="quận cau giay", certifications=["Hữu cơ"])
    assert need.unit == "kg" and need.place == "Cầu Giấy" and need.certifications == ("organic",)
    assert not warnings
    _need, warnings = build_need("miến", district="Phường Nowhere")
    assert warnings and _need.location is None


def test_coordinates_win_over_the_district_for_distance(app):
    need, _ = build_need("x", district="Ba Vì", lat=21.03, lng=105.85)
    assert need.place == "Ba Vì" and need.location.lat == 21.03


def test_responsiveness_hook_is_empty_without_data(sample):
    ids = [product("S-0009").producer_id]
    assert all(value is None for value in services.producer_responsiveness(ids).values())


def test_responsiveness_feeds_the_score(sample, monkeypatch):
    from marketplace.matching.scorer import Responsiveness

    fast = product("S-0010").producer_id
    monkeypatch.setattr(services, "producer_responsiveness", lambda ids: {fast: Responsiveness(1.0, 1800)})
    result = run("miến dong")
    s10 = next(s for s in result.suppliers if s.product.ref == "S-0010")
    assert s10.score.factors["responsiveness"] == 1.0
    assert "Trả lời 100% yêu cầu, thường trong 1 giờ" in s10.reasons


def test_fitting_producers_for_an_rfq(sample):
    need, _ = build_need("cần 500 kg miến dong", min_stars=3)
    fits = fitting_producers_for_need(need)
    assert [f.producer_id for f in fits] == [product("S-0009").producer_id, product("S-0010").producer_id]
    assert fits[0].reasons
    only = fitting_producers_for_need(need, among=[product("S-0010").producer_id])
    assert [f.producer_id for f in only] == [product("S-0010").producer_id]
    assert fitting_producers_for_need(need, among=[]) == []


@pytest.mark.parametrize(
    "text",
    ["cần 500 kg miến dong", "gốm Bát Tràng", "lụa tơ tằm Vạn Phúc", "trà", "nón lá", "mật ong rừng", "quà tặng Tết"],
)
def test_fits_among_finds_every_producer_a_catalogue_wide_call_finds(sample, text):
    """The leads path (a producer's products against many RFQs) never misses a producer that
    the catalogue-wide ranking finds, with the same score."""
    need, _ = build_need(text)
    wide = fitting_producers_for_need(need)
    producer_ids = [f.producer_id for f in wide]
    among = {f.producer_id: f for f in fits_among([need], producer_ids)[0]} if producer_ids else {}
    for fit in wide:
        assert fit.producer_id in among
        assert among[fit.producer_id].score == pytest.approx(fit.score)


def test_fits_among_scores_many_needs_in_one_pass(sample):
    mien = product("S-0010").producer_id
    needs = [build_need(t)[0] for t in ("miến dong", "gốm sứ men lam", "miến dong Cự Đà loại ngon")]
    found = fits_among(needs, [mien])
    assert [[f.producer_id for f in fits] for fits in found] == [[mien], [], [mien]]
    assert fits_among([], [mien]) == [] and fits_among(needs, []) == [[], [], []]


def test_need_for_rfq_reads_an_rfq_like_object(app):
    class Rfq:
        title = "Miến dong cho bếp ăn"
        details = ""
        ocop_group = "food"
        quantity = 200
        unit = "kg"
        min_stars = 3
        delivery_district = "Đống Đa"

    need = services.need_for_rfq(Rfq())
    assert (need.quantity, need.min_stars, need.place) == (200, 3, "Đống Đa")


def test_a_sales_point_carrying_only_excluded_products_is_not_listed(app):
    p = make_product(name="Gốm Bát Tràng", stars=3, issued_on=date(2025, 1, 1))
    make_sales_point([p], ref="SP-X")
    db.session.commit()
    assert point_refs(run("gốm")) == ["SP-X"]
    assert point_refs(run("gốm", min_stars=4)) == []
    assert point("SP-X").status == "approved"


def test_responsiveness_from_real_inquiries(sample):
    """When the inquiries feature is installed, answered inquiries raise a producer's score."""
    if "inquiries" not in sample.blueprints:
        pytest.skip("the inquiries feature is not installed")
    from datetime import timedelta

    from marketplace.core.models import utcnow
    from marketplace.inquiries.models import Inquiry
    from tests.helpers import make_user

    buyer = make_user()
    p10 = product("S-0010")
    asked = utcnow() - timedelta(days=10)
    for _ in range(3):
        db.session.add(
            Inquiry(
                buyer_id=buyer.id,
                producer_id=p10.producer_id,
                product_id=p10.id,
                quantity=100,
                unit="kg",
                created_at=asked,
                first_response_at=asked + timedelta(hours=2),
            )
        )
    db.session.commit()
    answers = services.producer_responsiveness([p10.producer_id, product("S-0009").producer_id])
    assert answers[p10.producer_id].rate == 1.0 and answers[product("S-0009").producer_id] is None
    s10 = next(s for s in run("miến dong").suppliers if s.product.ref == "S-0010")
    assert "Trả lời 100% yêu cầu, thường trong 2 giờ" in s10.reasons
