"""The VietQR payload: CRC, build, parse, round trips and every refused input (no app needed)."""

from __future__ import annotations

import binascii
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.banking import vietqr
from marketplace.banking.vietqr import (
    VietQRError,
    build_payload,
    crc16_ccitt_false,
    parse_payload,
    render_png,
    render_svg,
)

BINS = [bank.bin for bank in vietqr.banks()]


def with_crc(body: str) -> str:
    """`body` + '6304' + its CRC, computed by the standard library (an independent CRC-16/CCITT-FALSE)."""
    body += "6304"
    return body + f"{binascii.crc_hqx(body.encode(), 0xFFFF):04X}"


# --------------------------------------------------------------------------- CRC


def test_crc_check_value():
    assert crc16_ccitt_false(b"123456789") == 0x29B1


@pytest.mark.parametrize("data", [b"", b"A", b"0002010102", "Đơn hàng".encode(), bytes(range(256))])
def test_crc_matches_the_standard_library(data):
    assert crc16_ccitt_false(data) == binascii.crc_hqx(data, 0xFFFF)


def test_crc_of_empty_input_is_the_init_value():
    assert crc16_ccitt_false(b"") == 0xFFFF


# --------------------------------------------------------------------------- known answers


def test_dynamic_payload_known_answer_built_by_hand_from_the_spec():
    beneficiary = "00" + "06" + "970436" + "01" + "13" + "0011001234567"  # 27 characters
    merchant = "00" + "10" + "A000000727" + "01" + "27" + beneficiary + "02" + "08" + "QRIBFTTA"  # 57
    additional = "08" + "09" + "OCOP DH42"  # 13
    body = (
        "00" + "02" + "01"
        + "01" + "02" + "12"
        + "38" + "57" + merchant
        + "53" + "03" + "704"
        + "54" + "06" + "500000"
        + "58" + "02" + "VN"
        + "62" + "13" + additional
    )  # fmt: skip
    expected = with_crc(body)
    assert build_payload("970436", "0011001234567", 500000, "OCOP DH42") == expected


def test_static_payload_known_answer():
    expected = "00020101021138570010A00000072701270006970436011300110012345670208QRIBFTTA53037045802VN6304E8DB"
    assert build_payload("970436", "0011001234567") == expected
    assert build_payload("970436", "0011001234567", None, "") == expected


# Payloads made by other, independent VietQR generators, found in public code (CRCs as published,
# upper-cased where the source printed lower-case hex).
PUBLISHED_STATIC = [
    (
        ("970407", "9796868", None, "gen by sunary/vietqr"),
        "00020101021138510010A00000072701210006970407010797968680208QRIBFTTA53037045802VN62240820gen by sunary/vietqr6304BE74",
    ),
    (
        ("970422", "0812945269", None, ""),
        "00020101021138540010A00000072701240006970422011008129452690208QRIBFTTA53037045802VN6304D5F3",
    ),
    (
        ("970422", "9999999148", None, ""),
        "00020101021138540010A00000072701240006970422011099999991480208QRIBFTTA53037045802VN63047B49",
    ),
]
PUBLISHED_DYNAMIC = [
    # a payment gateway's order code (its virtual account numbers have letters, which we never issue)
    "00020101021238590010A000000727012900069704180115V3CAS62627239240208QRIBFTTA530370454063750005802VN62250821CSPZKHEL6A2 NTK O000463044729",
    "00020101021238570010A000000727012700069704220113VQRQACLNP26800208QRIBFTTA530370454061000005802VN62270823Thanh toan don hang ABC6304CE4C",
]


@pytest.mark.parametrize(("args", "expected"), PUBLISHED_STATIC)
def test_we_build_exactly_what_other_generators_published(args, expected):
    assert build_payload(*args) == expected


@pytest.mark.parametrize("payload", PUBLISHED_DYNAMIC)
def test_published_dynamic_codes_parse_and_their_crc_checks(payload):
    fields = parse_payload(payload)
    assert fields["01"] == "12" and fields["38"]["00"] == "A000000727" and fields["38"]["02"] == "QRIBFTTA"
    assert fields["54"] in ("375000", "100000")


def test_static_code_has_no_amount_and_initiation_11():
    fields = parse_payload(build_payload("970415", "123456"))
    assert fields["01"] == "11"
    assert "54" not in fields and "62" not in fields


