"""Business rules for batches and their chain: public codes, publication, recall, chain items,
the edit history of published batches and the labels that show it.

Services flush, never commit, never touch `request`. Every changing function takes the acting
user and refuses (NotAllowed) unless that user manages the product's producer. What producers
enter and its checks live in traceability.validation, inspection-file storage in
traceability.files, and the public trace page's side (code lookup, scans, timeline) in
traceability.public.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from marketplace.catalog.models import Product
from marketplace.catalog.services import can_manage
from marketplace.core.dates import add_months
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.extensions import db
from marketplace.producers.models import Producer, producer_managers
from marketplace.sales_points.models import SalesPoint
from marketplace.traceability.files import attach_inspection_file, inspection_file_names, store_inspection_file
from marketplace.traceability.models import (
    Batch,
    BatchDestination,
    BatchInput,
    BatchRevision,
    BatchScanCounter,
    Inspection,
    ProcessingStep,
)
from marketplace.traceability.validation import BatchData, checked_text, clean_batch_data, clean_item_data

PUBLIC_CODE_BYTES = 16  # secrets.token_urlsafe(16): 22 characters, 128 random bits

# --------------------------------------------------------------------------- labels for the history

FIELD_LABELS: dict[str, dict[str, Any]] = {
    "batch": {
        "code": _l("Mã lô"),
        "external_code": _l("Mã trên hệ thống truy xuất của thành phố"),
        "date_kind": _l("Loại ngày"),
        "produced_on": _l("Ngày sản xuất / thu hoạch"),
        "quantity": _l("Số lượng"),
        "unit": _l("Đơn vị"),
        "expires_on": _l("Hạn sử dụng"),
        "shelf_life_value": _l("Thời hạn sử dụng"),
        "shelf_life_unit": _l("Đơn vị thời hạn"),
        "notes": _l("Ghi chú"),
        "recall_reason": _l("Lý do thu hồi"),
    },
    "input": {
        "name": _l("Nguyên liệu"),
        "supplier": _l("Nhà cung cấp"),
        "origin": _l("Nơi sản xuất / xuất xứ"),
        "received_on": _l("Ngày nhận"),
        "quantity": _l("Số lượng"),
        "notes": _l("Ghi chú"),
    },
    "step": {
        "name": _l("Công đoạn"),
        "started_on": _l("Ngày bắt đầu"),
        "ended_on": _l("Ngày kết thúc"),
        "place": _l("Địa điểm"),
        "description": _l("Mô tả"),
    },
    "inspection": {
        "inspected_on": _l("Ngày kiểm tra"),
        "name": _l("Nội dung kiểm tra"),
        "organisation": _l("Đơn vị kiểm tra"),
        "result": _l("Kết quả"),
        "outcome": _l("Kết luận"),
        "file": _l("Tệp đính kèm"),
    },
    "destination": {
        "kind": _l("Loại nơi nhận"),
        "sales_point": _l("Điểm bán"),
        "description": _l("Nơi nhận / đơn hàng"),
        "shipped_on": _l("Ngày giao"),
        "quantity": _l("Số lượng"),
    },
}

ENTITY_LABELS = {
    "batch": _l("Thông tin lô"),
    "input": _l("Nguyên liệu đầu vào"),
    "step": _l("Công đoạn chế biến"),
    "inspection": _l("Kiểm tra, kiểm nghiệm"),
    "destination": _l("Nơi tiêu thụ"),
}

ACTION_LABELS = {
    "publish": _l("Công bố trang truy xuất"),
    "update": _l("Sửa"),
    "add": _l("Thêm"),
    "delete": _l("Xóa"),
    "recall": _l("Thu hồi lô hàng"),
}

VALUE_LABELS: dict[str, dict[str, Any]] = {
    "date_kind": {"production": _l("Ngày sản xuất"), "harvest": _l("Ngày thu hoạch")},
    "shelf_life_unit": {"day": _l("ngày"), "month": _l("tháng")},
    "outcome": {"pass": _l("Đạt"), "fail": _l("Không đạt"), "info": _l("Để tham khảo")},
    "kind": {"sales_point": _l("Điểm bán OCOP"), "order": _l("Đơn hàng của người mua")},
}


def field_label(entity: str, name: str) -> str:
    return str(FIELD_LABELS.get(entity, {}).get(name, name))


def value_label(name: str, value: str) -> str:
    """A stored history value as shown: choice codes become their labels."""
    labels = VALUE_LABELS.get(name)
    if labels and value in labels:
        return str(labels[value])
    return value


# --------------------------------------------------------------------------- chain item kinds


@dataclass(frozen=True)
class ItemKind:
    """A part of a batch's chain, as routed (`key`) and recorded in the history (`entity`)."""

    key: str
    entity: str
    model: type
    fields: tuple[str, ...]
    title_field: str


