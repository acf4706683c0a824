"""Vietnamese text helpers: NFC normalisation, tone-mark placement, diacritic folding."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SPACES = re.compile(r"\s+")
# C0 controls but tab, newline and carriage return, and DEL: never text (PostgreSQL refuses NUL).
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
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


def strip_controls(text: str) -> str:
    """Drop control characters (NUL, BEL, ESC, DEL...), keeping tab and line breaks."""
    return _CONTROLS.sub("", text)


def nfc(text: str | None) -> str:
    """NFC-normalise, drop control characters and trim; None becomes ''."""
    if text is None:
        return ""
    return unicodedata.normalize("NFC", strip_controls(str(text))).strip()


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


# --- Tokens for search and matching (one place for the analysis of Vietnamese text) -------------

# A syllable is a run of letters or digits; '_' is a separator so that it can join bigrams.
_WORD = re.compile(r"[^\W_]+")
# Look-alikes typed by some keyboards: Icelandic eth for đ.
_LOOKALIKES = str.maketrans({"ð": "đ", "Ð": "Đ"})


def syllables(text: str | None) -> list[str]:
    """Exact search tokens: NFC, lower-case, one tone placement, split on anything not a letter
    or digit. 'Làn MÂY-đan' -> ['làn', 'mây', 'đan']. Never raises; no stop words."""
    if not text:
        return []
    return _WORD.findall(exact_key(str(text).translate(_LOOKALIKES)))


@lru_cache(maxsize=200_000)
def fold_token(token: str) -> str:
    """Folded form of one exact token (no diacritics, đ→d): 'mây' -> 'may'. Cached: a
    catalogue has a few thousand distinct syllables."""
    return fold(token)


def has_diacritics(text: str | None) -> bool:
    """True when the text carries Vietnamese marks (incl. đ): the user typed them on purpose."""
    lowered = nfc(text).lower()
    return fold(lowered) != _SPACES.sub(" ", lowered).strip()
