"""VietQR: the EMVCo merchant-presented QR payload for a NAPAS 24/7 bank transfer (pure, no Flask).

A payload is a string of TLV fields: a 2-digit tag, a 2-digit length (characters) and the value.

    00 payload format indicator  "01"
    01 point of initiation       "12" dynamic (an amount is given), "11" static
    38 merchant account (NAPAS)  00 GUID "A000000727"
                                 01 beneficiary: 00 bank BIN, 01 account number
                                 02 service code "QRIBFTTA" (transfer to an account)
    53 currency                  "704" (VND)
    54 amount                    integer VND, digits only, at most 13 characters (dynamic only)
    58 country                   "VN"
    62 additional data           08 purpose of transaction: the transfer content (order reference)
    63 CRC                       CRC-16/CCITT-FALSE over everything before it including "6304",
                                 4 upper-case hex digits

`build_payload` refuses bad input with `VietQRError` (a ValueError naming the field);
`parse_payload` reads any EMVCo payload back into nested dicts and raises ValueError on any
malformation, including a wrong CRC. `render_svg` / `render_png` draw the code with segno; the
caption (bank, account, holder, amount) belongs in the HTML around the image, never in it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import segno

from marketplace.core.vn_text import clean_line, fold

BANKS_CSV = Path(__file__).resolve().parent / "data" / "vn_banks.csv"

NAPAS_GUID = "A000000727"
SERVICE_ACCOUNT_TRANSFER = "QRIBFTTA"
CURRENCY_VND = "704"
COUNTRY_VN = "VN"
PAYLOAD_FORMAT = "01"
STATIC = "11"
DYNAMIC = "12"
AMOUNT_MAX_LENGTH = 13
REFERENCE_MAX_LENGTH = 25  # EMVCo: each sub-field of the additional data template is at most 25
ACCOUNT_MIN_LENGTH = 6
ACCOUNT_MAX_LENGTH = 19

_ACCOUNT = re.compile(r"[0-9]+")
_BIN = re.compile(r"[0-9]{6}")
_DIGITS2 = re.compile(r"[0-9]{2}")
_CRC_HEX = re.compile(r"[0-9A-F]{4}")
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
# Tags whose value is itself a list of TLV fields (EMVCo QRCPS-MPM 4.x).
_TEMPLATE_TAGS = frozenset({*(f"{n:02d}" for n in range(26, 52)), "62", "64", *(f"{n:02d}" for n in range(80, 100))})


class VietQRError(ValueError):
    """Bad input for a payload; `field` is one of bin, account, amount, reference."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Bank:
    bin: str
    short_name: str
    name: str


@cache
def banks() -> tuple[Bank, ...]:
    """The banks of vn_banks.csv, in the file's order (the largest first)."""
    with open(BANKS_CSV, encoding="utf-8", newline="") as f:
        return tuple(
            Bank(bin=row["bin"].strip(), short_name=row["short_name"].strip(), name=row["name"].strip())
            for row in csv.DictReader(f)
        )


@cache
def _banks_by_bin() -> dict[str, Bank]:
    return {bank.bin: bank for bank in banks()}


def bank_by_bin(bin_code: str | None) -> Bank | None:
    return _banks_by_bin().get((bin_code or "").strip())


# --------------------------------------------------------------------------- CRC and TLV


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, xorout 0 (check 0x29B1)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def _crc_hex(text: str) -> str:
    return f"{crc16_ccitt_false(text.encode('utf-8')):04X}"


def _tlv(tag: str, value: str) -> str:
    if not _DIGITS2.fullmatch(tag):
        raise ValueError(f"tag {tag!r} is not two digits")
    if not 0 < len(value) <= 99:
        raise ValueError(f"tag {tag}: value length {len(value)} outside 1..99")
    return f"{tag}{len(value):02d}{value}"


# --------------------------------------------------------------------------- input checks


def ascii_reference(text: str | None) -> str:
    """The transfer content as it goes into the code: NFC, single spaces, Vietnamese diacritics
    folded (đ→d), case kept: 'Đơn hàng 12' -> 'Don hang 12'. Other characters stay as they are
    (and `check_reference` refuses what is not printable ASCII)."""
    out = []
    for ch in clean_line(text):
        if ch.isascii():
            out.append(ch)
        else:
            folded = fold(ch)
            out.append((folded.upper() if ch.isupper() else folded) or ch)
    return "".join(out)


def check_bin(bin_code: str) -> str:
    if not isinstance(bin_code, str) or not _BIN.fullmatch(bin_code) or bank_by_bin(bin_code) is None:
        raise VietQRError("bin", f"unknown bank BIN {bin_code!r}")
    return bin_code


def check_account(account: str) -> str:
    if not isinstance(account, str) or not _ACCOUNT.fullmatch(account):
        raise VietQRError("account", "the account number must be ASCII digits only")
    if not ACCOUNT_MIN_LENGTH <= len(account) <= ACCOUNT_MAX_LENGTH:
        raise VietQRError(
            "account", f"the account number must have {ACCOUNT_MIN_LENGTH} to {ACCOUNT_MAX_LENGTH} digits"
        )
    return account


def check_amount(amount_vnd: int | None) -> str | None:
    """None (a static code) or the amount's digits; refuses ≤ 0, non-integers and > 13 digits."""
    if amount_vnd is None:
        return None
    if isinstance(amount_vnd, bool) or not isinstance(amount_vnd, int):
        raise VietQRError("amount", "the amount must be an integer number of VND")
    if amount_vnd <= 0:
        raise VietQRError("amount", "the amount must be greater than 0")
    digits = str(amount_vnd)
    if len(digits) > AMOUNT_MAX_LENGTH:
        raise VietQRError("amount", f"the amount has more than {AMOUNT_MAX_LENGTH} digits")
    return digits