ITEM_KINDS: dict[str, ItemKind] = {
    "inputs": ItemKind(
        "inputs", "input", BatchInput, ("name", "supplier", "origin", "received_on", "quantity", "notes"), "name"
    ),
    "steps": ItemKind(
        "steps", "step", ProcessingStep, ("name", "started_on", "ended_on", "place", "description"), "name"
    ),
    "inspections": ItemKind(
        "inspections",
        "inspection",
        Inspection,
        ("inspected_on", "name", "organisation", "result", "outcome", "file"),
        "name",
    ),
    "destinations": ItemKind(
        "destinations",
        "destination",
        BatchDestination,
        ("kind", "sales_point", "description", "shipped_on", "quantity"),
        "description",
    ),
}
BATCH_FIELDS = (
    "code",
    "external_code",
    "date_kind",
    "produced_on",
    "quantity",
    "unit",
    "expires_on",
    "shelf_life_value",
    "shelf_life_unit",
    "notes",
)


# --------------------------------------------------------------------------- formatting


def format_quantity(value: Decimal | None) -> str:
    """Vietnamese style: 1250.5 -> '1.250,5'; 120 -> '120'; None -> ''."""
    if value is None:
        return ""
    value = Decimal(value)
    normalised = value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()
    sign = "-" if normalised < 0 else ""
    whole, _dot, fraction = f"{abs(normalised):f}".partition(".")
    whole = f"{int(whole):,}".replace(",", ".")
    return f"{sign}{whole},{fraction}" if fraction else f"{sign}{whole}"


def parse_quantity(text: str | None) -> Decimal | None:
    """'1.250,5' / '1250.5' / '1,5' / '1.250' (thousands) -> Decimal; '' -> None; ValueError else."""
    cleaned = (text or "").strip().replace(" ", "").replace("\u00a0", "")
    if not cleaned:
        return None
    if "," in cleaned and "." in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    elif "," in cleaned:
        cleaned = cleaned.replace(",", ".") if cleaned.count(",") == 1 else cleaned.replace(",", "")
    elif re.fullmatch(r"\d{1,3}(\.\d{3})+", cleaned):
        cleaned = cleaned.replace(".", "")
    if not re.fullmatch(r"-?\d+(\.\d+)?", cleaned):
        raise ValueError(text)
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(text) from None


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, Decimal):
        return format_quantity(value)
    return str(value)


def best_before(batch: Batch) -> date | None:
    """The expiry date, given or computed from the shelf life."""
    if batch.expires_on is not None:
        return batch.expires_on
    if batch.shelf_life_value and batch.produced_on:
        if batch.shelf_life_unit == "day":
            return batch.produced_on + timedelta(days=batch.shelf_life_value)
        return add_months(batch.produced_on, batch.shelf_life_value)
    return None


# --------------------------------------------------------------------------- access


def managed_producer_ids(user) -> list[int]:
    if user is None or not getattr(user, "is_authenticated", False) or not user.has_role("producer"):
        return []
    return list(
        db.session.scalars(sa.select(producer_managers.c.producer_id).where(producer_managers.c.user_id == user.id))
    )


def can_manage_batch(user, batch: Batch) -> bool:
    return can_manage(user, batch.product)


def _require_manager(user, product: Product) -> None:
    if not can_manage(user, product):
        raise NotAllowed()