def test_dynamic_code_has_initiation_12_and_all_tags_in_order():
    payload = build_payload("970418", "12345678901", 1_250_000, "DH 7")
    fields = parse_payload(payload)
    assert list(fields) == ["00", "01", "38", "53", "54", "58", "62", "63"]
    assert fields["01"] == "12"
    assert fields["38"] == {"00": "A000000727", "01": {"00": "970418", "01": "12345678901"}, "02": "QRIBFTTA"}
    assert fields["53"] == "704"
    assert fields["54"] == "1250000"
    assert fields["58"] == "VN"
    assert fields["62"] == {"08": "DH 7"}
    assert fields["63"] == f"{binascii.crc_hqx(payload[:-4].encode(), 0xFFFF):04X}"
    assert payload.endswith("6304" + fields["63"])


def test_vietnamese_reference_is_folded_keeping_case():
    fields = parse_payload(build_payload("970436", "0011001234567", 1000, "  Đơn   hàng Ưu đãi 9 "))
    assert fields["62"] == {"08": "Don hang Uu dai 9"}


def test_reference_of_exactly_25_characters_and_13_digit_amount_are_accepted():
    fields = parse_payload(build_payload("970436", "123456", 10**13 - 1, "x" * 25))
    assert fields["54"] == "9999999999999"
    assert fields["62"] == {"08": "x" * 25}


def test_account_lengths_at_the_limits_are_accepted():
    for account in ("123456", "1" * 19):
        assert parse_payload(build_payload("970436", account))["38"]["01"]["01"] == account


# --------------------------------------------------------------------------- refused input


@pytest.mark.parametrize("bin_code", ["970499", "97043", "9704366", "abcdef", "", " 970436", "٩٧٠٤٣٦", None, 970436])
def test_unknown_bin_is_refused(bin_code):
    with pytest.raises(VietQRError) as info:
        build_payload(bin_code, "0011001234567", 1000, "x")
    assert info.value.field == "bin"
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "account",
    [
        "0011-001234",
        "0011 001234",
        "12345a",
        "",
        "12345",
        "1" * 20,
        "１２３４５６７",
        "١٢٣٤٥٦٧",
        "123456\n",
        None,
        1234567,
    ],
)
def test_bad_account_is_refused(account):
    with pytest.raises(VietQRError) as info:
        build_payload("970436", account, 1000, "x")
    assert info.value.field == "account"


@pytest.mark.parametrize("amount", [0, -1, -500000, 10**13, 10**20, True, False, 1.5, 1000.0, "1000"])
def test_bad_amount_is_refused(amount):
    with pytest.raises(VietQRError) as info:
        build_payload("970436", "0011001234567", amount, "x")
    assert info.value.field == "amount"


@pytest.mark.parametrize("reference", ["x" * 26, "Đơn hàng số 12345678901234", "订单", "Thanh toán 🙂", 42])
def test_bad_reference_is_refused(reference):
    with pytest.raises(VietQRError) as info:
        build_payload("970436", "0011001234567", 1000, reference)
    assert info.value.field == "reference"


# --------------------------------------------------------------------------- parse refuses malformations


GOOD = build_payload("970436", "0011001234567", 500000, "OCOP DH42")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0",
        "000201",  # no CRC
        GOOD[:-1],  # truncated CRC
        GOOD + "0",  # trailing garbage
        GOOD[:-8] + "6305" + GOOD[-4:] + "0",  # CRC field of the wrong length
        "000201" + "Đ" + GOOD[6:],  # non-ASCII
        with_crc("000202010212"),  # payload format not "01"
        with_crc("010212000201"),  # tag 00 not first
        with_crc("000201010212" + "0102" + "11"),  # duplicate tag
        with_crc("000201" + "0100"),  # empty value
        with_crc("000201" + "01021"),  # length runs past the end
        with_crc("000201" + "0A0212"),  # non-digit tag
        with_crc("000201" + "01x212"),  # non-digit length
        with_crc("000201" + "3805" + "00099"),  # template whose content is not TLV
        with_crc("000201" + "6206" + "080112"),  # template with a trailing fragment
        "000201010212" + "6304" + "ZZZZ",  # CRC not hex
        "000201" + "6304ABCD" + "5802VN",  # CRC not last
    ],
)
def test_parse_refuses_malformed_payloads(text):
    with pytest.raises(ValueError):
        parse_payload(text)


