"""Writing products CSV files (CONTRACT.md, "CSV: products"): the inverse of ``reading.py``.

Independent of the database: the demo turns its generated ``ProductRow`` objects into a sample
file with these functions, and the tests check that reading such a file gives the rows back.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from marketplace.data import certification_label
from marketplace.imports.rows import PRODUCT_COLUMNS, ProductRow


def product_row_to_csv(row: ProductRow) -> dict[str, str]:
    """The CSV cells of a row (the inverse of validation): the demo writes files with it."""

    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, date):
            return value.isoformat()
        return str(value)

    return {
        "ref": row.ref,
        "producer_name": row.producer_name,
        "producer_kind": cell(row.producer_kind),
        "district": row.district,
        "commune": row.commune,
        "craft_village": row.craft_village,
        "product_name": row.product_name,
        "product_name_en": row.product_name_en,
        "ocop_group": row.ocop_group,
        "ocop_stars": str(row.ocop_stars),
        "certificate_no": row.certificate_no,
        "certified_on": cell(row.certified_on),
        "unit": row.unit,
        "price_min_vnd": cell(row.price_min_vnd),
        "price_max_vnd": cell(row.price_max_vnd),
        "moq": cell(row.moq),
        "monthly_capacity": cell(row.monthly_capacity),
        "certifications": ";".join(certification_label(c) for c in row.certifications),
        "description": row.description,
        "lat": cell(row.lat),
        "lng": cell(row.lng),
        "ocop_group_2019": cell(row.ocop_group_2019),
        "status": cell(row.status),
    }


def write_products_csv(rows: Iterable[ProductRow], path: str | Path) -> int:
    """Write rows as a products CSV file (all contract columns); return how many."""
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(PRODUCT_COLUMNS))
        writer.writeheader()
        for row in rows:
            writer.writerow(product_row_to_csv(row))
            count += 1
    return count
