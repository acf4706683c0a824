"""Reading a need's free text: content words, quantity, stars, place, certifications."""

from __future__ import annotations

import unicodedata

import pytest

from marketplace.matching.need import Need, Point, canonical_unit, interpret, parse_number


def test_purchase_words_quantity_and_place_are_not_content():
    hints = interpret("Cần mua 500 kg miến dong loại ngon làm quà tặng, giao tới Cầu Giấy")
    assert hints.content == "miến dong quà tặng"
    assert (hints.quantity, hints.unit) == (500, "kg")
    assert hints.district is not None and hints.district.name == "Cầu Giấy"


def test_stars_and_certifications_are_read():
    hints = interpret("rau cải hữu cơ OCOP 4 sao, có VietGAP")
    assert hints.min_stars == 4
    assert hints.certifications == ("organic", "vietgap")
    assert hints.content.startswith("rau cải hữu cơ")
    assert interpret("mật ong 5★").min_stars == 5


def test_a_place_without_a_cue_stays_in_the_content():
    """'Gà Mía Sơn Tây' names the product; the place still scores by distance."""
    hints = interpret("gà mía Sơn Tây")
    assert hints.content == "gà mía sơn tây"
    assert hints.district is not None and hints.district.name == "Sơn Tây"


def test_units_only_after_a_number():
    assert interpret("2 tấn gạo nếp").unit == "tấn"
    assert "cây" in interpret("cây đào thế").content  # 'cây' is a unit only after a number
    assert interpret("300 chai rượu mơ").quantity == 300


def test_thousands_separators_and_glued_units():
    assert parse_number("20.000") == (20000.0, "")
    assert parse_number("1,5") == (1.5, "")
    assert parse_number("500kg") == (500.0, "kg")
    assert interpret("mua 1.500kg miến").quantity == 1500


def test_unaccented_text_drops_the_same_purchase_words():
    hints = interpret("can mua 500 kg mien dong giao toi Cau Giay")
    assert hints.content == "mien dong"
    assert hints.district is not None and hints.district.name == "Cầu Giấy"


def test_ambiguous_folded_words_are_kept():
    """'lam' is làm (to make) but also lam (blue glaze): unaccented, it stays."""
    assert "lam" in interpret("bat dia men lam").content


def test_only_filler_falls_back_to_the_typed_words():
    assert interpret("cần mua hàng").content == "cần mua hàng"
    assert interpret("").content == ""


def test_decomposed_unicode_is_read_like_composed():
    text = "cần mua 500 kg miến dong"
    assert interpret(unicodedata.normalize("NFD", text)) == interpret(text)


@pytest.mark.parametrize("odd", ['"', "*", "a" * 3000, "') OR 1=1 --", "\x00", "5 sao sao sao", "1e309 kg"])
def test_never_raises(odd):
    interpret(odd)


def test_units_are_canonical():
    assert canonical_unit("KG") == "kg"
    assert canonical_unit("ký") == "kg"
    assert canonical_unit("Lít") == "lít"
    assert canonical_unit("") is None
    assert canonical_unit("thùng") == "thùng"


def test_explicit_fields_win_over_hints():
    need = Need(text="x", quantity=20, unit="tấn", min_stars=3, location=Point(21.0, 105.8), place="Ba Đình")
    hints = interpret("500 kg miến 5 sao giao tới Cầu Giấy")
    filled = need.with_hints(hints)
    assert (filled.quantity, filled.unit, filled.min_stars, filled.place) == (20, "tấn", 3, "Ba Đình")
    empty = Need(text="x").with_hints(hints)
    assert (empty.quantity, empty.unit, empty.min_stars, empty.place) == (500, "kg", 5, "Cầu Giấy")


def test_a_price_is_never_read_as_the_quantity():
    hints = interpret("Cần 200 hộp trà sen làm quà tặng khách hàng, giá dưới 300.000đ/hộp, 4 sao trở lên")
    assert (hints.quantity, hints.unit, hints.min_stars) == (200, "hộp", 4)
    assert hints.max_price_vnd == 300_000
    assert hints.content == "trà sen quà tặng"  # not "khách", "trở lên"
    assert interpret("mật ong giá tối đa 150k").max_price_vnd == 150_000
    assert interpret("chè 50 nghìn một gói").quantity is None  # a price without a cap cue: neither
    assert interpret("chè 50 nghìn một gói").max_price_vnd is None
    assert interpret("gạo 25.000 ₫/kg, 2 tấn").quantity == 2


def test_the_first_quantity_wins():
    hints = interpret("300 hộp chè, mỗi hộp 2 gói")
    assert (hints.quantity, hints.unit) == (300, "hộp")


def test_units_that_fold_alike_keep_their_diacritics():
    """'bộ' (a set) and 'bó' (a bunch) are both 'bo' without diacritics."""
    assert (interpret("300 bộ ấm chén").unit, interpret("20 bó hoa sen").unit) == ("bộ", "bó")
    assert interpret("300 bo am chen").unit == "bộ"
    assert canonical_unit("bó") == "bó" and canonical_unit("Bộ") == "bộ"
    assert interpret("20 bó hoa sen").content == "hoa sen"  # hoa = flower, not hoá (goods)


def test_a_hotels_class_is_not_an_ocop_star_level():
    hints = interpret("gốm Bát Tràng cho khách sạn 5 sao, 300 bộ ấm chén")
    assert hints.min_stars == 0
    assert hints.content == "gốm bát tràng ấm chén"
    assert interpret("resort 4 sao cần mật ong 5 sao").min_stars == 5


def test_a_price_hint_fills_an_empty_price_field_only():
    hints = interpret("miến dong giá dưới 80.000đ/kg")
    assert Need(text="x").with_hints(hints).max_price_vnd == 80_000
    assert Need(text="x", max_price_vnd=50_000).with_hints(hints).max_price_vnd == 50_000
