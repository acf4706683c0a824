"""Money is integer VND everywhere; this formats it the Vietnamese way."""

from __future__ import annotations

import re

# Whole numbers with an optional thousands separator, the same one throughout and every group
# after the first of exactly three digits: "1.250.000", "1,250,000", "1 250 000". Anything else
# ("2,5", "1.5", "150.000,50") is refused rather than read as a different number: a Vietnamese
# "2,5" is two and a half, and dropping the comma would make it 25.
_GROUPED = re.compile(r"[0-9]{1,3}(?:([., \u00a0])[0-9]{3})(?:\1[0-9]{3})*")


def format_vnd(amount: int | None, symbol: bool = True) -> str:
    """1250000 -> '1.250.000 ₫'; None -> ''."""
    if amount is None:
        return ""
    sign = "-" if amount < 0 else ""
    digits = f"{abs(int(amount)):,}".replace(",", ".")
    return f"{sign}{digits} ₫" if symbol else f"{sign}{digits}"


def format_price_range(low: int | None, high: int | None) -> str:
    if low is None and high is None:
        return ""
    if low is None or high is None or low == high:
        return format_vnd(low if low is not None else high)
    return f"{format_vnd(low, symbol=False)} – {format_vnd(high)}"


def parse_vnd(text: str | None) -> int | None:
    """A whole number as people type it: '1.250.000', '1,250,000 ₫', '1250000' -> 1250000;
    '' -> None; ValueError for anything else, decimals included ('2,5', '1.5')."""
    if text is None:
        return None
    cleaned = str(text).strip().replace("₫", "").replace("đ", "").replace("VND", "").strip()
    if not cleaned:
        return None
    if cleaned.isascii() and cleaned.isdigit():
        return int(cleaned)
    if not _GROUPED.fullmatch(cleaned):
        raise ValueError(text)
    return int(re.sub(r"[^0-9]", "", cleaned))
