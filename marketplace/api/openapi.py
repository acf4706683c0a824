"""The OpenAPI 3.0.3 document of /api/v1 (served at /api/v1/openapi.json)."""

from __future__ import annotations

from copy import deepcopy
from functools import cache
from typing import Any

from marketplace.api.params import DEFAULT_PER_PAGE, MAX_CERTIFICATIONS, MAX_PER_PAGE, NEAR_PATTERN
from marketplace.api.queries import PRODUCT_SORTS
from marketplace.catalog.stars import CERTIFICATE_STATUSES
from marketplace.data import GROUP_2019_TO_2023, OCOP_GROUPS, SALES_POINT_KINDS
from marketplace.matching.need import MAX_LIMIT
from marketplace.matching.services import MAX_PRICE, MAX_QUANTITY

PREFIX = "/api/v1"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(type_: str, **extra: Any) -> dict[str, Any]:
    return {"type": type_, "nullable": True, **extra}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """An optional query parameter. An empty value is as if absent (allowEmptyValue); a parameter
    given twice is a 400."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "allowEmptyValue": True,
        "description": description,
        "schema": schema,
    }


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": {"$ref": "#/components/responses/BadRequest"},
    "414": {"$ref": "#/components/responses/UriTooLong"},
    "429": {"$ref": "#/components/responses/TooManyRequests"},
}

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "field"],
                "properties": {
                    "code": {"type": "string", "example": "invalid_parameter"},
                    "message": {"type": "string"},
                    "field": _nullable("string", description="The parameter or body field at fault."),
                },
            }
        },
    },
    "ProducerRef": {
        "type": "object",
        "required": ["id", "name", "district", "commune"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "district": _nullable("string", description="Former district (quận/huyện)."),
            "commune": _nullable("string"),
        },
    },
    "ProductItem": {
        "type": "object",
        "required": [
            "ref",
            "id",
            "name",
            "name_en",
            "ocop_group",
            "ocop_stars",
            "certificate_status",
            "unit",
            "price_min_vnd",
            "price_max_vnd",
            "producer",
            "url",
        ],
        "properties": {
            "ref": {"type": "string", "description": "Stable identifier (the city's OCOP code)."},
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "name_en": _nullable("string"),
            "ocop_group": {"type": "string", "enum": list(OCOP_GROUPS)},
            "ocop_stars": {
                "type": "integer",
                "minimum": 0,
                "maximum": 5,
                "description": "Stars of a valid, verified certificate, else 0.",
            },
            "certificate_status": {"type": "string", "enum": list(CERTIFICATE_STATUSES)},
            "unit": _nullable("string"),
            "price_min_vnd": _nullable("integer", format="int64"),
            "price_max_vnd": _nullable("integer", format="int64"),
            "producer": _ref("ProducerRef"),
            "url": {"type": "string", "description": "The product's public page (a path)."},
        },
    },
    "Certificate": {
        "type": "object",
        "required": ["stars", "number", "issued_on", "expires_on", "status"],
        "properties": {
            "stars": {"type": "integer", "minimum": 0, "maximum": 5, "description": "The certificate's own stars."},
            "number": _nullable("string"),
            "level": _nullable("string", enum=["district", "province", "national", None]),
            "issued_on": _nullable("string", format="date"),
            "expires_on": _nullable("string", format="date"),
            "status": {"type": "string", "enum": list(CERTIFICATE_STATUSES)},
        },
    },
    "ProductDetail": {
        "allOf": [
            _ref("ProductItem"),
            {
                "type": "object",
                "required": ["description", "certificate", "sales_points"],
                "properties": {
                    "description": {"type": "string"},
                    "certificate": _ref("Certificate"),
                    "certifications": {"type": "array", "items": {"type": "string"}},
                    "moq": _nullable("integer", format="int64"),
                    "monthly_capacity": _nullable("integer", format="int64"),
                    "sales_points": {"type": "array", "items": _ref("SalesPointItem")},
                },
            },
        ]
    },
    "Facets": {
        "type": "object",
        "required": ["ocop_group", "ocop_stars", "district"],
        "properties": {
            "ocop_group": {"type": "object", "additionalProperties": {"type": "integer"}},
            "ocop_stars": {
                "type": "object",
                "description": "Counted stars ('0'–'5') -> number of products.",
                "additionalProperties": {"type": "integer"},
            },
            "district": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
    },
    "ProductList": {
        "type": "object",
        "required": ["total", "page", "per_page", "items", "facets", "suggestion"],
        "properties": {
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "items": {"type": "array", "items": _ref("ProductItem")},
            "facets": _ref("Facets"),
            "suggestion": _nullable("string", description="A corrected query, or null."),
        },
    },
    "SalesPointItem": {
        "type": "object",
        "required": [
            "ref",
            "name",
            "kind",
            "district",
            "commune",
            "address",
            "lat",
            "lng",
            "opening_hours",
            "product_refs",
            "distance_km",
        ],
        "properties": {
            "ref": {"type": "string"},
            "name": {"type": "string"},
            "kind": {"type": "string", "enum": list(SALES_POINT_KINDS)},
            "district": _nullable("string"),
            "commune": _nullable("string"),
            "address": _nullable("string"),
            "lat": _nullable("number"),
            "lng": _nullable("number"),
            "opening_hours": _nullable("string"),
            "product_refs": {"type": "array", "items": {"type": "string"}},
            "distance_km": _nullable(
                "number", description="With near=: km from that place (district centroid when no coordinates)."
            ),
        },
    },
    "SalesPointList": {
        "type": "object",
        "required": ["total", "page", "per_page", "items"],
        "properties": {
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "items": {"type": "array", "items": _ref("SalesPointItem")},
        },
    },
    "MatchRequest": {
        "type": "object",
        "required": ["text"],
        "description": "Unknown keys are ignored; an optional field that is null (or an empty string) is as if absent.",
        "properties": {
            "text": {
                "type": "string",
                "minLength": 1,
                "pattern": r"\S",
                "description": "What the buyer needs (not only spaces).",
            },
            "ocop_group": _nullable(
                "string",
                enum=[*OCOP_GROUPS, *(g for g in GROUP_2019_TO_2023 if g not in OCOP_GROUPS), "", None],
                description="OCOP group (Decision 148; the 2019 codes are still understood).",
            ),
            "quantity": _nullable("number", exclusiveMinimum=True, minimum=0, maximum=MAX_QUANTITY),
            "unit": _nullable("string"),
            "min_stars": _nullable("integer", minimum=0, maximum=5),
            "district": _nullable("string", description="Delivery place: scores by distance, never filters."),
            "lat": _nullable("number", minimum=-90, maximum=90, description="With lng (both or neither)."),
            "lng": _nullable("number", minimum=-180, maximum=180, description="With lat (both or neither)."),
            "max_price_vnd": _nullable("integer", format="int64", minimum=0, maximum=MAX_PRICE),
            "limit": _nullable("integer", minimum=1, maximum=MAX_LIMIT, default=10),
            "certifications": {
                "type": "array",
                "nullable": True,
                "maxItems": MAX_CERTIFICATIONS,
                "items": {"type": "string"},
                "description": "Certifications asked for (codes or names, e.g. VietGAP, 'Hữu cơ'): a soft factor.",
            },
        },
    },
    "MatchResponse": {
        "type": "object",
        "required": ["suppliers", "sales_points"],
        "properties": {
            "suppliers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["score", "reasons", "product", "producer"],
                    "properties": {
                        "score": {"type": "number"},
                        "reasons": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                        "product": _ref("ProductItem"),
                        "producer": {"type": "object", "additionalProperties": True},
                        "distance_km": _nullable("number", description="From the delivery place."),
                        "relevance": {"type": "number", "description": "Text relevance, 0–1."},
                    },
                },
            },
            "sales_points": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["score", "reasons", "sales_point"],
                    "properties": {
                        "score": {"type": "number"},
                        "reasons": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                        "sales_point": _ref("SalesPointItem"),
                        "matching_product_refs": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
            "need": {
                "type": "object",
                "additionalProperties": True,
                "description": "The need as understood: the fields given, completed from the text (content words, "
                "quantity and unit, stars, delivery district).",
            },
            "warnings": {"type": "array", "items": {"type": "string"}, "description": "Input that was ignored."},
            "unknown_words": {"type": "array", "items": {"type": "string"}, "description": "Words no product has."},
            "suggestion": _nullable("string", description="A spelling correction of the need's words, or null."),
        },
    },
}

_SCHEMAS["Trace"] = {
    "type": "object",
    "description": "What a batch's QR code shows (Circular 02/2024/TT-BKHCN): dates as YYYY-MM-DD.",
    "required": ["code", "url", "status", "recall", "batch", "product", "producer", "certificate", "timeline"],
    "properties": {
        "code": {"type": "string", "description": "The public code."},
        "url": {"type": "string", "description": "The trace page (absolute URL, what the QR code holds)."},
        "status": {"type": "string", "enum": ["published", "recalled"]},
        "recall": {
            "type": "object",
            "nullable": True,
            "properties": {"recalled_at": {"type": "string", "format": "date-time"}, "reason": {"type": "string"}},
        },
        "batch": {"type": "object", "additionalProperties": True},
        "product": {"allOf": [_ref("ProductItem")]},
        "producer": {"type": "object", "additionalProperties": True},
        "certificate": _ref("Certificate"),
        "inputs": {"type": "array", "items": {"type": "object"}},
        "processing_steps": {"type": "array", "items": {"type": "object"}},
        "inspections": {"type": "array", "items": {"type": "object"}},
        "destinations": {"type": "array", "items": {"type": "object"}},
        "timeline": {"type": "array", "items": {"type": "object"}},
        "where_to_buy": {"type": "array", "items": _ref("SalesPointItem")},
        "revisions": {
            "type": "array",
            "description": "Changes made after publication, newest first.",
            "items": {"type": "object"},
        },
    },
}

_PARAMETERS: dict[str, Any] = {
    "page": _query(
        "page",
        "Page number, from 1. A page past the last one has no items.",
        {"type": "integer", "minimum": 1, "default": 1},
    ),
    "per_page": _query(
        "per_page",
        "Items per page.",
        {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE},
    ),
    "district": _query(
        "district",
        "Former district name; diacritics and case are ignored ('dong anh' = 'Đông Anh').",
        {"type": "string"},
    ),
}


def _paths() -> dict[str, Any]:
    page, per_page, district = (
        {"$ref": "#/components/parameters/page"},
        {"$ref": "#/components/parameters/per_page"},
        {"$ref": "#/components/parameters/district"},
    )
    return {
        f"{PREFIX}/products": {
            "get": {
                "operationId": "listProducts",
                "summary": "Search published OCOP products",
                "parameters": [
                    _query("q", "Any text; never an error.", {"type": "string"}),
                    _query("group", "OCOP group (Decision 148).", {"type": "string", "enum": list(OCOP_GROUPS)}),
                    _query(
                        "min_stars",
                        "Minimum stars of a valid, verified certificate.",
                        {"type": "integer", "minimum": 0, "maximum": 5},
                    ),
                    {**district, "description": "The producer's former district."},
                    _query(
                        "certification",
                        "A certification code or name (VietGAP, HACCP, 'Hữu cơ' = organic…).",
                        {"type": "string"},
                    ),
                    _query(
                        "sort",
                        "Order; relevance without q is by counted stars, then the newest.",
                        {"type": "string", "enum": list(PRODUCT_SORTS), "default": "relevance"},
                    ),
                    page,
                    per_page,
                ],
                "responses": {"200": _json(_ref("ProductList"), "A page of products with facets."), **_ERRORS},
            }
        },
        f"{PREFIX}/products/{{ref}}": {
            "get": {
                "operationId": "getProduct",
                "summary": "One published product with its certificate and sales points",
                "parameters": [{"name": "ref", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": _json(_ref("ProductDetail"), "The product."),
                    "404": {"$ref": "#/components/responses/NotFound"},
                    "414": _ERRORS["414"],
                    "429": _ERRORS["429"],
                },
            }
        },
        f"{PREFIX}/sales-points": {
            "get": {
                "operationId": "listSalesPoints",
                "summary": "Approved OCOP sales points",
                "parameters": [
                    district,
                    _query("kind", "Kind of sales point.", {"type": "string", "enum": list(SALES_POINT_KINDS)}),
                    _query("product", "A product ref the point carries.", {"type": "string"}),
                    _query(
                        "near",
                        "'lat,lng' in degrees: sorts by distance and sets distance_km.",
                        {"type": "string", "pattern": NEAR_PATTERN, "example": "21.029,105.851"},
                    ),
                    page,
                    per_page,
                ],
                "responses": {"200": _json(_ref("SalesPointList"), "A page of sales points."), **_ERRORS},
            }
        },
        f"{PREFIX}/match": {
            "post": {
                "operationId": "match",
                "summary": "Suppliers and sales points for a buyer's need (provided by the matching module)",
                "description": (
                    "Hard constraints exclude (ocop_group, min_stars with a valid certificate, capacity and MOQ "
                    "against quantity in the same unit, price_min_vnd above max_price_vnd); district and lat/lng "
                    "score by distance. Results are best first and each has at least one reason. Fields left out "
                    "are read from the text when it says them ('500 kg', '4 sao', 'giao tới Cầu Giấy'); `need` "
                    "in the answer shows what was understood."
                ),
                "x-provided-by": "marketplace.matching",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("MatchRequest")}}},
                "responses": {"200": _json(_ref("MatchResponse"), "Ranked suppliers and sales points."), **_ERRORS},
            }
        },
        f"{PREFIX}/trace/{{code}}": {
            "get": {
                "operationId": "getTrace",
                "summary": "A product batch's public trace page as data (traceability, QR codes)",
                "parameters": [
                    {
                        "name": "code",
                        "in": "path",
                        "required": True,
                        "description": "The batch's public code (the end of its QR code's URL).",
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": _json(_ref("Trace"), "The batch, its product, producer, chain and where to buy."),
                    "404": {"$ref": "#/components/responses/NotFound"},
                    "414": _ERRORS["414"],
                    "429": _ERRORS["429"],
                },
            }
        },
        f"{PREFIX}/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3 document", "content": {"application/json": {}}}},
            }
        },
    }


@cache
def _document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "OCOP Trade Connect API",
            "version": "1.0.0",
            "description": (
                "Public, read-only JSON API for Hà Nội's OCOP products and sales points. No session cookie "
                "and no CSRF token; rate-limited per client address. Errors are "
                '{"error": {"code", "message", "field"}} with a 4xx status.'
            ),
        },
        "servers": [{"url": "/"}],
        "paths": _paths(),
        "components": {
            "schemas": _SCHEMAS,
            "parameters": _PARAMETERS,
            "responses": {
                "BadRequest": _json(_ref("Error"), "A malformed or out-of-range parameter."),
                "NotFound": _json(_ref("Error"), "No such public object."),
                "TooManyRequests": _json(_ref("Error"), "Rate limit exceeded."),
                "UriTooLong": {
                    "description": (
                        "The request line is longer than the HTTP server in front of the app accepts (gunicorn: "
                        "4094 bytes); answered by that server, not by the API, so the body is not an Error."
                    )
                },
            },
        },
    }


def openapi_document() -> dict[str, Any]:
    return deepcopy(_document())
