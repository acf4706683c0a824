"""The page "Tìm nhà cung cấp"."""

from __future__ import annotations

import re

from marketplace.extensions import db
from tests.matching.conftest import product


def page(client, **params):
    response = client.get("/tim-nha-cung-cap", query_string=params)
    return response, response.get_data(as_text=True)


def test_empty_form_and_nav_link(client, app):
    response, html = page(client)
    assert response.status_code == 200
    assert "Bạn cần mua gì?" in html
    assert 'href="/tim-nha-cung-cap"' in client.get("/").get_data(as_text=True)
    assert "Nhà cung cấp phù hợp" not in html  # no results before asking


def test_results_with_reasons_and_inquiry_buttons(client, sample):
    response, html = page(client, text="miến dong", quantity="500", unit="kg", min_stars="4", district="Cầu Giấy")
    assert response.status_code == 200
    assert 'data-ref="S-0009"' in html and 'data-ref="S-0010"' not in html
    assert "Năng lực 25.000 kg/tháng ≥ 500 kg" in html
    assert "Cách Cầu Giấy" in html
    assert "Trạm dừng nghỉ cao tốc Pháp Vân" in html  # a sales point carrying it
    buttons = re.findall(r'href="([^"]+)" data-testid="inquiry-button"', html)
    assert buttons
    expected = (
        "/inquiries/new?product=S-0009" if "inquiries.new_inquiry" in sample.view_functions else "/san-pham/S-0009"
    )
    assert buttons[0] == expected


def test_natural_language_is_understood(client, sample):
    _, html = page(client, text="cần mua 500 kg miến dong, OCOP 4 sao, giao tới Cầu Giấy")
    understood = re.search(r'data-testid="understood">(.*?)</p>', html, re.S).group(1)
    assert "miến dong" in understood and "500 kg" in understood and "4★" in understood and "Cầu Giấy" in understood
    assert 'data-ref="S-0009"' in html and 'data-ref="S-0010"' not in html


def test_bad_input_keeps_what_was_typed(client, sample):
    response, html = page(client, text="miến dong", quantity="nhiều", max_price_vnd="abc")
    assert response.status_code == 200
    assert "Vui lòng nhập một số lớn hơn 0" in html
    assert "Vui lòng nhập một số tiền" in html
    assert 'value="nhiều"' in html and "miến dong</textarea>" in html
    assert "Nhà cung cấp phù hợp" not in html


def test_missing_text_and_odd_choices(client, sample):
    _, html = page(client, text="")
    assert "Hãy mô tả sản phẩm bạn cần." in html
    _, html = page(client, text="gốm", ocop_group="weapons", district="Atlantis")
    assert "Lựa chọn không hợp lệ." in html


def test_empty_state_explains_why(client, sample):
    product("S-0009").monthly_capacity = 100
    db.session.commit()
    _, html = page(client, text="miến dong", quantity="5000", unit="kg", min_stars="4")
    assert "Chưa tìm thấy nhà cung cấp" in html
    assert "năng lực chưa đủ số lượng (1)" in html and "chưa đủ hạng sao còn hiệu lực (1)" in html
    _, html = page(client, text="xyzzy")
    assert "Không có sản phẩm nào chứa: xyzzy" in html


def test_user_text_is_escaped(client, sample):
    _, html = page(client, text="<script>alert(1)</script> gốm")
    assert "<script>alert(1)</script>" not in html


def test_english_page(client, sample):
    client.post("/lang/en")
    response, _ = page(client, text="gốm")
    assert response.status_code == 200


def test_spelling_suggestion_link(client, sample):
    _, html = page(client, text="mien dongg")
    assert 'data-testid="suggestion">mien dong</a>' in html


def test_sales_points_map_when_the_feature_is_installed(client, sample):
    _, html = page(client, text="gốm", district="Hoàn Kiếm")
    if "sales_points.show" in sample.view_functions:
        assert 'id="match-map"' in html and '"ref": "SP-01"' in html
        assert 'href="/diem-ban/SP-01"' in html or "SP-01" in html
