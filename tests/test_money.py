"""Whole numbers and VND amounts as people type them (core/money.parse_vnd)."""

from __future__ import annotations

import pytest

from marketplace.core.money import format_vnd, parse_vnd


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("1250000", 1_250_000),
        ("1.250.000", 1_250_000),
        ("1,250,000", 1_250_000),
        ("1 250 000", 1_250_000),
        ("1.250.000 ₫", 1_250_000),
        ("150.000đ", 150_000),
        ("2000 VND", 2000),
        ("500", 500),
        ("0", 0),
        ("", None),
        ("  ", None),
        (None, None),
    ],
)
def test_whole_numbers_with_thousands_separators(typed, value):
    assert parse_vnd(typed) == value


@pytest.mark.parametrize(
    "typed",
    [
        "2,5",
        "0,5",
        "1.5",
        "12.50",
        "150.000,50",
        "1.250,000",
        "1..000",
        "1.2.3",
        "1 25",
        "abc",
        "١٢٣",
        "١.٢٣٤",
        "-5",
        "5e3",
    ],
)
def test_decimals_and_other_shapes_are_refused_not_misread(typed):
    """A Vietnamese '2,5' is two and a half: refusing it beats storing 25."""
    with pytest.raises(ValueError):
        parse_vnd(typed)


def test_format_and_parse_round_trip():
    for amount in (0, 7, 999, 1000, 1_250_000, 123_456_789_012):
        assert parse_vnd(format_vnd(amount)) == amount
