"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from config import TestConfig
from marketplace import create_app
from marketplace.extensions import db


def _migrate_and_compare(url: str, data_dir) -> tuple[set[str], list]:
    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": url, "DATA_DIR": data_dir})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
            diff = [d for d in compare_metadata(context, db.metadata) if not _ignorable(d)]
            tables = set(sa.inspect(conn).get_table_names())
        downgrade(revision="base")
        with db.engine.connect() as conn:
            left = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
        db.engine.dispose()
    assert left == set(), f"downgrade left tables behind: {sorted(left)}"
    return tables, diff


def _ignorable(entry) -> bool:
    # Tables that search backends create for themselves at run time are not part of the models' diff.
    return isinstance(entry, tuple) and entry[0] == "remove_table" and entry[1].name.startswith("sqlite_")


def test_sqlite_upgrade_from_empty_matches_models(tmp_path):
    tables, diff = _migrate_and_compare(f"sqlite:///{tmp_path / 'migrated.db'}", tmp_path / "data")
    assert {"products", "producers", "users", "sales_points"} <= tables
    assert diff == []


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL only (TEST_DATABASE_URL unset)")
def test_postgres_upgrade_from_empty_matches_models(tmp_path):
    base = sa.engine.make_url(os.environ["TEST_DATABASE_URL"])
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        tables, diff = _migrate_and_compare(
            base.set(database=name).render_as_string(hide_password=False), tmp_path / "data"
        )
        assert {"products", "producers", "users", "sales_points"} <= tables
        assert diff == []
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
