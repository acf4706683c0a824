"""What a producer enters for a batch and its chain, and the rules that check it.

Holds the input data classes the forms fill (BatchData, InputData, StepData, InspectionData with
its UploadedFile, DestinationData) and the cleaning functions that validate them into model
values, raising ServiceError naming the field. Kept apart from services.py so the batch and chain
operations there read as operations, not as a wall of field checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from marketplace.catalog.models import Product
from marketplace.core.dates import today
from marketplace.core.errors import ServiceError
from marketplace.core.vn_text import clean_line, nfc
from marketplace.extensions import db
from marketplace.sales_points.models import SalesPoint
from marketplace.traceability.models import (
    DATE_KINDS,
    DESTINATION_KINDS,
    INSPECTION_OUTCOMES,
    SHELF_LIFE_UNITS,
    Batch,
)

MAX_QUANTITY = Decimal("1000000000000")
MAX_SHELF_LIFE = {"day": 3650, "month": 120}
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")

# --------------------------------------------------------------------------- input data


@dataclass
class BatchData:
    code: str = ""
    produced_on: date | None = None
    date_kind: str = "production"
    quantity: Decimal | None = None
    unit: str = ""
    expires_on: date | None = None
    shelf_life_value: int | None = None
    shelf_life_unit: str = "month"
    external_code: str = ""
    notes: str = ""


@dataclass
class InputData:
    name: str = ""
    supplier: str = ""
    origin: str = ""
    received_on: date | None = None
    quantity: str = ""
    notes: str = ""


@dataclass
class StepData:
    name: str = ""
    started_on: date | None = None
    ended_on: date | None = None
    place: str = ""
    description: str = ""


@dataclass
class UploadedFile:
    filename: str
    data: bytes


@dataclass
class InspectionData:
    inspected_on: date | None = None
    name: str = ""
    organisation: str = ""
    result: str = ""
    outcome: str = "pass"
    file: UploadedFile | None = None


@dataclass
class DestinationData:
    kind: str = "sales_point"
    sales_point_id: int | None = None
    description: str = ""
    shipped_on: date | None = None
    quantity: str = ""


# --------------------------------------------------------------------------- validation helpers


def _line(value: str | None, field_name: str, max_length: int, required_message: str | None = None) -> str:
    text = clean_line(value)
    if required_message and not text:
        raise ServiceError(field_name, required_message)
    if len(text) > max_length:
        raise ServiceError(field_name, _("Tối đa %(n)s ký tự.", n=max_length))
    if CONTROL_CHARS.search(text):
        raise ServiceError(field_name, _("Có ký tự không hợp lệ."))
    return text


def checked_text(value: str | None, field_name: str, max_length: int, required_message: str | None = None) -> str:
    text = nfc(value).replace("\r\n", "\n")
    if required_message and not text:
        raise ServiceError(field_name, required_message)
    if len(text) > max_length:
        raise ServiceError(field_name, _("Tối đa %(n)s ký tự.", n=max_length))
    return text


def _not_future(day: date | None, field_name: str) -> None:
    if day is not None and day > today():
        raise ServiceError(field_name, _("Ngày này chưa tới: hãy kiểm tra lại."))


def clean_batch_data(product: Product, data: BatchData, batch: Batch | None = None) -> dict[str, Any]:
    code = _line(data.code, "code", 60, _("Vui lòng nhập mã lô."))
    clash = sa.select(Batch.id).where(Batch.product_id == product.id, sa.func.lower(Batch.code) == code.lower())
    if batch is not None:
        clash = clash.where(Batch.id != batch.id)
    if db.session.scalar(clash) is not None:
        raise ServiceError("code", _("Sản phẩm này đã có lô mang mã %(code)s.", code=code))
    if data.date_kind not in DATE_KINDS:
        raise ServiceError("date_kind", _("Lựa chọn không hợp lệ."))
    if data.produced_on is None:
        raise ServiceError("produced_on", _("Vui lòng nhập ngày sản xuất hoặc thu hoạch."))
    _not_future(data.produced_on, "produced_on")
    if data.quantity is not None and not (Decimal(0) < data.quantity < MAX_QUANTITY):
        raise ServiceError("quantity", _("Số lượng phải lớn hơn 0."))
    if data.quantity is not None and data.quantity != data.quantity.quantize(Decimal("0.001")):
        raise ServiceError("quantity", _("Tối đa 3 chữ số thập phân."))
    if data.expires_on is not None and data.expires_on < data.produced_on:
        raise ServiceError("expires_on", _("Hạn sử dụng không thể trước ngày sản xuất."))
    if data.shelf_life_unit not in SHELF_LIFE_UNITS:
        raise ServiceError("shelf_life_unit", _("Lựa chọn không hợp lệ."))
    if data.shelf_life_value is not None and not (1 <= data.shelf_life_value <= MAX_SHELF_LIFE[data.shelf_life_unit]):
        raise ServiceError(
            "shelf_life_value",
            _("Thời hạn sử dụng từ 1 đến %(n)s.", n=MAX_SHELF_LIFE[data.shelf_life_unit]),
        )
    return {
        "code": code,
        "external_code": _line(data.external_code, "external_code", 120),
        "date_kind": data.date_kind,
        "produced_on": data.produced_on,
        "quantity": data.quantity,
        "unit": _line(data.unit, "unit", 30),
        "expires_on": data.expires_on,
        "shelf_life_value": data.shelf_life_value,
        "shelf_life_unit": data.shelf_life_unit,
        "notes": checked_text(data.notes, "notes", 5000),
    }


def _clean_input(batch: Batch, data: InputData) -> dict[str, Any]:
    _not_future(data.received_on, "received_on")
    return {
        "name": _line(data.name, "name", 200, _("Vui lòng nhập tên nguyên liệu.")),
        "supplier": _line(data.supplier, "supplier", 200),
        "origin": _line(data.origin, "origin", 300),
        "received_on": data.received_on,
        "quantity": _line(data.quantity, "quantity", 60),
        "notes": checked_text(data.notes, "notes", 2000),
    }


def _clean_step(batch: Batch, data: StepData) -> dict[str, Any]:
    name = _line(data.name, "name", 200, _("Vui lòng nhập tên công đoạn."))
    if data.started_on is None:
        raise ServiceError("started_on", _("Vui lòng nhập ngày bắt đầu."))
    _not_future(data.started_on, "started_on")
    if data.ended_on is not None and data.ended_on < data.started_on:
        raise ServiceError("ended_on", _("Ngày kết thúc không thể trước ngày bắt đầu."))
    return {
        "name": name,
        "started_on": data.started_on,
        "ended_on": data.ended_on,
        "place": _line(data.place, "place", 300),
        "description": checked_text(data.description, "description", 2000),
    }


def _clean_inspection(batch: Batch, data: InspectionData) -> dict[str, Any]:
    if data.inspected_on is None:
        raise ServiceError("inspected_on", _("Vui lòng nhập ngày kiểm tra."))
    _not_future(data.inspected_on, "inspected_on")
    if data.outcome not in INSPECTION_OUTCOMES:
        raise ServiceError("outcome", _("Lựa chọn không hợp lệ."))
    return {
        "inspected_on": data.inspected_on,
        "name": _line(data.name, "name", 200, _("Vui lòng nhập nội dung kiểm tra.")),
        "organisation": _line(data.organisation, "organisation", 200),
        "result": checked_text(data.result, "result", 2000, _("Vui lòng nhập kết quả.")),
        "outcome": data.outcome,
    }


def _clean_destination(batch: Batch, data: DestinationData) -> dict[str, Any]:
    if data.kind not in DESTINATION_KINDS:
        raise ServiceError("kind", _("Lựa chọn không hợp lệ."))
    point = None
    description = _line(data.description, "description", 300)
    if data.kind == "sales_point":
        if data.sales_point_id is None:
            raise ServiceError("sales_point_id", _("Vui lòng chọn điểm bán."))
        point = db.session.get(SalesPoint, data.sales_point_id)
        if point is None or point.status != "approved":
            raise ServiceError("sales_point_id", _("Điểm bán không tồn tại hoặc chưa được duyệt."))
    elif not description:
        raise ServiceError("description", _("Vui lòng mô tả đơn hàng hoặc nơi nhận."))
    if data.shipped_on is not None and data.shipped_on < batch.produced_on:
        raise ServiceError("shipped_on", _("Ngày giao không thể trước ngày sản xuất của lô."))
    return {
        "kind": data.kind,
        "sales_point": point,
        "description": description,
        "shipped_on": data.shipped_on,
        "quantity": _line(data.quantity, "quantity", 60),
    }


_CLEANERS = {
    "inputs": _clean_input,
    "steps": _clean_step,
    "inspections": _clean_inspection,
    "destinations": _clean_destination,
}


def clean_item_data(key: str, batch: Batch, data: Any) -> dict[str, Any]:
    """The model values for a chain item of kind `key` (an ItemKind.key), checked."""
    return _CLEANERS[key](batch, data)
