"""GET /api/v1/trace/<code>: the facts of a batch's public trace page as JSON (issue 9).

Only published (or recalled) batches answer; unknown codes and drafts are a JSON 404. Reading
through the API is not counted as a scan."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import url_for
from flask_babel import gettext as _

from marketplace.api import bp
from marketplace.api.serializers import certificate_data, product_item, sales_point_item
from marketplace.catalog.services import approved_sales_points
from marketplace.core.errors import json_error
from marketplace.traceability import services
from marketplace.traceability.models import Batch
from marketplace.traceability.public import TimelineEvent, public_batch, public_destinations, timeline
from marketplace.traceability.qr import public_base_url, public_trace_url


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _or_none(text: str | None) -> str | None:
    return text or None


def _event_title(event: TimelineEvent) -> str:
    item = event.item
    if event.kind == "produced":
        return item.code
    if event.kind == "recall":
        return item.recall_reason
    if event.kind == "destination":
        return item.sales_point.name if item.kind == "sales_point" and item.sales_point else item.description
    return item.name


def trace_document(batch: Batch) -> dict[str, Any]:
    product = batch.product
    producer = product.producer
    base = public_base_url()
    shelf_life = {"value": batch.shelf_life_value, "unit": batch.shelf_life_unit} if batch.shelf_life_value else None
    product_data = product_item(product)
    product_data["image"] = url_for("core.media", filename=product.images[0].thumb_filename) if product.images else None
    return {
        "code": batch.public_code,
        "url": public_trace_url(batch),
        "status": batch.status,
        "recall": (
            {"recalled_at": _moment(batch.recalled_at), "reason": batch.recall_reason} if batch.is_recalled else None
        ),
        "batch": {
            "code": batch.code,
            "external_code": _or_none(batch.external_code),
            "date_kind": batch.date_kind,
            "produced_on": _day(batch.produced_on),
            "quantity": _number(batch.quantity),
            "unit": _or_none(batch.unit),
            "expires_on": _day(batch.expires_on),
            "shelf_life": shelf_life,
            "best_before": _day(services.best_before(batch)),
            "notes": _or_none(batch.notes),
            "published_at": _moment(batch.published_at),
        },
        "product": product_data,
        "producer": {
            "id": producer.id,
            "name": producer.name,
            "kind": producer.kind,
            "district": _or_none(producer.district),
            "commune": _or_none(producer.commune),
            "address": _or_none(producer.address),
            "craft_village": _or_none(producer.craft_village),
            "url": url_for("producers.show", producer_id=producer.id),
        },
        "certificate": certificate_data(product),
        "inputs": [
            {
                "name": i.name,
                "supplier": _or_none(i.supplier),
                "origin": _or_none(i.origin),
                "received_on": _day(i.received_on),
                "quantity": _or_none(i.quantity),
                "notes": _or_none(i.notes),
            }
            for i in batch.inputs
        ],
        "processing_steps": [
            {
                "name": s.name,
                "started_on": _day(s.started_on),
                "ended_on": _day(s.ended_on),
                "place": _or_none(s.place),
                "description": _or_none(s.description),
            }
            for s in batch.steps
        ],
        "inspections": [
            {
                "inspected_on": _day(i.inspected_on),
                "name": i.name,
                "organisation": _or_none(i.organisation),
                "result": i.result,
                "outcome": i.outcome,
                "file_type": i.file_kind if i.file_name else None,
                "file_url": (
                    base + url_for("traceability.inspection_file", code=batch.public_code, inspection_id=i.id)
                    if i.file_name
                    else None
                ),
            }
            for i in batch.inspections
        ],
        "destinations": [
            {
                "kind": d.kind,
                "sales_point": (
                    {"ref": d.sales_point.ref, "name": d.sales_point.name, "district": _or_none(d.sales_point.district)}
                    if d.kind == "sales_point" and d.sales_point is not None
                    else None
                ),
                "description": _or_none(d.description),
                "shipped_on": _day(d.shipped_on),
                "quantity": _or_none(d.quantity),
            }
            for d in public_destinations(batch)
        ],
        "timeline": [
            {"kind": e.kind, "date": _day(e.on), "title": _event_title(e)} for e in timeline(batch, public=True)
        ],
        "where_to_buy": [sales_point_item(point) for point in approved_sales_points(product)],
        "revisions": [
            {
                "at": _moment(r.created_at),
                "entity": r.entity,
                "action": r.action,
                "label": r.entity_label,
                "changes": list(r.changes or []),
            }
            for r in services.revisions(batch)
        ],
    }


@bp.get("/trace/<code>")
def trace(code: str):
    batch = public_batch(code)
    if batch is None:
        return json_error(404, "not_found", _("Không tìm thấy lô hàng với mã truy xuất này."), "code")
    return trace_document(batch)
