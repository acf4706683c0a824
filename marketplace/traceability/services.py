"""Business rules for batches and their chain: validation, public codes, publication, recall,
the edit history of published batches, inspection files, scan counting and the timeline.

Services flush, never commit, never touch `request`. Every changing function takes the acting
user and refuses (NotAllowed) unless that user manages the product's producer.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from marketplace.catalog.models import Product
from marketplace.catalog.services import can_manage
from marketplace.core.dates import add_months, to_local, today
from marketplace.core.documents import check_pdf
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.core.uploads import save_image, upload_dir, write_file
from marketplace.core.vn_text import clean_line, nfc
from marketplace.extensions import db
from marketplace.producers.models import Producer, producer_managers
from marketplace.sales_points.models import SalesPoint
from marketplace.traceability.models import (
    DATE_KINDS,
    DESTINATION_KINDS,
    INSPECTION_OUTCOMES,
    SHELF_LIFE_UNITS,
    Batch,
    BatchDestination,
    BatchInput,
    BatchRevision,
    BatchScanCounter,
    Inspection,
    ProcessingStep,
)

PUBLIC_CODE_BYTES = 16  # secrets.token_urlsafe(16): 22 characters, 128 random bits
PUBLIC_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{16,40}$")
DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_QUANTITY = Decimal("1000000000000")
MAX_SHELF_LIFE = {"day": 3650, "month": 120}
DOCUMENTS_DIR = "documents"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Obvious robots by User-Agent: crawlers, link previews, command-line clients, headless browsers.
# (Zalo's and Facebook's in-app browsers are people scanning codes: they are counted.)
_BOT_UA = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|preview|facebookexternalhit|embedly|monitor|curl|wget|python|httpx|"
    r"http-client|okhttp|go-http|java/|libwww|headless|phantomjs|lighthouse|pingdom|uptime",
    re.IGNORECASE,
)

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


def find_by_public_code(code: str | None) -> Batch | None:
    """The batch with this public code (any status; callers decide who may see it)."""
    if not code or not PUBLIC_CODE_RE.fullmatch(code):
        return None
    return db.session.scalar(sa.select(Batch).where(Batch.public_code == code))


def public_batch(code: str | None) -> Batch | None:
    """A published (or recalled) batch by its public code; drafts are nobody's business."""
    batch = find_by_public_code(code)
    return batch if batch is not None and batch.is_published else None


# --------------------------------------------------------------------------- validation helpers


def _line(value: str | None, field_name: str, max_length: int, required_message: str | None = None) -> str:
    text = clean_line(value)
    if required_message and not text:
        raise ServiceError(field_name, required_message)
    if len(text) > max_length:
        raise ServiceError(field_name, _("Tối đa %(n)s ký tự.", n=max_length))
    if _CONTROL.search(text):
        raise ServiceError(field_name, _("Có ký tự không hợp lệ."))
    return text


def _text(value: str | None, field_name: str, max_length: int, required_message: str | None = None) -> str:
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
        "notes": _text(data.notes, "notes", 5000),
    }


