"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask, request
from flask_babel import format_date, format_datetime, get_locale

from marketplace.core.dates import to_local
from marketplace.core.i18n import certification_label
from marketplace.core.i18n import label as _label
from marketplace.core.money import format_price_range, format_vnd
from marketplace.data import (
    CERTIFICATE_LEVELS,
    OCOP_GROUPS,
    PRODUCER_KINDS,
    SALES_POINT_KINDS,
)


def local_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_date(to_local(value).date(), "dd/MM/yyyy")
    return format_date(value, "dd/MM/yyyy")


def local_datetime(value: datetime | None) -> str:
    return format_datetime(value, "HH:mm dd/MM/yyyy") if value else ""


def url_with(**changes) -> str:
    """The current URL with some query arguments replaced (None removes one): for filters, pages."""
    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = [str(value)]
    from urllib.parse import urlencode

    query = urlencode(args, doseq=True)
    return request.path + (f"?{query}" if query else "")


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        vnd=format_vnd,
        price_range=format_price_range,
        local_date=local_date,
        local_datetime=local_datetime,
        group_label=lambda code: _label(OCOP_GROUPS, code),
        producer_kind_label=lambda code: _label(PRODUCER_KINDS, code),
        level_label=lambda code: _label(CERTIFICATE_LEVELS, code),
        sales_point_kind_label=lambda code: _label(SALES_POINT_KINDS, code),
        certification_label=certification_label,
        number=lambda n: f"{int(n):,}".replace(",", ".") if n is not None else "",
    )
    app.jinja_env.globals.update(
        OCOP_GROUPS=OCOP_GROUPS,
        PRODUCER_KINDS=PRODUCER_KINDS,
        url_with=url_with,
        current_locale=lambda: str(get_locale()),
    )