def managed_batches_stmt(user, product_id: int | None = None, status: str | None = None) -> sa.Select:
    """The user's batches (of every producer they manage), newest production first."""
    stmt = (
        sa.select(Batch)
        .join(Product, Batch.product_id == Product.id)
        .where(Product.producer_id.in_(managed_producer_ids(user)))
    )
    if product_id is not None:
        stmt = stmt.where(Batch.product_id == product_id)
    if status:
        stmt = stmt.where(Batch.status == status)
    return stmt.order_by(Batch.produced_on.desc(), Batch.id.desc())


def managed_products(user) -> list[Product]:
    ids = managed_producer_ids(user)
    if not ids:
        return []
    return list(
        db.session.scalars(
            sa.select(Product)
            .join(Producer, Product.producer_id == Producer.id)
            .where(Product.producer_id.in_(ids))
            .order_by(Producer.name, Product.name, Product.id)
        ).unique()
    )


# --------------------------------------------------------------------------- public codes


def new_public_code() -> str:
    """A fresh unguessable code (128 random bits, URL-safe), unused by any batch."""
    for _attempt in range(20):
        code = secrets.token_urlsafe(PUBLIC_CODE_BYTES)
        if db.session.scalar(sa.select(Batch.id).where(Batch.public_code == code)) is None:
            return code
    raise RuntimeError("could not draw an unused public code")


# --------------------------------------------------------------------------- history


