"""POST /api/v1/match (CONTRACT.md): suppliers and sales points for a buyer's need.

The body is strict JSON: wrong types and out-of-range values are a 400 naming the field; unknown
keys are ignored. Public and rate-limited like the rest of the API (no session, no CSRF).
"""

from __future__ import annotations

import math
from typing import Any

from flask import request
from flask_babel import gettext as _

from marketplace.api import bp
from marketplace.api.params import MAX_CERTIFICATIONS, BadParam
from marketplace.api.serializers import product_item, sales_point_item
from marketplace.core.errors import ServiceError
from marketplace.matching.need import MAX_TEXT
from marketplace.matching.services import MatchResult, build_need, match


def _field(body: dict[str, Any], name: str, kind: str) -> Any:
    """The value of `name` checked against a JSON type: 'string', 'number', 'integer', 'strings'.
    Absent or null -> None."""
    value = body.get(name)
    if value is None:
        return None
    if kind == "string":
        if not isinstance(value, str):
            raise BadParam(name, _("%(name)s phải là một chuỗi.", name=name))
        if "\x00" in value:
            raise BadParam(name, _("%(name)s chứa ký tự không hợp lệ.", name=name))
        return value
    if kind == "strings":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BadParam(name, _("%(name)s phải là một danh sách chuỗi.", name=name))
        if len(value) > MAX_CERTIFICATIONS:
            raise BadParam(name, _("%(name)s có tối đa %(n)s phần tử.", name=name, n=MAX_CERTIFICATIONS))
        return [v[:60] for v in value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadParam(name, _("%(name)s phải là một số.", name=name))
    if isinstance(value, float) and not math.isfinite(value):
        raise BadParam(name, _("%(name)s phải là một số.", name=name))
    if kind == "integer":
        if isinstance(value, float):
            if not value.is_integer():
                raise BadParam(name, _("%(name)s phải là một số nguyên.", name=name))
            value = int(value)
        if abs(value) > 10**15:
            raise BadParam(name, _("%(name)s quá lớn.", name=name))
        return value
    return float(value)


def parse_body(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadParam("body", _("Nội dung yêu cầu phải là một đối tượng JSON."), code="invalid_body")
    text = _field(body, "text", "string")
    if text is None or not text.strip():
        raise BadParam("text", _("text là bắt buộc và không được để trống."))
    if len(text) > MAX_TEXT * 4:
        raise BadParam("text", _("Mô tả nhu cầu tối đa %(n)s ký tự.", n=MAX_TEXT))
    fields = {
        "text": text,
        "ocop_group": _field(body, "ocop_group", "string"),
        "quantity": _field(body, "quantity", "number"),
        "unit": _field(body, "unit", "string"),
        "min_stars": _field(body, "min_stars", "integer"),
        "district": _field(body, "district", "string"),
        "lat": _field(body, "lat", "number"),
        "lng": _field(body, "lng", "number"),
        "max_price_vnd": _field(body, "max_price_vnd", "integer"),
        "certifications": _field(body, "certifications", "strings") or [],
        "limit": _field(body, "limit", "integer"),
    }
    return fields


def _need_data(result: MatchResult) -> dict[str, Any]:
    need = result.need
    return {
        "text": need.text,
        "content": result.hints.content,
        "ocop_group": need.ocop_group,
        "quantity": need.quantity,
        "unit": need.unit,
        "min_stars": need.min_stars,
        "district": need.place,
        "lat": need.location.lat if need.location else None,
        "lng": need.location.lng if need.location else None,
        "max_price_vnd": need.max_price_vnd,
        "certifications": list(need.certifications),
        "limit": need.limit,
    }


def match_response(result: MatchResult) -> dict[str, Any]:
    suppliers = []
    for found in result.suppliers:
        producer = found.product.producer
        suppliers.append(
            {
                "score": found.score.score,
                "reasons": found.reasons,
                "product": product_item(found.product),
                "producer": {
                    "id": producer.id,
                    "name": producer.name,
                    "kind": producer.kind,
                    "district": producer.district or None,
                    "commune": producer.commune or None,
                    "craft_village": producer.craft_village or None,
                },
                "distance_km": round(found.score.distance_km, 2) if found.score.distance_km is not None else None,
                "relevance": round(found.score.relevance, 3),
            }
        )
    points = []
    for found in result.sales_points:
        item = sales_point_item(found.point, found.score.distance_km)
        item["product_refs"] = found.product_refs
        points.append(
            {
                "score": found.score.score,
                "reasons": found.reasons,
                "sales_point": item,
                "matching_product_refs": [p.ref for p in found.score.products],
            }
        )
    return {
        "need": _need_data(result),
        "suppliers": suppliers,
        "sales_points": points,
        "warnings": result.warnings,
        "unknown_words": list(result.unknown_words),
        "suggestion": result.suggestion,
    }


@bp.post("/match")
def match_need():
    fields = parse_body(request.get_json(force=True, silent=True))
    try:
        need, warnings = build_need(**fields)
    except ServiceError as error:
        raise BadParam(error.field or "body", error.message) from None
    return match_response(match(need, warnings))