def test_parse_refuses_lower_case_crc_when_it_has_letters():
    payload = build_payload("970436", "0011001234567")  # CRC E8DB
    with pytest.raises(ValueError):
        parse_payload(payload[:-4] + payload[-4:].lower())


def test_parse_refuses_a_wrong_crc():
    wrong = f"{(int(GOOD[-4:], 16) + 1) % 0x10000:04X}"
    with pytest.raises(ValueError, match="CRC"):
        parse_payload(GOOD[:-4] + wrong)


def test_parse_refuses_every_flipped_character():
    for index, original in enumerate(GOOD):
        replacement = "7" if original != "7" else "8"
        with pytest.raises(ValueError):
            parse_payload(GOOD[:index] + replacement + GOOD[index + 1 :])


def test_parse_refuses_non_text():
    with pytest.raises(ValueError):
        parse_payload(None)  # type: ignore[arg-type]


def test_parse_reads_other_emvco_payloads():
    """A payload with a merchant name (59) and a non-NAPAS template (26) parses too."""
    payload = with_crc("000201010211" + "2614" + "0004ABCD0102XY" + "5303704" + "5802VN" + "5904SHOP")
    fields = parse_payload(payload)
    assert fields["26"] == {"00": "ABCD", "01": "XY"}
    assert fields["59"] == "SHOP"


# --------------------------------------------------------------------------- property: round trips

_VIETNAMESE = "àáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵĐĂÂÊÔƠƯ"
_REFERENCE_ALPHABET = string.ascii_letters + string.digits + " -._/#:" + _VIETNAMESE


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    bin_code=st.sampled_from(BINS),
    account=st.from_regex(r"[0-9]{6,19}", fullmatch=True),
    amount=st.one_of(st.none(), st.integers(min_value=1, max_value=10**13 - 1)),
    reference=st.text(alphabet=_REFERENCE_ALPHABET, max_size=25),
)
def test_build_then_parse_round_trips(bin_code, account, amount, reference):
    payload = build_payload(bin_code, account, amount, reference)
    assert payload.isascii()
    fields = parse_payload(payload)
    assert fields["00"] == "01"
    assert fields["01"] == ("11" if amount is None else "12")
    assert fields["38"] == {"00": "A000000727", "01": {"00": bin_code, "01": account}, "02": "QRIBFTTA"}
    assert fields["53"] == "704" and fields["58"] == "VN"
    assert fields.get("54") == (None if amount is None else str(amount))
    expected_reference = vietqr.ascii_reference(reference)
    assert fields.get("62") == ({"08": expected_reference} if expected_reference else None)
    assert fields["63"] == f"{crc16_ccitt_false(payload[:-4].encode()):04X}"
    assert fields["63"] == f"{binascii.crc_hqx(payload[:-4].encode(), 0xFFFF):04X}"


@settings(max_examples=200, deadline=None, database=None)
@given(
    account=st.from_regex(r"[0-9]{6,19}", fullmatch=True),
    amount=st.integers(min_value=1, max_value=10**13 - 1),
    data=st.data(),
)
def test_any_single_character_change_is_detected(account, amount, data):
    payload = build_payload("970436", account, amount, "OCOP")
    index = data.draw(st.integers(min_value=0, max_value=len(payload) - 1))
    replacement = data.draw(
        st.sampled_from(string.digits + string.ascii_uppercase).filter(lambda c: c != payload[index])
    )
    with pytest.raises(ValueError):
        parse_payload(payload[:index] + replacement + payload[index + 1 :])


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=120))
def test_parse_never_fails_other_than_with_value_error(text):
    try:
        parse_payload(text)
    except ValueError:
        pass


# --------------------------------------------------------------------------- images


def test_svg_and_png_render():
    svg = render_svg(GOOD)
    assert svg.startswith(b"<svg") and b"viewBox" in svg and b"<script" not in svg
    assert b"width=" not in svg.split(b">", 1)[0]  # sized by the page
    png = render_png(GOOD)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_different_payloads_give_different_images():
    assert render_svg(GOOD) != render_svg(build_payload("970436", "0011001234567"))


def test_control_characters_in_a_reference_are_dropped():
    # Like every text input (core.vn_text.nfc): a control character never reaches the payload.
    payload = build_payload("970436", "0011001234567", 150_000, "OCOP\x07AB12")
    assert parse_payload(payload)["62"]["08"] == "OCOPAB12"