def _snapshot(entity: str, obj: Any, fields: Iterable[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in fields:
        if name == "sales_point":
            point = getattr(obj, "sales_point", None)
            values[name] = point.name if point is not None else ""
        elif name == "file":
            values[name] = (obj.file_original_name or _("tệp")) if obj.file_name else ""
        else:
            values[name] = _display(getattr(obj, name))
    return values


def _diff(before: dict[str, str], after: dict[str, str]) -> list[dict[str, str]]:
    return [
        {"field": name, "old": before.get(name, ""), "new": after.get(name, "")}
        for name in after
        if before.get(name, "") != after.get(name, "")
    ]


def _record(
    user,
    batch: Batch,
    entity: str,
    action: str,
    label: str = "",
    changes: list[dict[str, str]] | None = None,
) -> BatchRevision:
    revision = BatchRevision(
        batch=batch,
        user_id=getattr(user, "id", None),
        user_name=(getattr(user, "name", "") or getattr(user, "email", "") or "")[:254],
        entity=entity,
        action=action,
        entity_label=label[:300],
        changes=changes or [],
        created_at=utcnow(),
    )
    db.session.add(revision)
    return revision


def revisions(batch: Batch) -> list[BatchRevision]:
    return list(
        db.session.scalars(
            sa.select(BatchRevision)
            .where(BatchRevision.batch_id == batch.id)
            .order_by(BatchRevision.created_at.desc(), BatchRevision.id.desc())
        )
    )


# --------------------------------------------------------------------------- batches


def create_batch(user, product: Product, data: BatchData) -> Batch:
    _require_manager(user, product)
    values = clean_batch_data(product, data)
    batch = Batch(product=product, public_code=new_public_code(), created_by_id=getattr(user, "id", None), **values)
    batch.counter = BatchScanCounter(scans=0)
    db.session.add(batch)
    db.session.flush()
    return batch


def update_batch(user, batch: Batch, data: BatchData) -> list[dict[str, str]]:
    """Change the batch's facts; once published, the changed fields are recorded. Returns them."""
    _require_manager(user, batch.product)
    values = clean_batch_data(batch.product, data, batch)
    before = _snapshot("batch", batch, BATCH_FIELDS)
    for name, value in values.items():
        setattr(batch, name, value)
    changes = _diff(before, _snapshot("batch", batch, BATCH_FIELDS))
    if changes and batch.is_published:
        _record(user, batch, "batch", "update", batch.code, changes)
    db.session.flush()
    return changes


def publish_batch(user, batch: Batch) -> None:
    _require_manager(user, batch.product)
    if batch.is_published:
        raise ServiceError(None, _("Lô hàng đã được công bố."))
    batch.status = "published"
    batch.published_at = utcnow()
    _record(user, batch, "batch", "publish", batch.code)
    db.session.flush()


def recall_batch(user, batch: Batch, reason: str) -> None:
    """Recall a published batch: its trace page then says so in red, with the reason. Final."""
    _require_manager(user, batch.product)
    if batch.status == "draft":
        raise ServiceError(None, _("Chỉ thu hồi được lô hàng đã công bố."))
    if batch.is_recalled:
        raise ServiceError(None, _("Lô hàng này đã bị thu hồi."))
    text = checked_text(reason, "reason", 2000, _("Vui lòng nêu lý do thu hồi."))
    batch.status = "recalled"
    batch.recalled_at = utcnow()
    batch.recall_reason = text
    _record(user, batch, "batch", "recall", batch.code, [{"field": "recall_reason", "old": "", "new": text}])
    db.session.flush()


def delete_batch(user, batch: Batch) -> list[str]:
    """Delete a draft batch (a published one stays: its page must not vanish). Returns files to remove."""
    _require_manager(user, batch.product)
    if batch.is_published:
        raise ServiceError(None, _("Lô hàng đã công bố không thể xóa; nếu có vấn đề, hãy thu hồi lô."))
    files = [name for item in batch.inspections for name in inspection_file_names(item)]
    db.session.delete(batch)
    db.session.flush()
    return files


# --------------------------------------------------------------------------- chain items


def item_of(batch: Batch, kind: ItemKind, item_id: int) -> Any | None:
    item = db.session.get(kind.model, item_id)
    return item if item is not None and item.batch_id == batch.id else None


def _title(kind: ItemKind, item: Any) -> str:
    if kind.entity == "destination":
        if item.kind == "sales_point" and item.sales_point is not None:
            return item.sales_point.name
        return item.description
    return str(getattr(item, kind.title_field) or "")


def add_item(user, batch: Batch, kind: ItemKind, data: Any) -> Any:
    _require_manager(user, batch.product)
    values = clean_item_data(kind.key, batch, data)
    item = kind.model(**values)
    if kind.entity == "inspection" and data.file is not None:
        attach_inspection_file(item, store_inspection_file(data.file), data.file.filename)
    batch_items = getattr(batch, kind.key)
    batch_items.append(item)
    db.session.flush()
    if batch.is_published:
        after = _snapshot(kind.entity, item, kind.fields)
        _record(user, batch, kind.entity, "add", _title(kind, item), _diff(dict.fromkeys(after, ""), after))
        db.session.flush()
    return item


@dataclass
class ItemChange:
    changes: list[dict[str, str]] = field(default_factory=list)
    files_to_remove: list[str] = field(default_factory=list)


def update_item(user, batch: Batch, kind: ItemKind, item: Any, data: Any) -> ItemChange:
    _require_manager(user, batch.product)
    if item.batch_id != batch.id:
        raise NotAllowed()
    values = clean_item_data(kind.key, batch, data)
    before = _snapshot(kind.entity, item, kind.fields)
    old_files: list[str] = []
    if kind.entity == "inspection" and data.file is not None:
        stored = store_inspection_file(data.file)
        old_files = inspection_file_names(item)
        attach_inspection_file(item, stored, data.file.filename)
    for name, value in values.items():
        setattr(item, name, value)
    db.session.flush()
    result = ItemChange(changes=_diff(before, _snapshot(kind.entity, item, kind.fields)))
    if batch.is_published:
        if result.changes:
            _record(user, batch, kind.entity, "update", _title(kind, item), result.changes)
    else:
        result.files_to_remove = old_files  # a published batch keeps its old reports on file
    db.session.flush()
    return result


def delete_item(user, batch: Batch, kind: ItemKind, item: Any) -> list[str]:
    """Remove a chain item; once published the removal is recorded. Returns files to remove."""
    _require_manager(user, batch.product)
    if item.batch_id != batch.id:
        raise NotAllowed()
    files: list[str] = []
    if batch.is_published:
        before = _snapshot(kind.entity, item, kind.fields)
        _record(user, batch, kind.entity, "delete", _title(kind, item), _diff(before, dict.fromkeys(before, "")))
    elif kind.entity == "inspection":
        files = inspection_file_names(item)
    getattr(batch, kind.key).remove(item)
    db.session.flush()
    return files


def sales_point_choices() -> list[SalesPoint]:
    return list(
        db.session.scalars(
            sa.select(SalesPoint).where(SalesPoint.status == "approved").order_by(SalesPoint.name, SalesPoint.id)
        )
    )
