"""Money is integer VND everywhere; this formats it the Vietnamese way."""

from __future__ import annotations


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
    """'1.250.000', '1,250,000 ₫', '1250000' -> 1250000; '' -> None; ValueError otherwise."""
    if text is None:
        return None
    cleaned = str(text).strip().replace("₫", "").replace("đ", "").replace("VND", "").strip()
    if not cleaned:
        return None
    cleaned = cleaned.replace(".", "").replace(",", "").replace(" ", "")
    if not cleaned.isdigit():
        raise ValueError(text)
    return int(cleaned)
