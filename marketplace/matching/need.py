"""A buyer's need, and what can be read from its free text (pure: no Flask, no database).

Needs are written in natural language ("cần mua 500 kg miến dong loại ngon, OCOP 4 sao, giao tới
Cầu Giấy"). `interpret()` separates the words that describe the product (the *content* words the
catalogue is searched with) from the words about the purchase itself: intent and filler words,
quantities with their unit, star levels, certifications asked for and the delivery place. Fields
the buyer gave explicitly always win over what the text suggests (see `Need.with_hints`).
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

from marketplace.core.vn_text import fold, nfc, syllables
from marketplace.data import CERTIFICATIONS, UNITS, District, districts

MAX_TEXT = 500
MAX_LIMIT = 50
DEFAULT_LIMIT = 10

# Words about the purchase, not the product. Compared exactly (with diacritics) and, when the
# buyer typed without diacritics, folded - except the folded forms that are also product words
# ("lam" is làm = to make, but also lam = blue glaze / chè lam; "mua" could be múa).
STOP_WORDS: frozenset[str] = frozenset(
    """cần mua muốn tìm kiếm đặt nhập lấy cung cấp nhà phân phối đại lý sản phẩm hàng hoá hóa loại
    chất lượng ngon tốt đẹp rẻ giá cả số lượng khoảng tầm chừng tối thiểu ít nhất trên dưới và hoặc
    với cho của các những một mỗi có là được làm để theo như này đó nào thì mà khi nên rất cũng đang
    sẽ đã từ hay bên tháng tuần đơn vị lô ocop hạng chứng nhận đạt yêu cầu giao tới đến về tại ở đa
    please need buy want looking for supplier suppliers of the and with per month""".split()
)
_AMBIGUOUS_FOLDED = frozenset(
    {"lam", "mua", "hang", "gia", "sao", "nha", "tam", "lo", "dat", "co", "the", "ca", "toi", "den", "ve", "tai", "o"}
    | {"hoa", "da"}  # hoa = flower (hoá = goods), da = leather (đa = most)
)
STOP_FOLDED: frozenset[str] = frozenset(fold(w) for w in STOP_WORDS) - _AMBIGUOUS_FOLDED
# Words that announce the delivery place: "giao tới Cầu Giấy", "tại Hoàn Kiếm".
PLACE_CUES: frozenset[str] = frozenset(
    fold(w) for w in ("giao", "tới", "đến", "về", "tại", "ở", "khu", "vực", "quận", "huyện", "xã", "phường", "thị")
)

# Unit spellings (folded) -> the canonical unit of marketplace.data.UNITS. Two units fold alike
# ("bộ" a set, "bó" a bunch): typed with diacritics, each is itself (see _unit_of); typed without,
# "bo" means the first in UNITS ("bộ", the one trade needs ask for).
_UNIT_EXACT: dict[str, str] = {u.lower(): u for u in UNITS}
UNIT_ALIASES: dict[str, str] = {fold(u): u for u in reversed(UNITS)} | {
    "kilogram": "kg",
    "kilo": "kg",
    "ky": "kg",
    "can": "kg",
    "tan": "tấn",
    "ton": "tấn",
    "lit": "lít",
    "l": "lít",
    "litre": "lít",
    "liter": "lít",
    "gram": "g",
    "gam": "g",
}
_NUMBER = re.compile(r"^(\d+(?:[.,]\d+)?)([^\d.,]*)$")
_STAR_WORDS = {"sao", "★", "*"}
# A number glued to or followed by one of these is money, never a quantity (folded; "k" = nghìn).
_CURRENCY = {"d": 1, "dong": 1, "vnd": 1, "vnđ": 1, "k": 1000, "nghin": 1000, "ngan": 1000, "trieu": 1_000_000}
# Words just before a price that make it the most the buyer will pay per unit.
_PRICE_CAP_CUES = frozenset({"gia", "duoi", "khong", "qua", "toi", "da", "max", "tu"})
# Two-word phrases about the buyer or the purchase, not the product: "khách sạn 5 sao" is the
# hotel's class, never an OCOP star level; "4 sao trở lên" = "4 stars or more".
_PURCHASE_PHRASES = frozenset({("khach", "san"), ("khach", "hang"), ("nha", "hang"), ("tro", "len")})
_VENUE_PHRASES = frozenset({("khach", "san"), ("nha", "hang"), ("resort",)})


@dataclass(frozen=True)
class Point:
    """A place on the map, in degrees."""

    lat: float
    lng: float


@dataclass(frozen=True)
class Need:
    """What a buyer asks for. `text` is required; every other field is optional.

    - quantity/unit: how much (per order or per month, as the buyer says) in `unit`;
    - min_stars: the least OCOP stars of a valid, verified certificate (0 = any);
    - location/place: where delivery goes (scores by distance, never filters); `place` names it;
    - max_price_vnd: the highest acceptable lowest price per unit, integer VND;
    - certifications: codes of marketplace.data.CERTIFICATIONS the buyer asks for.
    """

    text: str
    ocop_group: str | None = None
    quantity: float | None = None
    unit: str | None = None
    min_stars: int = 0
    location: Point | None = None
    place: str | None = None
    max_price_vnd: int | None = None
    certifications: tuple[str, ...] = ()
    limit: int = DEFAULT_LIMIT

    def with_hints(self, hints: Hints) -> Need:
        """Fill the fields the buyer left empty with what the text says."""
        changes: dict[str, object] = {}
        if self.quantity is None and hints.quantity is not None:
            changes["quantity"] = hints.quantity
            if self.unit is None:
                changes["unit"] = hints.unit
        if not self.min_stars and hints.min_stars:
            changes["min_stars"] = hints.min_stars
        if self.max_price_vnd is None and hints.max_price_vnd:
            changes["max_price_vnd"] = hints.max_price_vnd
        if self.location is None and hints.district is not None:
            changes["location"] = Point(hints.district.lat, hints.district.lng)
            changes["place"] = hints.district.name
        if hints.certifications:
            changes["certifications"] = tuple(dict.fromkeys(self.certifications + hints.certifications))
        return dataclasses.replace(self, **changes) if changes else self


@dataclass(frozen=True)
class Hints:
    """What interpret() read from the need's text."""

    content: str  # the words describing the product, for the catalogue search
    quantity: float | None = None
    unit: str | None = None
    min_stars: int = 0
    district: District | None = None
    certifications: tuple[str, ...] = ()
    dropped: tuple[str, ...] = field(default_factory=tuple)  # words left out of the search
    max_price_vnd: int | None = None  # "giá dưới 300.000đ/hộp"


