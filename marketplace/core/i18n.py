"""Reference-data labels in the request's language.

The tables in marketplace.data hold (Vietnamese, English) label pairs; these helpers pick the one
for the current locale (Vietnamese outside a request). Use `lazy_pair_label` where the label is
built at import time (form field choices), `label`/`pair_label` in views and services.
"""

from __future__ import annotations

from flask_babel import LazyString, get_locale
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from marketplace.data import CERTIFICATIONS
from marketplace.data import certification_label as source_certification_label

# The certification names that are Vietnamese words (the rest are names: VietGAP, HACCP, ISO…).
CERTIFICATION_LABELS = {
    "organic": _l("Hữu cơ"),
    "geographical_indication": _l("Chỉ dẫn địa lý"),
    "collective_mark": _l("Nhãn hiệu tập thể"),
}


def english() -> bool:
    return str(get_locale()) == "en"


def pair_label(pair: tuple[str, ...]) -> str:
    """('Thực phẩm', 'Food') -> the label for the current language."""
    return pair[1] if english() and len(pair) > 1 else pair[0]


def lazy_pair_label(pair: tuple[str, ...]) -> LazyString:
    """Like pair_label, evaluated when rendered: safe in form choices built at import time."""
    return LazyString(pair_label, pair)


def label(table: dict[str, tuple[str, str]], code: str | None) -> str:
    """The current language's label of `code` in a reference table; unknown codes as they are."""
    pair = table.get(code or "")
    return pair_label(pair) if pair else (code or "")


def certification_label(value: str) -> str:
    """A certification code's name in the current language; free-text names as they are."""
    if value in CERTIFICATION_LABELS:
        return str(CERTIFICATION_LABELS[value])
    return source_certification_label(value)


def certification_choices() -> list[SelectChoice]:
    """Choices for a certifications field, labelled in the language of the page rendering them."""
    return [SelectChoice(code, LazyString(certification_label, code)) for code in CERTIFICATIONS]
