"""The CSV column sets (CONTRACT.md, "CSV: products" and "CSV: sales points") and the typed rows.

``Problem``, ``ProductRow`` and ``SalesPointRow`` are what reading a file produces
(``reading.py``), what the database import takes (``services.py``) and what the demo writes back
out (``writing.py``); they live here so the database import and the CSV writer need not depend on
the file reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

PRODUCT_COLUMNS = (
    "ref",
    "producer_name",
    "producer_kind",
    "district",
    "commune",
    "craft_village",
    "product_name",
    "product_name_en",
    "ocop_group",
    "ocop_stars",
    "certificate_no",
    "certified_on",
    "unit",
    "price_min_vnd",
    "price_max_vnd",
    "moq",
    "monthly_capacity",
    "certifications",
    "description",
    "lat",
    "lng",
    "ocop_group_2019",
    "status",
)
PRODUCT_REQUIRED = ("ref", "producer_name", "district", "product_name")
SALES_POINT_COLUMNS = (
    "ref",
    "name",
    "kind",
    "district",
    "commune",
    "address",
    "lat",
    "lng",
    "opening_hours",
    "phone",
    "status",
    "product_refs",
)
SALES_POINT_REQUIRED = ("ref", "name", "kind", "district")


# --------------------------------------------------------------------------- problems and rows


@dataclass(frozen=True)
class Problem:
    """One reason a row (or the file) cannot be imported."""

    line: int
    column: str | None
    message: str
    fatal: bool = False  # a problem with the file itself (header, encoding): no row can be imported

    def __str__(self) -> str:
        if self.column:
            return f"line {self.line}, column {self.column}: {self.message}"
        return f"line {self.line}: {self.message}"


@dataclass
class ProductRow:
    """One valid line of a products file, typed; `columns` are the columns the file has."""

    line: int
    ref: str
    producer_name: str
    district: str
    product_name: str
    ocop_group: str
    producer_kind: str | None = None
    commune: str = ""
    craft_village: str = ""
    product_name_en: str = ""
    ocop_group_2019: str | None = None
    ocop_stars: int = 0
    certificate_no: str = ""
    certified_on: date | None = None
    unit: str = ""
    price_min_vnd: int | None = None
    price_max_vnd: int | None = None
    moq: int | None = None
    monthly_capacity: int | None = None
    certifications: tuple[str, ...] = ()
    description: str = ""
    lat: float | None = None
    lng: float | None = None
    status: str | None = None
    columns: frozenset[str] = frozenset(PRODUCT_COLUMNS)

    def has(self, column: str) -> bool:
        return column in self.columns


@dataclass
class SalesPointRow:
    """One valid line of a sales points file, typed."""

    line: int
    ref: str
    name: str
    kind: str
    district: str
    commune: str = ""
    address: str = ""
    lat: float | None = None
    lng: float | None = None
    opening_hours: str = ""
    phone: str = ""
    status: str | None = None
    product_refs: tuple[str, ...] = ()
    columns: frozenset[str] = frozenset(SALES_POINT_COLUMNS)

    def has(self, column: str) -> bool:
        return column in self.columns
