"""Opening hours: parsing, canonical spelling, "open now" in Hà Nội time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from marketplace.core.dates import HANOI
from marketplace.sales_points import hours


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("08:00-21:00", "08:00-21:00"),
        ("8h-21h30", "08:00-21:30"),
        ("7:30 – 11:30; 13.30-17:00", "07:30-11:30, 13:30-17:00"),
        ("00:00-24:00", "00:00-24:00"),
        ("24/7", "00:00-24:00"),
        ("18:00-02:00", "18:00-02:00"),
        ("", ""),
        ("T2-T6 08:00-17:00", None),
        ("25:00-26:00", None),
        ("08:00-08:00", None),
        ("08:61-09:00", None),
        ("sáng", None),
    ],
)
def test_normalise(text, expected):
    assert hours.normalise(text) == expected


def hanoi(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 1, hour, minute, tzinfo=HANOI)


def test_open_now_uses_hanoi_time():
    assert hours.is_open("08:00-21:00", hanoi(8, 0)) is True
    assert hours.is_open("08:00-21:00", hanoi(20, 59)) is True
    assert hours.is_open("08:00-21:00", hanoi(21, 0)) is False
    assert hours.is_open("08:00-21:00", hanoi(7, 59)) is False
    # 02:00 UTC is 09:00 in Hà Nội
    assert hours.is_open("08:00-21:00", datetime(2026, 12, 1, 2, 0, tzinfo=UTC)) is True
    assert hours.is_open("08:00-21:00", datetime(2026, 12, 1, 14, 30, tzinfo=UTC)) is False


def test_open_now_split_overnight_and_unknown():
    assert hours.is_open("07:00-11:30, 13:30-17:00", hanoi(12, 0)) is False
    assert hours.is_open("07:00-11:30, 13:30-17:00", hanoi(14, 0)) is True
    assert hours.is_open("18:00-02:00", hanoi(1, 0)) is True
    assert hours.is_open("18:00-02:00", hanoi(3, 0)) is False
    assert hours.is_open("00:00-24:00", hanoi(3, 0)) is True
    assert hours.is_open("", hanoi(12)) is None
    assert hours.is_open("Thứ Hai đến thứ Sáu", hanoi(12)) is None
