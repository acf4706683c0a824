"""Schemathesis over /api/v1/openapi.json on a live server with the sample data (bounded run).

Every generated request (valid and invalid data, per the document) must get no 5xx, and every
response must conform to the document: a documented status code, the documented content type and
a body that validates against its schema. bench/fuzz.sh runs the same against gunicorn with
10,000+ cases."""

from __future__ import annotations

import os

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from marketplace.api.openapi import openapi_document

# The fuzz server always runs on its own SQLite database (see conftest.py): the PostgreSQL pass of
# `make test` would repeat the very same run, so it is made once, in the SQLite pass.
pytestmark = pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")), reason="the API fuzz runs once, in the SQLite pass of make test"
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


# The document is built from code, so it is loaded at collection (schemathesis' lazy fixture
# loader does not work with pytest 9); test_served_document_is_the_one_fuzzed checks the live
# server serves exactly this document.
schema = schemathesis.openapi.from_dict(openapi_document())


@schema.parametrize()
@settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_document(case, fuzz_server):
    case.call_and_validate(base_url=fuzz_server, checks=CHECKS, timeout=30)


def test_real_objects_answer(fuzz_server, fuzz_app):
    """The sample data is really there: a product, a trace code, a text search."""
    sample = fuzz_app.config["FUZZ_SAMPLE"]
    assert sample["product_refs"] and sample["trace_codes"]
    product = requests.get(f"{fuzz_server}/api/v1/products/{sample['product_refs'][0]}", timeout=30)
    assert product.status_code == 200, product.text[:300]
    trace = requests.get(f"{fuzz_server}/api/v1/trace/{sample['trace_codes'][0]}", timeout=30)
    assert trace.status_code == 200, trace.text[:300]
    found = requests.get(f"{fuzz_server}/api/v1/products", params={"q": "mây tre"}, timeout=30)
    assert found.status_code == 200 and found.json()["total"] > 0


def test_served_document_is_the_one_fuzzed(fuzz_server):
    served = requests.get(f"{fuzz_server}/api/v1/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == openapi_document()