def check_reference(reference: str | None) -> str:
    """The folded reference ('' for none); refuses non-ASCII and more than 25 characters."""
    if reference is not None and not isinstance(reference, str):
        raise VietQRError("reference", "the reference must be text")
    folded = ascii_reference(reference)
    if not _PRINTABLE_ASCII.fullmatch(folded):
        raise VietQRError("reference", "the reference must be printable ASCII after folding Vietnamese marks")
    if len(folded) > REFERENCE_MAX_LENGTH:
        raise VietQRError("reference", f"the reference is longer than {REFERENCE_MAX_LENGTH} characters")
    return folded


# --------------------------------------------------------------------------- build and parse


def build_payload(bin: str, account: str, amount_vnd: int | None = None, reference: str | None = "") -> str:
    """The VietQR payload for a transfer to `account` at the bank `bin`.

    With an amount the code is dynamic ("12") and carries tag 54; without, static ("11"), and the
    payer types the amount. `reference` is folded to ASCII (see `ascii_reference`) and goes into
    tag 62/08 when not empty. Raises VietQRError on bad input."""
    bin_code = check_bin(bin)
    account_number = check_account(account)
    amount = check_amount(amount_vnd)
    purpose = check_reference(reference)
    beneficiary = _tlv("00", bin_code) + _tlv("01", account_number)
    merchant = _tlv("00", NAPAS_GUID) + _tlv("01", beneficiary) + _tlv("02", SERVICE_ACCOUNT_TRANSFER)
    parts = [
        _tlv("00", PAYLOAD_FORMAT),
        _tlv("01", DYNAMIC if amount is not None else STATIC),
        _tlv("38", merchant),
        _tlv("53", CURRENCY_VND),
    ]
    if amount is not None:
        parts.append(_tlv("54", amount))
    parts.append(_tlv("58", COUNTRY_VN))
    if purpose:
        parts.append(_tlv("62", _tlv("08", purpose)))
    body = "".join(parts) + "6304"
    return body + _crc_hex(body)


def _parse_fields(text: str, where: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        if pos + 4 > len(text):
            raise ValueError(f"{where}: truncated field header at position {pos}")
        tag, length_text = text[pos : pos + 2], text[pos + 2 : pos + 4]
        if not _DIGITS2.fullmatch(tag) or not _DIGITS2.fullmatch(length_text):
            raise ValueError(f"{where}: bad tag or length {text[pos : pos + 4]!r} at position {pos}")
        length = int(length_text)
        if length == 0:
            raise ValueError(f"{where}: tag {tag} has an empty value")
        value = text[pos + 4 : pos + 4 + length]
        if len(value) != length:
            raise ValueError(f"{where}: tag {tag} is truncated")
        if tag in fields:
            raise ValueError(f"{where}: tag {tag} appears twice")
        fields[tag] = value
        pos += 4 + length
    return fields


def _nest(fields: dict[str, str], where: str) -> dict[str, object]:
    nested: dict[str, object] = {}
    for tag, value in fields.items():
        if tag in _TEMPLATE_TAGS:
            inner: dict[str, object] = dict(_parse_fields(value, f"{where}{tag}"))
            if inner.get("00") == NAPAS_GUID and isinstance(inner.get("01"), str):
                inner["01"] = dict(_parse_fields(str(inner["01"]), f"{where}{tag}.01"))
            nested[tag] = inner
        else:
            nested[tag] = value
    return nested


def parse_payload(text: str) -> dict[str, object]:
    """The payload's fields by tag; templates (26-51, 62, 64, 80-99, and the NAPAS beneficiary
    38/01) as nested dicts. Raises ValueError when the text is not a well-formed EMVCo payload:
    bad or duplicate tags, wrong lengths, tag 00 not first, tag 63 not last or a wrong CRC."""
    if not isinstance(text, str) or not text:
        raise ValueError("empty payload")
    if not _PRINTABLE_ASCII.fullmatch(text):
        raise ValueError("the payload must be printable ASCII")
    fields = _parse_fields(text, "")
    tags = list(fields)
    if tags[0] != "00" or fields["00"] != PAYLOAD_FORMAT:
        raise ValueError('the payload must start with tag 00 = "01"')
    if tags[-1] != "63" or len(fields["63"]) != 4 or not text.endswith("6304" + fields["63"]):
        raise ValueError("the payload must end with a 4-character CRC in tag 63")
    crc = fields["63"]
    if not _CRC_HEX.fullmatch(crc):
        raise ValueError("the CRC must be 4 upper-case hexadecimal digits")
    expected = _crc_hex(text[:-4])
    if crc != expected:
        raise ValueError(f"CRC mismatch: payload says {crc}, computed {expected}")
    return _nest(fields, "")


# --------------------------------------------------------------------------- images

QR_BORDER = 4  # the quiet zone the QR standard asks for
PNG_SCALE = 8


def _qr(payload: str) -> segno.QRCode:
    # Error level M (15 %): the payload is under 150 characters, so the code stays small enough for
    # a phone to read from a screen or a printed card.
    return segno.make(payload, error="m", micro=False)


def render_svg(payload: str) -> bytes:
    """An SVG of the code on white with a viewBox only (no width/height): the page sizes it."""
    buffer = io.BytesIO()
    _qr(payload).save(
        buffer, kind="svg", scale=10, border=QR_BORDER, xmldecl=False, omitsize=True, dark="#000", light="#fff"
    )
    return buffer.getvalue()


def render_png(payload: str, scale: int = PNG_SCALE) -> bytes:
    buffer = io.BytesIO()
    _qr(payload).save(buffer, kind="png", scale=scale, border=QR_BORDER)
    return buffer.getvalue()
