"""Query-string parsing for the JSON API: strict (a bad value is a 400), never a 5xx."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flask_babel import gettext as _

from marketplace.core.vn_text import clean_line

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000  # keeps OFFSET within every database's integer range
MAX_CERTIFICATIONS = 10  # POST /match: certifications asked for
_INTEGER = re.compile(r"[+-]?[0-9]+")
# near=lat,lng: ASCII decimal degrees (the OpenAPI document publishes this very pattern).
NEAR_PATTERN = r"^ *-?[0-9]{1,3}(\.[0-9]{1,15})? *, *-?[0-9]{1,3}(\.[0-9]{1,15})? *$"
_NEAR = re.compile(NEAR_PATTERN)


class BadParam(Exception):
    """A query parameter the API refuses: answered as a 400 JSON error naming the field."""

    def __init__(self, field: str, message: str, code: str = "invalid_parameter"):
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


def _raw(args: Mapping[str, str], name: str) -> str:
    """The parameter's one value ('' when absent or empty). Given more than once: a 400, since
    which value counts would be a guess (and every parameter is documented as a single value)."""
    getlist = getattr(args, "getlist", None)
    if getlist is not None and len(getlist(name)) > 1:
        raise BadParam(name, _("%(name)s chỉ được có một giá trị.", name=name))
    return args.get(name) or ""


def text_arg(args: Mapping[str, str], name: str, max_length: int = 200) -> str:
    """A one-line text parameter, NFC, without NUL/control characters ('' when absent)."""
    raw = _raw(args, name)
    cleaned = "".join(ch for ch in raw[: max_length * 4] if ch.isprintable() or ch.isspace())
    return clean_line(cleaned)[:max_length]


def int_arg(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _raw(args, name).strip()
    if raw == "":
        return default
    if not _INTEGER.fullmatch(raw):
        raise BadParam(name, _("%(name)s phải là một số nguyên.", name=name))
    value = int(raw) if len(raw) <= 18 else high + 1
    if not low <= value <= high:
        raise BadParam(name, _("%(name)s phải nằm trong khoảng %(low)s–%(high)s.", name=name, low=low, high=high))
    return value


def choice_arg(args: Mapping[str, str], name: str, choices: Iterable[str], default: str = "") -> str:
    value = _raw(args, name).strip()
    if value == "":
        return default
    allowed = tuple(choices)
    if value not in allowed:
        raise BadParam(name, _("%(name)s phải là một trong: %(values)s.", name=name, values=", ".join(allowed)))
    return value


def near_arg(args: Mapping[str, str], name: str = "near") -> tuple[float, float] | None:
    """'lat,lng' in degrees, or None when absent. Malformed, non-finite or out of range: 400."""
    raw = _raw(args, name)
    if raw == "":
        return None
    message = _("%(name)s phải có dạng vĩ_độ,kinh_độ, ví dụ 21.03,105.85.", name=name)
    if not _NEAR.fullmatch(raw):
        raise BadParam(name, message)
    parts = raw.split(",")
    try:
        lat, lng = (float(p.strip()) for p in parts)
    except ValueError:
        raise BadParam(name, message) from None
    if not (math.isfinite(lat) and math.isfinite(lng)):
        raise BadParam(name, message)
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise BadParam(name, _("Vĩ độ phải trong khoảng -90–90 và kinh độ trong khoảng -180–180."))
    return lat, lng


@dataclass(frozen=True)
class Paging:
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def window(self, items: list) -> list:
        return items[self.offset : self.offset + self.per_page]


def paging_args(args: Mapping[str, str]) -> Paging:
    return Paging(
        page=int_arg(args, "page", 1, 1, MAX_PAGE),
        per_page=int_arg(args, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE),
    )