@lru_cache(maxsize=512)
def canonical_unit(unit: str | None) -> str | None:
    """'KG', 'ký', 'kilogram' -> 'kg'; unknown units stay as typed (lower-case); '' -> None."""
    text = nfc(unit).lower()
    if not text:
        return None
    return _unit_of(text) or text


def _unit_of(word: str) -> str | None:
    """The canonical unit a (lower-case) word names, exact spelling first, or None."""
    return _UNIT_EXACT.get(word) or UNIT_ALIASES.get(fold(word))


def parse_number(token: str) -> tuple[float, str] | None:
    """'500' -> (500, ''); '500kg' -> (500, 'kg'); '1.5' -> (1.5, ''); '20.000' -> (20000, '')."""
    found = _NUMBER.match(token)
    if not found:
        return None
    digits, rest = found.groups()
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", digits):  # thousands separators: 20.000 / 20,000
        value = float(re.sub(r"[.,]", "", digits))
    else:
        value = float(digits.replace(",", "."))
    return (value, rest) if math.isfinite(value) else None


def _raw_tokens(text: str) -> list[str]:
    """Like vn_text.syllables, but keeps decimal numbers and the star sign together."""
    text = nfc(text)[:MAX_TEXT].replace("★", " ★ ").replace("/", " ").replace("₫", "đ")
    out: list[str] = []
    for chunk in text.split():
        if re.fullmatch(r"\d+(?:[.,]\d+)*[^\W\d_]*", chunk.strip(".,;:!?()")):
            out.append(chunk.strip(".,;:!?()").lower())
        elif chunk == "★":
            out.append("★")
        else:
            out.extend(syllables(chunk))
    return out


@lru_cache(maxsize=1)
def _folded_districts() -> tuple[tuple[District, list[str]], ...]:
    """Districts with their folded names, longest name first."""
    return tuple((d, fold(d.name).split()) for d in sorted(districts(), key=lambda d: -len(d.name)))