def _clean_input(batch: Batch, data: InputData) -> dict[str, Any]:
    _not_future(data.received_on, "received_on")
    return {
        "name": _line(data.name, "name", 200, _("Vui lòng nhập tên nguyên liệu.")),
        "supplier": _line(data.supplier, "supplier", 200),
        "origin": _line(data.origin, "origin", 300),
        "received_on": data.received_on,
        "quantity": _line(data.quantity, "quantity", 60),
        "notes": _text(data.notes, "notes", 2000),
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
        "description": _text(data.description, "description", 2000),
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
        "result": _text(data.result, "result", 2000, _("Vui lòng nhập kết quả.")),
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


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class StoredFile:
    name: str  # relative to the uploads folder
    kind: str  # pdf | image
    thumb: str | None = None


def max_file_bytes() -> int:
    return int(current_app.config.get("TRACE_MAX_FILE_BYTES") or DEFAULT_MAX_FILE_BYTES)


def store_inspection_file(upload: UploadedFile) -> StoredFile:
    """Check the file by its content (a PDF, or a JPEG/PNG/WebP photo), at most the size limit, and
    store it under a random name. Photos are re-encoded (metadata such as GPS dropped)."""
    data = upload.data
    limit = max_file_bytes()
    if not data:
        raise ServiceError("file", _("Tệp trống."))
    if len(data) > limit:
        raise ServiceError("file", _("Tệp lớn hơn %(n)s MB.", n=limit // (1024 * 1024)))
    if data[:5] == b"%PDF-":
        check_pdf(data, "file")  # sound, and no scripts or embedded files: the trace page is public
        folder = upload_dir() / DOCUMENTS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{DOCUMENTS_DIR}/{secrets.token_hex(16)}.pdf"
        write_file(upload_dir() / name, data, field="file")
        return StoredFile(name=name, kind="pdf")
    try:
        stored = save_image(data, field="file")
    except ServiceError as error:
        if error.code == "storage_unavailable":  # the disk, not the file: say so
            raise
        raise ServiceError("file", _("Chỉ nhận tệp PDF hoặc ảnh JPEG, PNG, WebP.")) from None
    return StoredFile(name=stored.filename, kind="image", thumb=stored.thumb_filename)


def file_path(name: str) -> Path:
    return upload_dir() / name


def remove_files(names: Iterable[str]) -> None:
    """Delete stored files (call after the commit that stopped referring to them)."""
    root = upload_dir().resolve()
    for name in names:
        path = (root / name).resolve()
        if path.is_relative_to(root):
            path.unlink(missing_ok=True)


def _original_name(filename: str) -> str:
    base = nfc(filename).replace("\\", "/").rsplit("/", 1)[-1]
    return _CONTROL.sub("", base)[:200] or "file"


def _file_names(item: Inspection) -> list[str]:
    return [name for name in (item.file_name, item.file_thumb) if name]


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
    text = _text(reason, "reason", 2000, _("Vui lòng nêu lý do thu hồi."))
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
    files = [name for item in batch.inspections for name in _file_names(item)]
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
    values = _CLEANERS[kind.key](batch, data)
    item = kind.model(**values)
    if kind.entity == "inspection" and data.file is not None:
        _attach(item, store_inspection_file(data.file), data.file.filename)
    batch_items = getattr(batch, kind.key)
    batch_items.append(item)
    db.session.flush()
    if batch.is_published:
        after = _snapshot(kind.entity, item, kind.fields)
        _record(user, batch, kind.entity, "add", _title(kind, item), _diff(dict.fromkeys(after, ""), after))
        db.session.flush()
    return item


def _attach(item: Inspection, stored: StoredFile, filename: str) -> None:
    item.file_name = stored.name
    item.file_kind = stored.kind
    item.file_thumb = stored.thumb
    item.file_original_name = _original_name(filename)


@dataclass
class ItemChange:
    changes: list[dict[str, str]] = field(default_factory=list)
    files_to_remove: list[str] = field(default_factory=list)


def update_item(user, batch: Batch, kind: ItemKind, item: Any, data: Any) -> ItemChange:
    _require_manager(user, batch.product)
    if item.batch_id != batch.id:
        raise NotAllowed()
    values = _CLEANERS[kind.key](batch, data)
    before = _snapshot(kind.entity, item, kind.fields)
    old_files: list[str] = []
    if kind.entity == "inspection" and data.file is not None:
        stored = store_inspection_file(data.file)
        old_files = _file_names(item)
        _attach(item, stored, data.file.filename)
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
        files = _file_names(item)
    getattr(batch, kind.key).remove(item)
    db.session.flush()
    return files


def sales_point_choices() -> list[SalesPoint]:
    return list(
        db.session.scalars(
            sa.select(SalesPoint).where(SalesPoint.status == "approved").order_by(SalesPoint.name, SalesPoint.id)
        )
    )


# --------------------------------------------------------------------------- scans


def is_bot(user_agent: str | None) -> bool:
    agent = (user_agent or "").strip()
    return not agent or _BOT_UA.search(agent) is not None


def should_count_scan(user, batch: Batch, user_agent: str | None, from_same_page: bool = False) -> bool:
    """A visitor's view: not the producer's own (nor staff's), not an obvious bot, not a reload
    of the page through the language switch (`from_same_page`)."""
    if not batch.is_published or from_same_page or is_bot(user_agent):
        return False
    if user is not None and getattr(user, "is_authenticated", False):
        if getattr(user, "is_staff", False) or can_manage_batch(user, batch):
            return False
    return True


def record_scan(batch: Batch) -> None:
    """Add one to the batch's counter, atomically (concurrent scans never lose a count)."""
    result = db.session.execute(
        sa.update(BatchScanCounter)
        .where(BatchScanCounter.batch_id == batch.id)
        .values(scans=BatchScanCounter.scans + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        db.session.add(BatchScanCounter(batch_id=batch.id, scans=1))
    db.session.flush()


# --------------------------------------------------------------------------- the public page


@dataclass(frozen=True)
class TimelineEvent:
    kind: str  # input | step | produced | inspection | destination | recall
    on: date | None
    item: Any


_PHASES = {"input": 0, "step": 1, "produced": 2, "inspection": 3, "destination": 4, "recall": 5}


def public_destinations(batch: Batch) -> list[BatchDestination]:
    """Destinations shown to the public: orders, and sales points that are approved."""
    return [
        d for d in batch.destinations if d.kind == "order" or (d.sales_point is not None and d.sales_point.is_public)
    ]


def timeline(batch: Batch, public: bool = True) -> list[TimelineEvent]:
    """The chain in date order: inputs, processing, production, inspections, destinations, recall.

    Undated inputs sit just before production; undated destinations just after it."""
    events = [TimelineEvent("input", i.received_on, i) for i in batch.inputs]
    events += [TimelineEvent("step", s.started_on, s) for s in batch.steps]
    events.append(TimelineEvent("produced", batch.produced_on, batch))
    events += [TimelineEvent("inspection", i.inspected_on, i) for i in batch.inspections]
    destinations = public_destinations(batch) if public else batch.destinations
    events += [TimelineEvent("destination", d.shipped_on, d) for d in destinations]
    if batch.is_recalled and batch.recalled_at is not None:
        events.append(TimelineEvent("recall", to_local(batch.recalled_at).date(), batch))

    def key(event: TimelineEvent):
        return (event.on or batch.produced_on, _PHASES[event.kind], getattr(event.item, "id", 0) or 0)

    return sorted(events, key=key)
