"""Vietnamese text helpers: NFC normalisation, tone-mark placement, diacritic folding."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
# Old-style tone placement ("hoà", "thuỷ") -> new style ("hòa", "thủy") is a matter of taste;
# we normalise both to one spelling so that search and matching treat them as equal.
_TONE_PLACEMENT = {
    "òa": "oà",
    "óa": "oá",
    "ỏa": "oả",
    "õa": "oã",
    "ọa": "oạ",
    "òe": "oè",
    "óe": "oé",
    "ỏe": "oẻ",
    "õe": "oẽ",
    "ọe": "oẹ",
    "ùy": "uỳ",
    "úy": "uý",
    "ủy": "uỷ",
    "ũy": "uỹ",
    "ụy": "uỵ",
}
_TONE_RE = re.compile("|".join(_TONE_PLACEMENT))


def nfc(text: str | None) -> str:
    """NFC-normalise and trim; None becomes ''."""
    if text is None:
        return ""
    return unicodedata.normalize("NFC", str(text)).strip()


def clean_line(text: str | None) -> str:
    """NFC, with runs of whitespace collapsed to one space: for names and one-line fields."""
    return _SPACES.sub(" ", nfc(text))


def normalise_tones(text: str) -> str:
    """Place tone marks one way (oà, uý) so that 'hoà' and 'hòa' compare equal; lower-case input."""
    return _TONE_RE.sub(lambda m: _TONE_PLACEMENT[m.group(0)], text)


def fold(text: str | None) -> str:
    """Lower-case and strip every diacritic, đ→d: 'Đông Anh' -> 'dong anh'."""
    text = nfc(text).lower().replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return _SPACES.sub(" ", unicodedata.normalize("NFC", stripped)).strip()


def exact_key(text: str | None) -> str:
    """Lower-case NFC with a single tone placement: keeps diacritics, for 'exact' matches."""
    return _SPACES.sub(" ", normalise_tones(nfc(text).lower())).strip()


def slugify(text: str | None, max_length: int = 80) -> str:
    """ASCII slug for URLs: 'Làn mây đan tay' -> 'lan-may-dan-tay'."""
    slug = re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")
    return slug[:max_length].strip("-") or "item"
