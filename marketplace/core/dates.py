"""'Today' in Hà Nội, honouring MARKETPLACE_TODAY; certificate validity."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
CERTIFICATE_MONTHS = 36


def today() -> date:
    """The date in Asia/Ho_Chi_Minh, or MARKETPLACE_TODAY when configured (tests, demos)."""
    fixed = current_app.config.get("MARKETPLACE_TODAY") if has_app_context() else None
    if fixed:
        return date.fromisoformat(str(fixed))
    return datetime.now(HANOI).date()


def add_months(day: date, months: int) -> date:
    """Calendar months later; the 31st becomes the month's last day when needed."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=candidate)
        except ValueError:
            continue
    raise ValueError(day)


def certificate_expiry(issued_on: date) -> date:
    return add_months(issued_on, CERTIFICATE_MONTHS)


def to_local(moment: datetime | None) -> datetime | None:
    return moment.astimezone(HANOI) if moment is not None else None
