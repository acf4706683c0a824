"""Test fixtures: the schema is built once per run; every test gets a fresh app and clean tables.

The suite runs on SQLite (a file in a temporary folder) or, when TEST_DATABASE_URL is set, on that
PostgreSQL database. TEST_DATABASE_URL set but unreachable is a failure, never a silent skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import g

from config import TestConfig
from marketplace import create_app
from marketplace.extensions import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or None


def pytest_report_header(config):
    return f"database: {'PostgreSQL ' + TEST_DATABASE_URL if TEST_DATABASE_URL else 'SQLite (set TEST_DATABASE_URL for PostgreSQL)'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if not TEST_DATABASE_URL:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    engine = sa.create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
            worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1… under pytest-xdist
            return _worker_database(conn, worker) if worker else TEST_DATABASE_URL
    except sa.exc.OperationalError as error:
        pytest.exit(f"TEST_DATABASE_URL is set but unreachable: {error}", returncode=3)
    finally:
        engine.dispose()


def _worker_database(conn: sa.Connection, worker_id: str) -> str:
    """Under pytest-xdist each worker gets its own database beside TEST_DATABASE_URL's
    (`<name>_gw0`, …), created on first use and kept for the next run."""
    url = sa.engine.make_url(TEST_DATABASE_URL)
    name = f"{url.database}_{worker_id}"
    exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}).scalar()
    if not exists:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _schema(database_url, tmp_path_factory):
    """Create every table once for the whole run."""
    app = create_app(
        TestConfig, {"SQLALCHEMY_DATABASE_URI": database_url, "DATA_DIR": tmp_path_factory.mktemp("schema-data")}
    )
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
                conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS unaccent"))
                conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        db.create_all()
        db.engine.dispose()
    return database_url


def _clean_tables() -> None:
    """Empty every table (children first) and, on PostgreSQL, restart the sequences.

    On PostgreSQL only the tables holding rows are emptied, with DELETE: a TRUNCATE of all 58
    tables costs 1.5–2 s per test (a new file per table, fsynced at commit), this ~10 ms."""
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            probe = " UNION ALL ".join(
                f'(SELECT {i} WHERE EXISTS (SELECT 1 FROM "{table.name}"))'  # noqa: S608 (our table names)
                for i, table in enumerate(tables)
            )
            for i in sorted(conn.execute(sa.text(probe)).scalars()):
                conn.execute(tables[i].delete())
            conn.execute(
                sa.text(
                    "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false)"
                    " FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL"
                )
            )
        else:
            for table in tables:
                conn.execute(table.delete())


def _forget_request_globals() -> None:
    """The fixture keeps one app context pushed for the whole test, and Flask reuses it (and its
    `g`, where Flask-Login caches the user) for every request. In production each request has a
    fresh `g`; this restores that, so a second client is not seen as the first one's user."""
    for name in list(g):
        g.pop(name, None)


@pytest.fixture
def app(_schema, tmp_path: Path):
    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": _schema, "DATA_DIR": tmp_path / "data"})
    app.before_request_funcs.setdefault(None, []).insert(0, _forget_request_globals)
    with app.app_context():
        yield app
        db.session.remove()
        _clean_tables()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
