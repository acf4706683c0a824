"""Small input checks shared by services; they raise ServiceError naming the field."""

from __future__ import annotations

from flask_babel import gettext as _

from marketplace.core.errors import ServiceError


def limit_length(value: str, field: str, size: int) -> str:
    """`value` unchanged when at most `size` characters, else ServiceError on `field`."""
    if len(value) > size:
        raise ServiceError(field, _("Tối đa %(n)s ký tự.", n=size))
    return value