def _find_district(folded: list[str], start: int) -> tuple[District, int] | None:
    """The district whose folded name starts at folded[start] (longest name first)."""
    for district, name in _folded_districts():
        if folded[start : start + len(name)] == name:
            return district, len(name)
    return None


@lru_cache(maxsize=4096)
def interpret(text: str) -> Hints:
    """Split a need's text into content words and purchase facts. Never raises. Pure, so
    memoised: the leads pages read the same open RFQs again and again."""
    tokens = _raw_tokens(text)
    folded = [fold(t) for t in tokens]
    keep = [True] * len(tokens)
    quantity: float | None = None
    unit: str | None = None
    stars = 0
    place: District | None = None
    max_price: int | None = None

    for k in range(len(tokens) - 1):
        if (folded[k], folded[k + 1]) in _PURCHASE_PHRASES:
            keep[k] = keep[k + 1] = False

    i = 0
    while i < len(tokens):
        number = parse_number(tokens[i])
        if number is not None:
            value, suffix = number
            keep[i] = False
            nxt = folded[i + 1] if i + 1 < len(tokens) else ""
            glued_currency = _CURRENCY.get(fold(suffix)) if suffix else None
            currency = glued_currency or _CURRENCY.get(nxt)
            if currency:  # "300.000đ/hộp", "50 nghìn": a price (and its "per unit"), not a quantity
                after = i + 1 if glued_currency else i + 2
                if not glued_currency:
                    keep[i + 1] = False
                if after < len(tokens) and _unit_of(tokens[after]):
                    keep[after] = False
                if max_price is None and any(c in _PRICE_CAP_CUES for c in folded[max(0, i - 3) : i]):
                    max_price = int(value * currency) if value * currency < 10**15 else None
                i = after
                continue
            if suffix and _unit_of(suffix):
                if quantity is None:
                    quantity, unit = value, _unit_of(suffix)
            elif nxt in _STAR_WORDS and 1 <= value <= 5 and value == int(value):
                keep[i + 1] = False
                if not _after_venue(folded, i):
                    stars = int(value)
            elif i + 1 < len(tokens) and _unit_of(tokens[i + 1]):
                keep[i + 1] = False
                if quantity is None:
                    quantity, unit = value, _unit_of(tokens[i + 1])
            i += 1
            continue
        found = _find_district(folded, i)
        if found is not None:
            district, length = found
            if place is None:
                place = district
            cued = i > 0 and folded[i - 1] in PLACE_CUES
            if cued:  # "giao tới Cầu Giấy": the place (and its cue words), not the product ("giấy")
                for j in range(i, i + length):
                    keep[j] = False
                j = i - 1
                while j >= 0 and folded[j] in PLACE_CUES:
                    keep[j] = False
                    j -= 1
            i += length
            continue
        i += 1

    found_certs: dict[str, int] = {}  # code -> first position in the text
    for code, (label, aliases) in CERTIFICATIONS.items():
        for name in (fold(label), *aliases):
            words = name.split()
            for start in range(len(folded) - len(words) + 1):
                if folded[start : start + len(words)] == words:
                    found_certs[code] = min(found_certs.get(code, start), start)
    certs = sorted(found_certs, key=lambda code: found_certs[code])
    for k, (token, low) in enumerate(zip(tokens, folded, strict=True)):
        if token in STOP_WORDS or (token == low and low in STOP_FOLDED) or token in _STAR_WORDS:
            keep[k] = False
    content = [t for t, kept in zip(tokens, keep, strict=True) if kept]
    if not content:  # nothing but filler: search with what was typed, numbers aside
        content = [t for t in tokens if parse_number(t) is None and t not in _STAR_WORDS]
    dropped = tuple(t for t, kept in zip(tokens, keep, strict=True) if not kept)
    return Hints(" ".join(content), quantity, unit, stars, place, tuple(certs), dropped, max_price)


def _after_venue(folded: list[str], i: int) -> bool:
    """Whether the number at i follows a venue ("khách sạn 5 sao", "resort 4 sao"): its class."""
    return (tuple(folded[max(0, i - 2) : i]) in _VENUE_PHRASES) or (i >= 1 and (folded[i - 1],) in _VENUE_PHRASES)
