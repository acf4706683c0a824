"""Opening hours like "08:00-21:00" or "07:00-11:30, 13:30-17:00", read in Hà Nội time.

Accepted: one or more ranges separated by ',' or ';'; times as 8:00, 08:00, 8h, 8h30, 08.30;
'-', '–' or '—' between them; "00:00-24:00" and "24/7" mean always open; a range ending before it
starts runs past midnight ("18:00-02:00"). Anything else (days of the week, free text) is unknown:
such a point is never reported open.
"""

from __future__ import annotations

import re
from datetime import datetime

from marketplace.core.dates import HANOI

DAY = 24 * 60
_TIME = r"(\d{1,2})(?:[:.hH](\d{2})?)?"
_RANGE = re.compile(rf"^\s*{_TIME}\s*[-–—]\s*{_TIME}\s*$")
_ALWAYS = {"24/7", "24h", "24/24", "cả ngày", "ca ngay"}

Ranges = tuple[tuple[int, int], ...]


def _minutes(hours: str, minutes: str | None) -> int | None:
    h, m = int(hours), int(minutes or 0)
    if m > 59 or h > 24 or (h == 24 and m):
        return None
    return h * 60 + m


def parse(text: str | None) -> Ranges | None:
    """The ranges in minutes since midnight ((480, 1260),), () for an empty text, None when the
    text is not understood."""
    value = (text or "").strip()
    if not value:
        return ()
    if value.lower() in _ALWAYS:
        return ((0, DAY),)
    ranges: list[tuple[int, int]] = []
    for part in re.split(r"[,;]", value):
        if not part.strip():
            continue
        found = _RANGE.match(part)
        if found is None:
            return None
        start = _minutes(found.group(1), found.group(2))
        end = _minutes(found.group(3), found.group(4))
        if start is None or end is None or start == DAY:
            return None
        if end == 0:
            end = DAY  # "18:00-00:00" runs to midnight; "00:00-00:00" is all day
        if start == end:
            return None
        ranges.append((start, end))
    return tuple(ranges) if ranges else None


def normalise(text: str | None) -> str | None:
    """The canonical spelling ("08:00-21:00, 13:30-17:00"), '' for empty, None when not understood."""
    ranges = parse(text)
    if ranges is None:
        return None
    return ", ".join(f"{_clock(start)}-{_clock(end)}" for start, end in ranges)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def is_open(text: str | None, now: datetime) -> bool | None:
    """Open at `now` (an aware datetime, read in Asia/Ho_Chi_Minh)? None when unknown."""
    ranges = parse(text)
    if not ranges:
        return None
    local = now.astimezone(HANOI)
    minute = local.hour * 60 + local.minute
    for start, end in ranges:
        if start < end:
            if start <= minute < end:
                return True
        elif minute >= start or minute < end:  # past midnight
            return True
    return False


def local_now() -> datetime:
    """The current time in Hà Nội (a seam for tests)."""
    return datetime.now(HANOI)
