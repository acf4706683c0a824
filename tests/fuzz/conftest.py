"""Fixtures for the fuzzers: one live server for the whole session, on its own SQLite database
filled with the sample data (seed-demo's sample files and a small generated city, and a published
batch). It never shares tables with the per-test `app` fixture, whose tables are emptied after
every test."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from config import TestConfig
from marketplace import create_app
from marketplace.extensions import db
from tests.fuzz.sample import load_sample_data

FUZZ_PRODUCTS = 300


@pytest.fixture(scope="session")
def fuzz_app(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("fuzz-data")
    app = create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{data_dir / 'fuzz.db'}",
            "DATA_DIR": data_dir,
            "RATELIMIT_ENABLED": False,
        },
    )
    with app.app_context():
        db.create_all()
        app.config["FUZZ_SAMPLE"] = load_sample_data(FUZZ_PRODUCTS)
        db.session.remove()
    return app


@pytest.fixture(scope="session")
def fuzz_server(fuzz_app):
    """The sample app served over HTTP from a thread: (base URL, app)."""
    server = make_server("127.0.0.1", 0, fuzz_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    with fuzz_app.app_context():
        db.engine.dispose()
